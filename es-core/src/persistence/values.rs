//! The values recorders store and return.

use std::fmt;

use uuid::Uuid;

/// The position of an event in an application's notification log, from 1.
pub type NotificationId = u64;

/// An event as recorders store it: the aggregate it belongs to, its version, its topic and its
/// encoded state (JSON, possibly compressed and encrypted; recorders treat it as opaque bytes).
///
/// Its `Debug` shows the state's length and a fingerprint, not its bytes: states hold what
/// users wrote (and a failed assertion on a vector of events stays short).
#[derive(Clone, PartialEq, Eq, Hash)]
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

/// A stored event with its position in the application's notification log. Its `Debug` shows
/// the state as [`StoredEvent`]'s does.
#[derive(Clone, PartialEq, Eq, Hash)]
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

/// A state in `Debug` output: its length and a 32-bit FNV-1a fingerprint, so that two states
/// that differ show different values without showing what either holds.
pub(crate) struct StateSummary<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for StateSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = self.0.iter().fold(0x811c_9dc5_u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        write!(f, "<{} bytes, fnv {hash:08x}>", self.0.len())
    }
}

impl fmt::Debug for StoredEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredEvent")
            .field("originator_id", &self.originator_id)
            .field("originator_version", &self.originator_version)
            .field("topic", &self.topic)
            .field("state", &StateSummary(&self.state))
            .finish()
    }
}

impl fmt::Debug for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notification")
            .field("id", &self.id)
            .field("originator_id", &self.originator_id)
            .field("originator_version", &self.originator_version)
            .field("topic", &self.topic)
            .field("state", &StateSummary(&self.state))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_a_states_length_and_fingerprint_not_its_bytes() {
        let id = Uuid::nil();
        let secret = br#"{"name":"Fido","card":"4111111111111111"}"#.to_vec();
        let event = StoredEvent::new(id, 1, "Dog.Registered", secret.clone());
        let shown = format!("{event:?}");
        assert!(
            shown.contains("Dog.Registered") && shown.contains("<41 bytes, fnv "),
            "{shown}"
        );
        assert!(
            !shown.contains("4111") && !shown.contains("123, 34"),
            "{shown}"
        );
        let other = StoredEvent::new(id, 1, "Dog.Registered", b"{}".to_vec());
        assert_ne!(
            format!("{other:?}"),
            shown,
            "different states show differently"
        );
        let n = format!("{:?}", Notification::new(7, event));
        assert!(
            n.contains("id: 7") && n.contains("<41 bytes, fnv ") && !n.contains("4111"),
            "{n}"
        );
    }
}
