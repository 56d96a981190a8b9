//! The suites' options: `no_subscribe` skips exactly the subscription properties (a backend
//! whose `subscribe` is `NotSupported` passes the rest), `no_leases` exactly the lease
//! properties, and options combine.

use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Lease, LeaseRecorder, Notification,
    NotificationId, NotificationQuery, ProcessRecorder, Result, StoredEvent, Subscription,
    Tracking, TrackingRecorder, Uuid,
};
use es_popo::{PopoApplicationRecorder, PopoProcessRecorder};

/// The in-memory recorder without subscriptions.
#[derive(Debug, Default)]
struct NoSubscriptions(PopoApplicationRecorder);

impl AggregateRecorder for NoSubscriptions {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.0.insert_events(events)
    }
    fn select_events(&self, id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.0.select_events(id, query)
    }
}

impl ApplicationRecorder for NoSubscriptions {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        self.0.select_notifications(query)
    }
    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.0.max_notification_id()
    }
    fn subscribe(&self, _: Option<NotificationId>, _: &[String]) -> Result<Subscription> {
        Err(Error::NotSupported {
            operation: "subscribe",
            recorder: "NoSubscriptions",
        })
    }
}

es_testkit::application_recorder_tests!(NoSubscriptions::default, gap_free, no_subscribe);

/// The in-memory process recorder without leases.
#[derive(Debug, Default)]
struct NoLeases(PopoProcessRecorder);

fn no_leases<T>(operation: &'static str) -> Result<T> {
    Err(Error::NotSupported {
        operation,
        recorder: "NoLeases",
    })
}

impl AggregateRecorder for NoLeases {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.0.insert_events(events)
    }
    fn select_events(&self, id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.0.select_events(id, query)
    }
}

impl ApplicationRecorder for NoLeases {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        self.0.select_notifications(query)
    }
    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.0.max_notification_id()
    }
    fn subscribe(&self, after: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        self.0.subscribe(after, topics)
    }
}

impl TrackingRecorder for NoLeases {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.0.insert_tracking(tracking)
    }
    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.0.max_tracking_id(application_name)
    }
}

impl LeaseRecorder for NoLeases {
    fn acquire_lease(&self, _: &str, _: &str, _: Duration) -> Result<bool> {
        no_leases("acquire_lease")
    }
    fn release_lease(&self, _: &str, _: &str) -> Result<()> {
        no_leases("release_lease")
    }
    fn leases(&self, _: &str) -> Result<Vec<Lease>> {
        no_leases("leases")
    }
}

impl ProcessRecorder for NoLeases {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.0.insert_events_with_tracking(events, tracking)
    }
}

mod without_leases {
    use super::NoLeases;
    es_testkit::process_recorder_tests!(NoLeases::default, gap_free, no_leases);
}
