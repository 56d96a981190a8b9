//! [`RecorderStore`]: what a backend implements once; [`impl_recorder_traits!`](crate::impl_recorder_traits)
//! derives the recorder traits of its `Aggregate`, `Application`, `Tracking` and `Process`
//! recorder types from it, so every backend forwards, subscribes and waits the same way.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::signal::Notifier;
use crate::{
    EventQuery, Notification, NotificationId, NotificationQuery, Result, StoredEvent, Subscription,
    Tracking,
};

/// The default largest event state a recorder accepts: 128 MiB (`MAX_STATE_SIZE` changes it).
pub const DEFAULT_MAX_STATE_SIZE: usize = 128 << 20;

/// Fails with [`Error::PayloadTooLarge`](crate::Error::PayloadTooLarge) when a state exceeds `max`.
///
/// # Errors
///
/// As described.
pub fn check_state_sizes(events: &[StoredEvent], max: usize) -> Result<()> {
    match events.iter().find(|e| e.state.len() > max) {
        Some(e) => Err(crate::Error::PayloadTooLarge {
            size: e.state.len(),
            max,
        }),
        None => Ok(()),
    }
}

/// One application's storage in a backend: its events table (or snapshots table) and its
/// tracking table. The methods carry the contracts of the recorder traits of the same names.
pub trait RecorderStore: Send + Sync + Debug + 'static {
    /// Stores `events` and `tracking` (if any) atomically, as
    /// [`ProcessRecorder::insert_events_with_tracking`](crate::ProcessRecorder::insert_events_with_tracking).
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
    /// As [`TrackingRecorder::insert_tracking`](crate::TrackingRecorder::insert_tracking).
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.insert(&[], Some(tracking)).map(drop)
    }

    /// As [`AggregateRecorder::select_events`](crate::AggregateRecorder::select_events).
    ///
    /// # Errors
    ///
    /// As that method.
    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>>;

    /// As [`ApplicationRecorder::select_notifications`](crate::ApplicationRecorder::select_notifications).
    ///
    /// # Errors
    ///
    /// As that method.
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>>;

    /// As [`ApplicationRecorder::max_notification_id`](crate::ApplicationRecorder::max_notification_id).
    ///
    /// # Errors
    ///
    /// As that method.
    fn max_notification_id(&self) -> Result<Option<NotificationId>>;

    /// As [`TrackingRecorder::max_tracking_id`](crate::TrackingRecorder::max_tracking_id).
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

    /// Runs before each subscription starts (PostgreSQL starts its LISTEN thread here).
    ///
    /// # Errors
    ///
    /// What stops the subscription from starting.
    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        Ok(())
    }
}

/// A [`Subscription`] to `store`: selects through it, woken by its events notifier, polling at
/// its poll interval.
///
/// # Errors
///
/// Errors of [`RecorderStore::prepare_subscription`].
pub fn subscribe_to<S: RecorderStore>(
    store: &Arc<S>,
    gt: Option<NotificationId>,
    topics: &[String],
) -> Result<Subscription> {
    store.prepare_subscription()?;
    let source = Arc::clone(store);
    let fetch = move |q: &NotificationQuery| source.select_notifications(q);
    let sub = Subscription::new(fetch, gt, topics).woken_by(store.events_notifier());
    Ok(match store.poll_interval() {
        Some(interval) => sub.polling(interval),
        None => sub,
    })
}

