//! The one error type every recorder returns.

mod conflict;
mod connect;
mod methods;
mod report;

pub use conflict::{BatchConflict, EventConflict};
pub use connect::ConnectProblem;
pub use report::Report;
use report::ids;

use std::fmt;
use std::time::Duration;

use uuid::Uuid;

/// A boxed error source: `Send + Sync + 'static`, so callers can `downcast_ref` to a driver's error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible operation in the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Waiting for a connection from a pool.
    Pool,
    /// Waiting for a table or row lock held by another transaction.
    Lock,
    /// Waiting for a busy database (SQLite's busy timeout).
    Busy,
    /// Waiting for a follower to process a notification ([`TrackingRecorder::wait`]).
    ///
    /// [`TrackingRecorder::wait`]: crate::TrackingRecorder::wait
    Wait,
    /// Waiting for the database to answer a statement (a server or a network path that stopped
    /// answering); the connection is abandoned.
    Statement,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pool => "waiting for a pooled connection",
            Self::Lock => "waiting for a lock",
            Self::Busy => "waiting for a busy database",
            Self::Wait => "waiting for tracking to advance",
            Self::Statement => "waiting for the database to answer a statement",
        })
    }
}

/// Every error of every backend, in the PEP 249 kinds of the Python library, plus the cases users
/// must tell apart: a version conflict, a tracking conflict, timeouts and an unknown commit outcome.
///
/// Backends map their driver errors onto these kinds by error code (SQLite extended codes,
/// PostgreSQL SQLSTATE), never by message text. The driver error stays reachable as the
/// [`std::error::Error::source`] for callers who need the detail. No variant ever carries a
/// password or a cipher key.
///
/// `Display` shows this error's own level only; [`Error::report`] (or any reporter, such as
/// `anyhow`'s `{:#}`) adds the causes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An event's `(originator_id, originator_version)` is already recorded, or appears twice in
    /// one batch. Nothing of the batch was written. This is the optimistic-concurrency conflict:
    /// reload the aggregate and retry the command.
    #[error("version conflict")]
    VersionConflict {
        /// What conflicted ([`EventConflict`] where the backend knows the event).
        source: BoxError,
    },
    /// A tracking record is not greater than the position already recorded for its upstream
    /// application: the notification was processed already. Nothing was written.
    #[error(
        "tracking conflict: {application_name} has already been processed up to or beyond notification {notification_id}"
    )]
    TrackingConflict {
        /// The upstream application of the rejected tracking record.
        application_name: String,
        /// The rejected notification id.
        notification_id: u64,
    },
    /// A DCB append's condition failed: an event stored after `after` matches the condition's
    /// query. Nothing was written. Read again and decide again. Python's `IntegrityError` from
    /// a DCB recorder.
    #[error("append condition failed: an event after position {} matches the condition's query", after.map_or_else(|| "0".to_owned(), |a| a.to_string()))]
    AppendConditionFailed {
        /// The condition's `after`.
        after: Option<u64>,
    },
    /// Another integrity constraint was violated.
    #[error("integrity error")]
    Integrity {
        /// The driver's error.
        source: BoxError,
    },
    /// Something timed out; the operation did not take effect.
    #[error("timed out {kind} after {waited:?}")]
    Timeout {
        /// What was waited for.
        kind: TimeoutKind,
        /// How long the caller waited, as configured.
        waited: Duration,
    },
    /// The connection broke while a commit was in flight and the backend could not settle it:
    /// the transaction may or may not have been committed. Read back before retrying. (The
    /// PostgreSQL backend settles such writes itself while the server is reachable.)
    #[error("outcome unknown: the connection failed during commit")]
    OutcomeUnknown {
        /// The driver's error.
        source: BoxError,
    },
    /// The database could not be reached or failed to operate.
    #[error("operational error")]
    Operational {
        /// The driver's error.
        source: BoxError,
    },
    /// Wrong use of the database or library: a missing table, bad SQL, an invalid name.
    #[error("programming error")]
    Programming {
        /// What was wrong.
        source: BoxError,
    },
    /// Data that cannot be stored or decoded: an out-of-range number, a damaged record.
    #[error("data error")]
    Data {
        /// What was wrong.
        source: BoxError,
    },
    /// The driver or its interface failed (for example a database that cannot be opened).
    #[error("interface error")]
    Interface {
        /// The driver's error.
        source: BoxError,
    },
    /// The database could not be connected to, for the reason `problem` names; nothing was
    /// sent. Reported when a recorder is opened (its first connection is made then) and when a
    /// pool cannot replace a connection.
    #[error("cannot connect to the database: {problem}")]
    Connect {
        /// Why.
        problem: ConnectProblem,
        /// The driver's error (never with a password or key).
        source: BoxError,
    },
    /// The database reported an internal error (for example an idle-in-transaction timeout).
    #[error("internal error")]
    Internal {
        /// The driver's error.
        source: BoxError,
    },
    /// The recorder does not support the operation.
    #[error("{operation} is not supported by {recorder}")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The recorder type.
        recorder: &'static str,
    },
    /// A configuration value is missing or malformed. The message names the variable, never
    /// its value.
    #[error("configuration error: {key}: {problem}")]
    Config {
        /// The environment variable (or variables, comma separated) concerned.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An event of another aggregate was applied to this one.
    #[error("event of aggregate {found} applied to aggregate {expected}")]
    OriginatorMismatch {
        /// The aggregate's id.
        expected: Uuid,
        /// The event's originator id.
        found: Uuid,
    },
    /// An event was applied out of order.
    #[error("aggregate {originator_id} expected version {expected}, got {found}")]
    VersionMismatch {
        /// The aggregate.
        originator_id: Uuid,
        /// The next version.
        expected: u64,
        /// The event's version.
        found: u64,
    },
    /// No aggregate with this id (at this version) is recorded.
    #[error("aggregate {id} not found{}", version.map(|v| format!(" at version {v}")).unwrap_or_default())]
    AggregateNotFound {
        /// The id asked for.
        id: Uuid,
        /// The version asked for, if any.
        version: Option<u64>,
    },
    /// A stored event could not be decoded (decrypted, decompressed, parsed or upcast). The
    /// message never contains key material.
    #[error("cannot decode event {topic:?} of {originator_id} version {originator_version}")]
    Decode {
        /// The stored topic.
        topic: String,
        /// The aggregate.
        originator_id: Uuid,
        /// The version.
        originator_version: u64,
        /// What failed.
        source: BoxError,
    },
    /// An event could not be encoded (serialised, compressed or encrypted).
    #[error("cannot encode event {topic:?}")]
    Encode {
        /// The topic.
        topic: String,
        /// What failed.
        source: BoxError,
    },
    /// A process application failed to process an upstream notification. Nothing of that
    /// processing was recorded; the follower retries it from its tracking position. When a
    /// single-threaded runner returns this from a leader's `save`, the leader's own events were
    /// recorded.
    #[error("{application} failed to process notification {notification_id} of {leader}")]
    Processing {
        /// The follower.
        application: String,
        /// The leader.
        leader: String,
        /// The upstream notification.
        notification_id: u64,
        /// What failed.
        source: Box<Self>,
    },
    /// User code run by the library (a policy, a command of `AsyncApp::update`) panicked. The
    /// runner caught the panic: the edge stops at the notification, as with a policy's error,
    /// instead of its thread disappearing.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic's message (its payload when a string, otherwise a placeholder).
        message: String,
    },
    /// An error of the user's own type, returned by a policy or a command ([`Error::user`],
    /// or [`Error::permanent`] for one that retrying cannot cure); [`Error::user_error`] gets it
    /// back.
    #[error("{source}")]
    User {
        /// The user's error.
        source: BoxError,
        /// Declared permanent: a follower with `PARK_PERMANENT_ERRORS` on parks the
        /// notification and goes on.
        permanent: bool,
    },
    /// A runner was started twice.
    #[error("the runner is already started")]
    RunnerAlreadyStarted,
    /// A runner was used before `start` or after `stop`.
    #[error("the runner is not started")]
    RunnerNotStarted,
    /// An event's state is larger than the recorder's configured maximum (`MAX_STATE_SIZE`).
    /// Nothing was sent to the database.
    #[error("event state of {size} bytes exceeds the maximum of {max} bytes")]
    PayloadTooLarge {
        /// The state's size.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// A wait was interrupted through its [`StopHandle`](crate::StopHandle).
    #[error("wait interrupted")]
    WaitInterrupted,
    /// The events were recorded, at these notification ids, but what runs after the commit
    /// failed (`source`): a single-threaded runner's processing of them by followers, another
    /// listener, or the snapshot. **Do not repeat the command**: its events are stored. A
    /// single-threaded runner retries the processing on the leader's next save (or at
    /// the runner's next start).
    #[error(
        "the events were recorded (notification ids {}), but what ran after the commit failed",
        ids(notification_ids)
    )]
    Recorded {
        /// The recorded events' notification ids.
        notification_ids: Vec<u64>,
        /// What failed after the commit.
        source: Box<Self>,
    },
    /// A follower stopped processing its leader's notifications at an error that retrying
    /// cannot cure (an undecodable event, a failing policy): returned at once by a runner's
    /// `wait` for that follower, and (inside [`Error::Recorded`]) by a single-threaded
    /// runner's save. The multi-threaded runner's `stop` returns the error itself.
    #[error("{follower} stopped processing the notifications of {leader}")]
    EdgeStopped {
        /// The leader.
        leader: String,
        /// The follower.
        follower: String,
        /// The error that stopped it.
        source: std::sync::Arc<Self>,
    },
}

#[cfg(test)]
mod tests;
