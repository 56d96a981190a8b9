#![doc = include_str!("guide.md")]

mod blocking;
mod dcb;
mod recorder;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::persistence::wake::Notifier;
use crate::persistence::{
    EventQuery, Lease, Notification, NotificationId, NotificationQuery, StoredEvent, Subscription,
    Tracking,
};

pub use blocking::{may_block, on_blocking_thread};
pub use dcb::{DcbBackend, OpenDcbBackend};
pub use recorder::{OpenBackend, Recorder, kind};

/// How often an idle subscription on a backend shared with other processes selects for their
/// writes (it backs off to this from a sixteenth of it, and wakes at once on this process's
/// inserts). A backend returns it, or its own setting, from [`Backend::poll_interval`].
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(200);

/// `value` as a database's signed 64-bit integer.
///
/// # Errors
///
/// [`Error::Data`] naming `what` when `value` exceeds `i64::MAX`.
pub fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| {
        Error::data(format!(
            "{what} {value} exceeds the database's 64-bit range"
        ))
    })
}

/// A database's signed 64-bit integer as `u64`.
///
/// # Errors
///
/// [`Error::Data`] naming `what` when `value` is negative.
pub fn from_i64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| Error::data(format!("negative {what} {value} in the database")))
}

/// The default largest event state a recorder accepts: 128 MiB (`MAX_STATE_SIZE` changes it).
pub const DEFAULT_MAX_STATE_SIZE: usize = 128 << 20;

/// Fails with [`Error::PayloadTooLarge`] when a state exceeds `max`.
///
/// # Errors
///
/// As described.
pub fn check_state_sizes(events: &[StoredEvent], max: usize) -> Result<()> {
    match events.iter().find(|e| e.state.len() > max) {
        Some(e) => Err(Error::PayloadTooLarge {
            size: e.state.len(),
            max,
        }),
        None => Ok(()),
    }
}

/// Checks the state sizes, then [`Backend::insert`]s: what every insert of a [`Recorder`]
/// runs. With a `tracing`
/// subscriber enabled for `eventsourcing::recorder` at debug level, each insert is an event
/// with the backend, the batch size, whether it tracks, the outcome and the duration;
/// without one, the cost is one check of a static level.
///
/// # Errors
///
/// [`Error::PayloadTooLarge`]; the backend's errors.
pub fn insert<B: Backend + ?Sized>(
    store: &B,
    events: &[StoredEvent],
    tracking: Option<&Tracking>,
) -> Result<Vec<NotificationId>> {
    check_state_sizes(events, store.max_state_size())?;
    if !tracing::enabled!(target: "eventsourcing::recorder", tracing::Level::DEBUG) {
        return store.insert(events, tracking);
    }
    let started = std::time::Instant::now();
    let result = store.insert(events, tracking);
    let backend = std::any::type_name::<B>()
        .rsplit("::")
        .next()
        .unwrap_or("?");
    match &result {
        Ok(ids) => tracing::debug!(
            target: "eventsourcing::recorder",
            backend,
            events = events.len(),
            tracking = tracking.map(|t| t.notification_id),
            first_id = ids.first().copied(),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "insert"
        ),
        Err(error) => tracing::debug!(
            target: "eventsourcing::recorder",
            backend,
            events = events.len(),
            tracking = tracking.map(|t| t.notification_id),
            error = %error.report(),
            elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            "insert failed"
        ),
    }
    result
}

