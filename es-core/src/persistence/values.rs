//! The values recorders store and return.

use uuid::Uuid;

/// The position of an event in an application's notification log, from 1.
pub type NotificationId = u64;

/// An event as recorders store it: the aggregate it belongs to, its version, its topic and its
/// encoded state (JSON, possibly compressed and encrypted; recorders treat it as opaque bytes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoredEvent {
    /// The aggregate (originator) the event belongs to.
    pub originator_id: Uuid,
    /// The aggregate's version after the event; unique per originator.
    pub originator_version: u64,
    /// The stable name of the event type, for example `"Dog.Registered"`.
    pub topic: String,
    /// The encoded event state.
    pub state: Vec<u8>,
}

impl StoredEvent {
    /// A stored event.
    pub fn new(
        originator_id: Uuid,
        originator_version: u64,
        topic: impl Into<String>,
        state: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            originator_id,
            originator_version,
            topic: topic.into(),
            state: state.into(),
        }
    }
}

/// A stored event with its position in the application's notification log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The notification id: the event's position in the log, from 1. Ids increase in commit
    /// order; PostgreSQL may leave gaps where transactions rolled back.
    pub id: NotificationId,
    /// The aggregate (originator) the event belongs to.
    pub originator_id: Uuid,
    /// The aggregate's version after the event.
    pub originator_version: u64,
    /// The stable name of the event type.
    pub topic: String,
    /// The encoded event state.
    pub state: Vec<u8>,
}

impl Notification {
    /// A notification of `event` at position `id`.
    pub fn new(id: NotificationId, event: StoredEvent) -> Self {
        Self {
            id,
            originator_id: event.originator_id,
            originator_version: event.originator_version,
            topic: event.topic,
            state: event.state,
        }
    }

    /// The stored event, without its position.
    pub fn into_stored_event(self) -> StoredEvent {
        StoredEvent {
            originator_id: self.originator_id,
            originator_version: self.originator_version,
            topic: self.topic,
            state: self.state,
        }
    }

    /// True when this notification carries `event`.
    pub fn is_of(&self, event: &StoredEvent) -> bool {
        self.originator_id == event.originator_id
            && self.originator_version == event.originator_version
            && self.topic == event.topic
            && self.state == event.state
    }
}

/// "The upstream application `application_name` has been processed from notification
/// `first_notification_id` up to notification `notification_id`." Written by process
/// applications together with the events they produce. A recorder refuses it with
/// [`Error::TrackingConflict`](crate::Error::TrackingConflict) when its stored position for
/// `application_name` is at or above `first_notification_id`: some notification it covers is
/// processed already (by another instance), so what was produced from it must not be recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tracking {
    /// The name of the upstream (leader) application.
    pub application_name: String,
    /// The last upstream notification id processed: the position after this record.
    pub notification_id: NotificationId,
    /// The first upstream notification id this record covers: `notification_id` for one
    /// notification, the first of a batch processed in one transaction.
    pub first_notification_id: NotificationId,
}

impl Tracking {
    /// A tracking record of one notification.
    pub fn new(application_name: impl Into<String>, notification_id: NotificationId) -> Self {
        Self {
            application_name: application_name.into(),
            notification_id,
            first_notification_id: notification_id,
        }
    }

    /// A tracking record of notifications `first` to `last` of `application_name`, processed
    /// in one transaction (`first` above `last` is taken as `last`).
    pub fn batch(
        application_name: impl Into<String>,
        first: NotificationId,
        last: NotificationId,
    ) -> Self {
        Self {
            application_name: application_name.into(),
            notification_id: last,
            first_notification_id: first.min(last),
        }
    }
}