/// Implements recorder traits for a type whose field `$field: Arc<S>` holds a
/// [`RecorderStore`]:
///
/// - `aggregate_only: Type, field` — [`AggregateRecorder`](crate::AggregateRecorder) returning no
///   ids (snapshot stores);
/// - `application: Type, field` — [`AggregateRecorder`](crate::AggregateRecorder) and
///   [`ApplicationRecorder`](crate::ApplicationRecorder);
/// - `tracking: Type, field` — [`TrackingRecorder`](crate::TrackingRecorder);
/// - `process: Type, field` — all four.
#[macro_export]
macro_rules! impl_recorder_traits {
    (aggregate_only: $ty:ty, $field:ident) => {
        impl $crate::AggregateRecorder for $ty {
            fn insert_events(
                &self,
                events: &[$crate::StoredEvent],
            ) -> $crate::Result<Vec<$crate::NotificationId>> {
                let store = &*self.$field;
                $crate::check_state_sizes(events, $crate::RecorderStore::max_state_size(store))?;
                $crate::RecorderStore::insert(store, events, None).map(|_| Vec::new())
            }
            fn select_events(
                &self,
                originator_id: $crate::Uuid,
                query: &$crate::EventQuery,
            ) -> $crate::Result<Vec<$crate::StoredEvent>> {
                $crate::RecorderStore::select_events(&*self.$field, originator_id, query)
            }
        }
    };
    (application: $ty:ty, $field:ident) => {
        impl $crate::AggregateRecorder for $ty {
            fn insert_events(
                &self,
                events: &[$crate::StoredEvent],
            ) -> $crate::Result<Vec<$crate::NotificationId>> {
                let store = &*self.$field;
                $crate::check_state_sizes(events, $crate::RecorderStore::max_state_size(store))?;
                $crate::RecorderStore::insert(store, events, None)
            }
            fn select_events(
                &self,
                originator_id: $crate::Uuid,
                query: &$crate::EventQuery,
            ) -> $crate::Result<Vec<$crate::StoredEvent>> {
                $crate::RecorderStore::select_events(&*self.$field, originator_id, query)
            }
        }

        impl $crate::ApplicationRecorder for $ty {
            fn select_notifications(
                &self,
                query: &$crate::NotificationQuery,
            ) -> $crate::Result<Vec<$crate::Notification>> {
                $crate::RecorderStore::select_notifications(&*self.$field, query)
            }
            fn max_notification_id(&self) -> $crate::Result<Option<$crate::NotificationId>> {
                $crate::RecorderStore::max_notification_id(&*self.$field)
            }
            fn subscribe(
                &self,
                gt: Option<$crate::NotificationId>,
                topics: &[String],
            ) -> $crate::Result<$crate::Subscription> {
                $crate::subscribe_to(&self.$field, gt, topics)
            }
        }
    };
    (tracking: $ty:ty, $field:ident) => {
        impl $crate::TrackingRecorder for $ty {
            fn insert_tracking(&self, tracking: &$crate::Tracking) -> $crate::Result<()> {
                $crate::RecorderStore::insert_tracking(&*self.$field, tracking)
            }
            fn max_tracking_id(
                &self,
                application_name: &str,
            ) -> $crate::Result<Option<$crate::NotificationId>> {
                $crate::RecorderStore::max_tracking_id(&*self.$field, application_name)
            }
            fn wait(
                &self,
                application_name: &str,
                notification_id: $crate::NotificationId,
                timeout: ::std::time::Duration,
                interrupt: Option<&$crate::StopHandle>,
            ) -> $crate::Result<()> {
                let notifier = $crate::RecorderStore::tracking_notifier(&*self.$field);
                $crate::wait_for_tracking(
                    self,
                    application_name,
                    notification_id,
                    timeout,
                    interrupt,
                    Some(notifier),
                )
            }
        }
    };
    (process: $ty:ty, $field:ident) => {
        $crate::impl_recorder_traits!(application: $ty, $field);
        $crate::impl_recorder_traits!(tracking: $ty, $field);

        impl $crate::ProcessRecorder for $ty {
            fn insert_events_with_tracking(
                &self,
                events: &[$crate::StoredEvent],
                tracking: &$crate::Tracking,
            ) -> $crate::Result<Vec<$crate::NotificationId>> {
                let store = &*self.$field;
                $crate::check_state_sizes(events, $crate::RecorderStore::max_state_size(store))?;
                $crate::RecorderStore::insert(store, events, Some(tracking))
            }
        }
    };
}
