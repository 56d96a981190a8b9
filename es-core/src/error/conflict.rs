//! The sources of a [`Error::VersionConflict`](super::Error::VersionConflict): the event, where
//! the backend knows it; the batch, where it does not.

use uuid::Uuid;

use super::BoxError;

/// The source of a [`Error::VersionConflict`](super::Error::VersionConflict) where the backend does not know which event
/// conflicted (SQL backends report a unique violation): the same words on every backend, with
/// the driver's error, if any, as its source.
#[derive(Debug, thiserror::Error)]
#[error("an event of the batch is already recorded or repeated in the batch")]
pub struct BatchConflict {
    /// The driver's error.
    #[source]
    pub driver: Option<BoxError>,
}

/// The event that caused a [`Error::VersionConflict`](super::Error::VersionConflict), where the backend knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "event {originator_id} version {originator_version} is already recorded or repeated in the batch"
)]
pub struct EventConflict {
    /// The aggregate.
    pub originator_id: Uuid,
    /// The version recorded twice.
    pub originator_version: u64,
}
