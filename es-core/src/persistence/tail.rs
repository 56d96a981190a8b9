//! [`Tail`]: the blocking machinery every subscription shares (the notification log's
//! [`Subscription`](super::Subscription) and DCB's [`DcbSubscription`](super::DcbSubscription)):
//! fetch what follows a position, then block until woken, stopped or a polling interval passes.

use std::collections::VecDeque;
use std::time::Duration;

use std::sync::Arc;

use crate::Result;
use crate::persistence::wake::{Notifier, StopHandle, Waker};

/// An item with a position in a totally ordered log.
pub(crate) trait Positioned {
    /// Its position: what the next fetch starts after.
    fn position(&self) -> u64;
}

type Fetch<T> = Box<dyn FnMut(Option<u64>) -> Result<Vec<T>> + Send>;

/// Fetches the items after a position and blocks between empty fetches. See
/// [`Subscription`](super::Subscription) for the behaviour it gives.
pub(crate) struct Tail<T> {
    fetch: Fetch<T>,
    /// What the next fetch starts after.
    after: Option<u64>,
    buffer: VecDeque<T>,
    waker: Arc<Waker>,
    stop: StopHandle,
    poll: Option<Duration>,
    backoff: Option<Duration>,
    failed: bool,
    /// What is fetched, for the log line of a failed fetch.
    what: &'static str,
}

impl<T: Positioned> Tail<T> {
    pub(crate) fn new(
        fetch: impl FnMut(Option<u64>) -> Result<Vec<T>> + Send + 'static,
        after: Option<u64>,
        what: &'static str,
    ) -> Self {
        let waker = Waker::new();
        let stop = StopHandle::new();
        stop.register(&waker);
        Self {
            fetch: Box::new(fetch),
            after,
            buffer: VecDeque::new(),
            waker,
            stop,
            poll: None,
            backoff: None,
            failed: false,
            what,
        }
    }

    pub(crate) fn woken_by(&self, notifier: &Notifier) {
        notifier.register(&self.waker);
    }

    pub(crate) fn polling(&mut self, interval: Duration) {
        self.poll = Some(interval);
    }

    pub(crate) fn stop_handle(&self) -> &StopHandle {
        &self.stop
    }

    pub(crate) fn position(&self) -> Option<u64> {
        self.after
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buffer.len()
    }

    pub(crate) fn poll_interval(&self) -> Option<Duration> {
        self.poll
    }

    pub(crate) fn take_buffered(&mut self, max: usize) -> Vec<T> {
        let n = max.min(self.buffer.len());
        self.buffer.drain(..n).collect()
    }

    fn idle_wait(&mut self) {
        let step = match (self.poll, self.backoff) {
            (None, _) => None,
            (Some(poll), None) => Some(poll / 16),
            (Some(poll), Some(prev)) => Some(prev.saturating_mul(2).min(poll)),
        };
        self.backoff = step;
        if self.waker.wait(step) {
            self.backoff = None;
        }
    }

    /// The next item: buffered, fetched, or waited for; `None` once stopped.
    pub(crate) fn next_item(&mut self) -> Option<Result<T>> {
        loop {
            if self.stop.is_stopped() {
                return None;
            }
            if let Some(item) = self.buffer.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                self.failed = false;
                self.idle_wait();
                continue;
            }
            match (self.fetch)(self.after) {
                Err(e) => {
                    tracing::warn!(
                        target: "eventsourcing::subscription",
                        after = self.after,
                        what = self.what,
                        error = %e.report(),
                        "a subscription's select failed; retrying after a pause"
                    );
                    self.failed = true;
                    return Some(Err(e));
                }
                Ok(batch) if batch.is_empty() => self.idle_wait(),
                Ok(batch) => {
                    self.backoff = None;
                    if let Some(last) = batch.last() {
                        self.after = Some(last.position());
                    }
                    self.buffer.extend(batch);
                }
            }
        }
    }
}
