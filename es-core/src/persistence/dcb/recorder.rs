//! [`DcbRecorder`]: the DCB contract every backend keeps and the kit checks.

use std::fmt::Debug;

use super::{DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbSubscription, Position};
use crate::Result;

/// A DCB log: events with types and tags, read by [`DcbQuery`], appended under
/// [`DcbAppendCondition`]s. The contract, which `es-testkit`'s DCB suite checks on every
/// backend:
///
/// * **Positions** start at 1 and increase in commit order: a reader that has seen position
///   `n` never later finds a new event below `n` (no late arrivals), so a read's head is safe to
///   pass on as a condition's `after`. One append's events take one block of consecutive
///   positions, which no concurrent append interleaves (in memory and SQLite the log has no
///   gaps; PostgreSQL may skip positions where a transaction rolled back).
/// * **`append`** is atomic and returns the last position it assigned. With a condition it
///   fails with [`Error::AppendConditionFailed`](crate::Error::AppendConditionFailed), writing
///   nothing, if and only if some stored event after `condition.after` matches
///   `condition.fail_if_events_match`; the check and the write are one step, so two appends
///   whose conditions each match the other's events never both succeed. No events is
///   [`Error::Programming`](crate::Error::Programming).
/// * **`read`** returns the events after `after` that match `query`, ascending, at most
///   `limit`, with the head described on [`DcbRead`]. Every query shape works on every backend.
/// * **`subscribe`** yields the matching events after `after` in position order, then blocks
///   for more, until stopped.
pub trait DcbRecorder: Send + Sync + Debug {
    /// The events after `after` (all when `None`) that match `query`, at most `limit`.
    ///
    /// # Errors
    ///
    /// The backend's errors.
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead>;

    /// Appends `events` if `condition` (when given) holds; returns the last position.
    ///
    /// # Errors
    ///
    /// [`Error::AppendConditionFailed`](crate::Error::AppendConditionFailed);
    /// [`Error::Programming`](crate::Error::Programming) for no events;
    /// [`Error::PayloadTooLarge`](crate::Error::PayloadTooLarge); the backend's errors.
    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position>;

    /// The matching events after `after`, then those appended later, until stopped.
    ///
    /// # Errors
    ///
    /// What stops the subscription from starting.
    fn subscribe(&self, query: &DcbQuery, after: Option<Position>) -> Result<DcbSubscription>;

    /// The last position in the log (`None` when empty).
    ///
    /// # Errors
    ///
    /// The backend's errors.
    fn head(&self) -> Result<Option<Position>>;
}
