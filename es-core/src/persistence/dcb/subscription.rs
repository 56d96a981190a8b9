//! [`DcbSubscription`]: a blocking iterator over the events a DCB query matches.

use std::fmt;
use std::time::Duration;

use super::{DcbQuery, DcbSequencedEvent, Position};
use crate::Result;
use crate::persistence::tail::{Positioned, Tail};
use crate::persistence::wake::{Notifier, StopHandle};

/// How many events a DCB subscription reads at a time.
pub const DCB_SUBSCRIPTION_BATCH_SIZE: usize = 500;

impl Positioned for DcbSequencedEvent {
    fn position(&self) -> u64 {
        self.position
    }
}

/// A blocking iterator over the events after a position that match a query: it yields what is
/// stored, then blocks until more is appended, until [`stop`](Self::stop) ends it. Returned by
/// [`DcbRecorder::subscribe`](super::DcbRecorder::subscribe). It waits as
/// [`Subscription`](crate::Subscription) does: woken by the recorder's appends, polling for
/// other processes', backing off after a failed read (yielded as an `Err`).
pub struct DcbSubscription {
    tail: Tail<DcbSequencedEvent>,
    query: DcbQuery,
}

impl fmt::Debug for DcbSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcbSubscription")
            .field("query", &self.query)
            .field("after", &self.tail.position())
            .field("buffered", &self.tail.buffered())
            .field("stopped", &self.tail.stop_handle().is_stopped())
            .finish_non_exhaustive()
    }
}

impl DcbSubscription {
    /// A subscription to the events after `after` that match `query`, read with `read(query,
    /// after)`, which returns them in ascending position, at most
    /// [`DCB_SUBSCRIPTION_BATCH_SIZE`], none missing between `after` and the last returned.
    pub fn new<F>(mut read: F, query: DcbQuery, after: Option<Position>) -> Self
    where
        F: FnMut(&DcbQuery, Option<Position>) -> Result<Vec<DcbSequencedEvent>> + Send + 'static,
    {
        let q = query.clone();
        Self {
            tail: Tail::new(move |after| read(&q, after), after, "DCB events"),
            query,
        }
    }

    /// Wakes the subscription whenever `notifier` notifies (the recorder's appends).
    #[must_use]
    pub fn woken_by(self, notifier: &Notifier) -> Self {
        self.tail.woken_by(notifier);
        self
    }

    /// Reads again at least every `interval` while idle, for appends no notifier reports.
    #[must_use]
    pub fn polling(mut self, interval: Duration) -> Self {
        self.tail.polling(interval);
        self
    }

    /// A handle that stops this subscription from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        self.tail.stop_handle().clone()
    }

    /// Stops the subscription: the next call to `next` returns `None`.
    pub fn stop(&self) {
        self.tail.stop_handle().stop();
    }

    /// The position of the last event read (yielded or buffered), or the starting position.
    pub fn position(&self) -> Option<Position> {
        self.tail.position()
    }
}

impl Iterator for DcbSubscription {
    type Item = Result<DcbSequencedEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.tail.next_item()
    }
}
