//! [`Subscription`]: a blocking iterator over an application's notification log.

use std::fmt;
use std::time::Duration;

use crate::persistence::tail::{Positioned, Tail};
use crate::persistence::wake::{Notifier, StopHandle};
use crate::{Notification, NotificationId, NotificationQuery, Result};

/// How many notifications a subscription selects at a time.
pub const SUBSCRIPTION_BATCH_SIZE: usize = 500;

/// A blocking iterator over the notifications after a position: it yields what is recorded,
/// then blocks until more is recorded, until [`stop`](Self::stop) (or a clone of its
/// [`StopHandle`]) ends it. Returned by [`ApplicationRecorder::subscribe`].
///
/// It never busy-spins: between empty selects it sleeps until the recorder's [`Notifier`]
/// wakes it (an insert through the same recorder), the stop handle fires, or its polling
/// interval (for changes made by other processes) passes, backing off from a sixteenth of the
/// interval to the whole interval. A failed select is yielded as an `Err`; the next call waits
/// one back-off step, then selects again from the same position.
///
/// [`ApplicationRecorder::subscribe`]: crate::ApplicationRecorder::subscribe
pub struct Subscription {
    tail: Tail<Notification>,
    topics: usize,
}

impl Positioned for Notification {
    fn position(&self) -> u64 {
        self.id
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("after", &self.tail.position())
            .field("topics", &self.topics)
            .field("buffered", &self.tail.buffered())
            .field("stopped", &self.tail.stop_handle().is_stopped())
            .field("poll", &self.tail.poll_interval())
            .finish_non_exhaustive()
    }
}

impl Subscription {
    /// A subscription to the notifications after `gt` (all when `None`) with one of `topics`
    /// (all when empty), read with `fetch`, which runs a `select_notifications`.
    ///
    /// The contract of `fetch(q)`, for a source that selects and for one that is pushed to:
    /// it returns, in ascending id order, the notifications `q` admits (after `q`'s start, with
    /// one of its topics, at most its
    /// [`effective_limit`](NotificationQuery::effective_limit)), and none is missing between
    /// `q`'s start and the last one returned. An empty `Vec` means that nothing more is
    /// available now: the subscription calls `fetch` again when it is woken
    /// ([`woken_by`](Self::woken_by)), at its polling interval, or one back-off step after an
    /// `Err`. A pushed source's `fetch` returns what was pushed, and the hand-off from its
    /// backlog to the pushes is its to get right: it starts receiving pushes *before* it reads
    /// the backlog (a commit in between is otherwise in neither), and it drops pushes it has
    /// already returned from the backlog. The kit's `subscriptions_under_concurrent_writes`
    /// catches a source that registers second.
    ///
    /// Without [`woken_by`](Self::woken_by) or [`polling`](Self::polling) it blocks until stopped
    /// once it has caught up.
    pub fn new<F>(fetch: F, gt: Option<NotificationId>, topics: &[String]) -> Self
    where
        F: FnMut(&NotificationQuery) -> Result<Vec<Notification>> + Send + 'static,
    {
        let mut query =
            NotificationQuery::new(SUBSCRIPTION_BATCH_SIZE).topics(topics.iter().cloned());
        let mut fetch = fetch;
        let select = move |after: Option<NotificationId>| {
            if after.is_some() {
                query.start = after;
                query.inclusive_of_start = false;
            }
            fetch(&query)
        };
        Self {
            tail: Tail::new(select, gt, "notifications"),
            topics: topics.len(),
        }
    }

    /// Wakes the subscription whenever `notifier` notifies (the recorder's inserts).
    #[must_use]
    pub fn woken_by(self, notifier: &Notifier) -> Self {
        self.tail.woken_by(notifier);
        self
    }

    /// Selects again at least every `interval` while idle, for changes no notifier reports.
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

    /// The id of the last notification selected (yielded or buffered), or the starting position.
    pub fn position(&self) -> Option<NotificationId> {
        self.tail.position()
    }

    /// Up to `max` notifications that are selected already and follow the last one yielded,
    /// without selecting or waiting: with a `next` before it, how a follower takes a batch
    /// of what is available.
    pub fn take_buffered(&mut self, max: usize) -> Vec<Notification> {
        self.tail.take_buffered(max)
    }
}

impl Iterator for Subscription {
    type Item = Result<Notification>;

    fn next(&mut self) -> Option<Self::Item> {
        self.tail.next_item()
    }
}