/// One application's storage in a backend: its events table (or snapshots table) and its
/// tracking table. The methods carry the contracts of the recorder traits of the same names;
/// [`Recorder`] implements those traits from it. See the [module documentation](self) for what
/// each method must guarantee.
pub trait Backend: Send + Sync + Debug + 'static {
    /// Stores `events` and `tracking` (if any) atomically, as
    /// [`ProcessRecorder::insert_events_with_tracking`](crate::persistence::ProcessRecorder::insert_events_with_tracking).
    ///
    /// # Errors
    ///
    /// As that method.
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>>;

    /// Records `tracking` alone. The provided method inserts no events with it.
    ///
    /// # Errors
    ///
    /// As [`TrackingRecorder::insert_tracking`](crate::persistence::TrackingRecorder::insert_tracking).
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.insert(&[], Some(tracking)).map(drop)
    }

    /// As [`AggregateRecorder::select_events`](crate::persistence::AggregateRecorder::select_events).
    ///
    /// # Errors
    ///
    /// As that method.
    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>>;

    /// As [`ApplicationRecorder::select_notifications`](crate::persistence::ApplicationRecorder::select_notifications).
    ///
    /// # Errors
    ///
    /// As that method.
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>>;

    /// As [`ApplicationRecorder::max_notification_id`](crate::persistence::ApplicationRecorder::max_notification_id).
    ///
    /// # Errors
    ///
    /// As that method.
    fn max_notification_id(&self) -> Result<Option<NotificationId>>;

    /// As [`TrackingRecorder::max_tracking_id`](crate::persistence::TrackingRecorder::max_tracking_id).
    ///
    /// # Errors
    ///
    /// As that method.
    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>>;

    /// The largest event state this store accepts; larger ones fail before any SQL.
    fn max_state_size(&self) -> usize {
        DEFAULT_MAX_STATE_SIZE
    }

    /// Notified after each commit of events through this process.
    fn events_notifier(&self) -> &Notifier;

    /// Notified after each commit of tracking through this process.
    fn tracking_notifier(&self) -> &Notifier;

    /// How often idle subscriptions select for writes no notifier reports (other processes);
    /// `None` when every write goes through [`events_notifier`](Self::events_notifier).
    fn poll_interval(&self) -> Option<Duration> {
        None
    }

    /// Whether a reader of many pages gains by selecting the next page while it works through
    /// the current one ([`ApplicationRecorder::reads_ahead`](crate::persistence::ApplicationRecorder::reads_ahead)).
    fn reads_ahead(&self) -> bool {
        false
    }

    /// As [`LeaseRecorder::acquire_lease`](crate::persistence::LeaseRecorder::acquire_lease),
    /// in this application's lease table. The provided method is
    /// [`Error::NotSupported`]: runners with `RUNNER_LEASES=on` then refuse to start.
    ///
    /// # Errors
    ///
    /// As that method.
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let _ = (name, holder, ttl);
        Err(not_supported::<Self>("acquire_lease"))
    }

    /// As [`LeaseRecorder::release_lease`](crate::persistence::LeaseRecorder::release_lease).
    ///
    /// # Errors
    ///
    /// As that method; [`Error::NotSupported`] unless provided.
    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let _ = (name, holder);
        Err(not_supported::<Self>("release_lease"))
    }

    /// As [`LeaseRecorder::leases`](crate::persistence::LeaseRecorder::leases).
    ///
    /// # Errors
    ///
    /// As that method; [`Error::NotSupported`] unless provided.
    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        let _ = prefix;
        Err(not_supported::<Self>("leases"))
    }

    /// Runs before each subscription starts (PostgreSQL starts its LISTEN thread here).
    ///
    /// # Errors
    ///
    /// What stops the subscription from starting.
    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        Ok(())
    }

    /// As [`ApplicationRecorder::subscribe`](crate::persistence::ApplicationRecorder::subscribe):
    /// the notifications after `gt` with one of `topics`. The provided method is
    /// [`selecting_subscription`]: it selects through this backend, woken by its events
    /// notifier and polling at its poll interval. A backend whose store pushes its commits
    /// overrides it, as "Push subscriptions" in the [module documentation](self) shows; its
    /// recorders keep every other part of the seam (the state-size check, `wait`).
    ///
    /// # Errors
    ///
    /// What stops the subscription from starting.
    fn subscribe(
        self: &Arc<Self>,
        gt: Option<NotificationId>,
        topics: &[String],
    ) -> Result<Subscription> {
        selecting_subscription(self, gt, topics)
    }
}

fn not_supported<B: ?Sized>(operation: &'static str) -> Error {
    Error::NotSupported {
        operation,
        recorder: std::any::type_name::<B>()
            .rsplit("::")
            .next()
            .unwrap_or("?"),
    }
}

/// A [`Subscription`] to `backend`: selects through it, woken by its events notifier, polling at
/// its poll interval.
///
/// # Errors
///
/// Errors of [`Backend::prepare_subscription`].
pub fn selecting_subscription<B: Backend + ?Sized>(
    backend: &Arc<B>,
    gt: Option<NotificationId>,
    topics: &[String],
) -> Result<Subscription> {
    backend.prepare_subscription()?;
    let source = Arc::clone(backend);
    let fetch = move |q: &NotificationQuery| source.select_notifications(q);
    let sub = Subscription::new(fetch, gt, topics).woken_by(backend.events_notifier());
    Ok(match backend.poll_interval() {
        Some(interval) => sub.polling(interval),
        None => sub,
    })
}
