//! [`Recording`]: what a save recorded.

use uuid::Uuid;

use crate::{Error, NotificationId};

/// A saved event: which aggregate, which version, which topic, and its notification id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The aggregate.
    pub originator_id: Uuid,
    /// The version.
    pub originator_version: u64,
    /// The event's topic.
    pub topic: String,
    /// Its position in the application's notification log.
    pub notification_id: NotificationId,
}

/// `error`, after `recordings` were committed: [`Error::Recorded`].
pub(super) fn recorded(recordings: &[Recording], error: Error) -> Error {
    Error::Recorded {
        notification_ids: recordings.iter().map(|r| r.notification_id).collect(),
        source: Box::new(error),
    }
}
