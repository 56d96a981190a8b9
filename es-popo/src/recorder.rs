//! The four POPO recorder types: handles on a shared [`Store`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, Result, StopHandle, StoredEvent, Subscription, Tracking,
    TrackingRecorder, Uuid, wait_for_tracking,
};

use crate::store::Store;

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Clones share one store. Thread-safe; every write takes one lock, so notification ids
        /// follow commit order with no gaps.
        #[derive(Clone, Default)]
        pub struct $name {
            store: Arc<Store>,
        }

        impl $name {
            /// A recorder over a new, empty store.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (events, tracked) = self.store.counts();
                f.debug_struct(stringify!($name))
                    .field("events", &events)
                    .field("tracked_applications", &tracked)
                    .finish()
            }
        }
    };
}

recorder_type!(
    /// An in-memory [`AggregateRecorder`], for snapshots. `insert_events` returns no ids.
    PopoAggregateRecorder
);
recorder_type!(
    /// An in-memory [`ApplicationRecorder`] with push subscriptions.
    PopoApplicationRecorder
);
recorder_type!(
    /// An in-memory [`TrackingRecorder`].
    PopoTrackingRecorder
);
recorder_type!(
    /// An in-memory [`ProcessRecorder`]: events and tracking in one store.
    PopoProcessRecorder
);

impl AggregateRecorder for PopoAggregateRecorder {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.store.insert(events, None).map(|_| Vec::new())
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        Ok(self.store.select_events(originator_id, query))
    }
}

macro_rules! application_impls {
    ($($name:ident),*) => {$(
        impl AggregateRecorder for $name {
            fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
                self.store.insert(events, None)
            }

            fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
                Ok(self.store.select_events(originator_id, query))
            }
        }

        impl ApplicationRecorder for $name {
            fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
                Ok(self.store.select_notifications(query))
            }

            fn max_notification_id(&self) -> Result<Option<NotificationId>> {
                Ok(self.store.max_notification_id())
            }

            fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
                let store = Arc::clone(&self.store);
                let fetch = move |q: &NotificationQuery| Ok(store.select_notifications(q));
                Ok(Subscription::new(fetch, gt, topics).woken_by(&self.store.events))
            }
        }
    )*};
}

application_impls!(PopoApplicationRecorder, PopoProcessRecorder);

macro_rules! tracking_impls {
    ($($name:ident),*) => {$(
        impl TrackingRecorder for $name {
            fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
                self.store.insert(&[], Some(tracking)).map(drop)
            }

            fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
                Ok(self.store.max_tracking_id(application_name))
            }

            fn wait(
                &self,
                application_name: &str,
                notification_id: NotificationId,
                timeout: Duration,
                interrupt: Option<&StopHandle>,
            ) -> Result<()> {
                let notifier = Some(&self.store.tracking);
                wait_for_tracking(self, application_name, notification_id, timeout, interrupt, notifier)
            }
        }
    )*};
}

tracking_impls!(PopoTrackingRecorder, PopoProcessRecorder);

impl ProcessRecorder for PopoProcessRecorder {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.store.insert(events, Some(tracking))
    }
}
