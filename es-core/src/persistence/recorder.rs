//! The recorder traits every backend implements, and their contracts.
//!
//! The conformance kit (`es-testkit`) checks every contract stated here; a backend that passes
//! the kit keeps them. Each trait is sync, takes `&self`, is `Send + Sync + Debug` and is
//! object-safe, so `Arc<dyn ProcessRecorder>` works and coerces to every super-trait.
//!
//! # Wrappers
//!
//! `&T`, `Box<T>` and `Arc<T>` implement every trait `T` implements by forwarding each method,
//! provided ones included. A decorator (logging, metrics, retries) must likewise forward
//! *every* method, including the provided [`TrackingRecorder::has_tracking_id`] and
//! [`TrackingRecorder::wait`], or it silently loses the inner recorder's own implementation.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::persistence::LeaseRecorder;
use crate::persistence::wake::{Notifier, StopHandle, Waker};
use crate::{
    Error, EventQuery, Notification, NotificationId, NotificationQuery, Result, StoredEvent,
    Subscription, TimeoutKind, Tracking,
};

/// Records the events of aggregates: the event store, or a snapshot store.
///
/// # Contract
///
/// * `insert_events` is atomic: every event of the batch is stored, or none is.
/// * `(originator_id, originator_version)` is unique: a batch containing a pair that is already
///   stored, or the same pair twice, fails with [`Error::VersionConflict`] and stores nothing.
/// * An empty batch is a no-op that returns an empty `Vec`.
/// * `select_events` of an unknown originator returns an empty `Vec`, never an error.
pub trait AggregateRecorder: Send + Sync + Debug {
    /// Stores `events` atomically. An [`ApplicationRecorder`] returns the notification ids it
    /// assigned, one per event in input order; a recorder without a notification log (a snapshot
    /// store) returns an empty `Vec`.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] if an event's `(originator_id, originator_version)` is already
    /// stored or repeated in the batch (nothing is stored); [`Error::Data`] for a value the
    /// backend cannot store; operational errors when the store is unreachable or times out.
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>>;

    /// Selects the events of `originator_id` that `query` admits, ordered by version (ascending
    /// unless [`EventQuery::descending`]), then limited.
    ///
    /// # Errors
    ///
    /// Operational errors when the store is unreachable; [`Error::Programming`] when its table
    /// is missing.
    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>>;
}

/// An [`AggregateRecorder`] that also keeps a notification log: a total order of every event of
/// the application.
///
/// # Contract
///
/// * `insert_events` returns the new notification ids, one per event, in input order. The ids of
///   one call form a contiguous block that never interleaves with another call's block.
/// * Ids increase in commit order: a reader that has seen id `n` never later finds a new
///   notification with an id below `n`, whatever the number of concurrent writers and processes.
/// * In-memory and SQLite recorders are gap-free; PostgreSQL may leave gaps where transactions
///   rolled back, and readers cross them.
/// * `select_notifications` follows [`NotificationQuery`]: ascending ids, the limit applied after
///   the topic filter.
pub trait ApplicationRecorder: AggregateRecorder {
    /// Selects notifications as [`NotificationQuery`] describes.
    ///
    /// # Errors
    ///
    /// Operational errors when the store is unreachable; [`Error::Programming`] when its table
    /// is missing.
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>>;

    /// The greatest notification id recorded, or `None` when the log is empty.
    ///
    /// # Errors
    ///
    /// Operational errors when the store is unreachable.
    fn max_notification_id(&self) -> Result<Option<NotificationId>>;

    /// A blocking iterator over the notifications after `gt` (from the start when `None`) with
    /// one of `topics` (all when empty): it yields what is recorded, then what is recorded later,
    /// in id order, until stopped through [`Subscription::stop_handle`].
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] where the backend cannot subscribe; errors of later selects are
    /// yielded by the iterator.
    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription>;

    /// Whether a reader of many pages (an application's `read_all`) gains by selecting the next page on another thread while it works through the current
    /// one: true where a select waits on a server; false (the default) where it runs in this
    /// process, which the hand-off between threads would only slow.
    fn reads_ahead(&self) -> bool {
        false
    }
}

/// Records how far a downstream application has processed each upstream application.
///
/// # Contract
///
/// * Tracking ids strictly increase per upstream application: a record fails with
///   [`Error::TrackingConflict`] and changes nothing when the stored id is at or above its
///   [`first_notification_id`](Tracking::first_notification_id) (its `notification_id`,
///   unless it covers a batch), so no notification is recorded as processed twice.
/// * `has_tracking_id(app, n)` means "processed up to n": true when the stored id is `>= n`.
pub trait TrackingRecorder: Send + Sync + Debug {
    /// Records that `tracking.application_name` is processed up to `tracking.notification_id`.
    ///
    /// # Errors
    ///
    /// [`Error::TrackingConflict`] if the stored id is at or above the record's first; operational
    /// errors when the store is unreachable.
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()>;

    /// The id `application_name` is processed up to, or `None` before the first record.
    ///
    /// # Errors
    ///
    /// Operational errors when the store is unreachable.
    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>>;

    /// True when `application_name` is processed up to `notification_id` or beyond.
    ///
    /// # Errors
    ///
    /// As [`max_tracking_id`](Self::max_tracking_id).
    fn has_tracking_id(
        &self,
        application_name: &str,
        notification_id: NotificationId,
    ) -> Result<bool> {
        Ok(self
            .max_tracking_id(application_name)?
            .is_some_and(|max| max >= notification_id))
    }

