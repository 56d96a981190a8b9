//! The suites' options: `no_subscribe` skips exactly the subscription properties (a backend
//! whose `subscribe` is `NotSupported` passes the rest), and options combine.

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Notification, NotificationId,
    NotificationQuery, Result, StoredEvent, Subscription, Uuid,
};
use es_popo::PopoApplicationRecorder;

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