    /// Blocks until `application_name` is processed up to `notification_id`: read-your-writes
    /// against a downstream application. The provided method polls with back-off (100 ms
    /// doubling to 800 ms); backends that can push override it.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (kind [`TimeoutKind::Wait`]) after `timeout`;
    /// [`Error::WaitInterrupted`] once `interrupt` is stopped; errors of
    /// [`has_tracking_id`](Self::has_tracking_id).
    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        wait_for_tracking(
            self,
            application_name,
            notification_id,
            timeout,
            interrupt,
            None,
        )
    }
}

/// Waits until `recorder` has tracked `application_name` up to `notification_id`, checking after
/// every wake of `notifier` (if any) and at least at a back-off of 100 ms doubling to 800 ms.
/// The shared body of every [`TrackingRecorder::wait`].
///
/// # Errors
///
/// As [`TrackingRecorder::wait`].
pub fn wait_for_tracking<R: TrackingRecorder + ?Sized>(
    recorder: &R,
    application_name: &str,
    notification_id: NotificationId,
    timeout: Duration,
    interrupt: Option<&StopHandle>,
    notifier: Option<&Notifier>,
) -> Result<()> {
    let start = Instant::now();
    let waker = Waker::new();
    if let Some(notifier) = notifier {
        notifier.register(&waker);
    }
    if let Some(interrupt) = interrupt {
        interrupt.register(&waker);
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        if interrupt.is_some_and(StopHandle::is_stopped) {
            return Err(Error::WaitInterrupted);
        }
        if recorder.has_tracking_id(application_name, notification_id)? {
            return Ok(());
        }
        let remaining = timeout.saturating_sub(start.elapsed());
        if remaining.is_zero() {
            return Err(Error::Timeout {
                kind: TimeoutKind::Wait,
                waited: timeout,
            });
        }
        waker.wait(Some(backoff.min(remaining)));
        backoff = (backoff * 2).min(Duration::from_millis(800));
    }
}

/// An [`ApplicationRecorder`] and a [`TrackingRecorder`] in one store, so that a process
/// application writes its new events and the tracking record of the upstream notification it
/// processed in one transaction: exactly-once processing across crashes.
///
/// # Contract
///
/// * `insert_events_with_tracking` is atomic: on a version conflict or a tracking conflict
///   nothing is written, neither events nor tracking.
/// * Empty `events` with a tracking record is allowed: "processed, nothing produced".
pub trait ProcessRecorder: ApplicationRecorder + TrackingRecorder + LeaseRecorder {
    /// Stores `events` and `tracking` in one transaction and returns the events' notification
    /// ids, as [`AggregateRecorder::insert_events`] does.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] or [`Error::TrackingConflict`] (nothing is written), and the
    /// errors of [`AggregateRecorder::insert_events`].
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>>;
}

/// `dyn AggregateRecorder`.
pub type DynAggregateRecorder = dyn AggregateRecorder;
/// `dyn ApplicationRecorder`.
pub type DynApplicationRecorder = dyn ApplicationRecorder;
/// `dyn TrackingRecorder`.
pub type DynTrackingRecorder = dyn TrackingRecorder;
/// `dyn ProcessRecorder`.
pub type DynProcessRecorder = dyn ProcessRecorder;

// Compile-time checks: the traits stay object-safe and upcast.
const _: fn(&DynProcessRecorder) -> &DynApplicationRecorder = |r| r;
const _: fn(&DynProcessRecorder) -> &DynTrackingRecorder = |r| r;
const _: fn(&DynApplicationRecorder) -> &DynAggregateRecorder = |r| r;

macro_rules! forward_impls {
    ($($wrapper:ty),*) => {$(
        #[deny(clippy::missing_trait_methods)]
        impl<T: AggregateRecorder + ?Sized> AggregateRecorder for $wrapper {
            fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
                (**self).insert_events(events)
            }
            fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
                (**self).select_events(originator_id, query)
            }
        }

        #[deny(clippy::missing_trait_methods)]
        impl<T: ApplicationRecorder + ?Sized> ApplicationRecorder for $wrapper {
            fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
                (**self).select_notifications(query)
            }
            fn max_notification_id(&self) -> Result<Option<NotificationId>> {
                (**self).max_notification_id()
            }
            fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
                (**self).subscribe(gt, topics)
            }
            fn reads_ahead(&self) -> bool {
                (**self).reads_ahead()
            }
        }

        #[deny(clippy::missing_trait_methods)]
        impl<T: TrackingRecorder + ?Sized> TrackingRecorder for $wrapper {
            fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
                (**self).insert_tracking(tracking)
            }
            fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
                (**self).max_tracking_id(application_name)
            }
            fn has_tracking_id(&self, application_name: &str, notification_id: NotificationId) -> Result<bool> {
                (**self).has_tracking_id(application_name, notification_id)
            }
            fn wait(
                &self,
                application_name: &str,
                notification_id: NotificationId,
                timeout: Duration,
                interrupt: Option<&StopHandle>,
            ) -> Result<()> {
                (**self).wait(application_name, notification_id, timeout, interrupt)
            }
        }

        #[deny(clippy::missing_trait_methods)]
        impl<T: ProcessRecorder + ?Sized> ProcessRecorder for $wrapper {
            fn insert_events_with_tracking(
                &self,
                events: &[StoredEvent],
                tracking: &Tracking,
            ) -> Result<Vec<NotificationId>> {
                (**self).insert_events_with_tracking(events, tracking)
            }
        }
    )*};
}

forward_impls!(&T, Box<T>, std::sync::Arc<T>);
