//! The one error type every recorder returns.

mod conflict;
mod connect;
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
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pool => "waiting for a pooled connection",
            Self::Lock => "waiting for a lock",
            Self::Busy => "waiting for a busy database",
            Self::Wait => "waiting for tracking to advance",
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
    /// An error of the user's own type, returned by a policy or a command
    /// ([`Error::user`]); [`Error::user_error`] gets it back.
    #[error("{source}")]
    User {
        /// The user's error.
        source: BoxError,
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

impl Error {
    /// This error with its causes on one line, `outer: cause: root cause` ([`Report`]).
    pub fn report(&self) -> Report<'_> {
        Report::new(self)
    }

    /// A [`Error::VersionConflict`] for a known event.
    pub fn version_conflict(originator_id: Uuid, originator_version: u64) -> Self {
        Self::VersionConflict {
            source: Box::new(EventConflict {
                originator_id,
                originator_version,
            }),
        }
    }

    /// A [`Error::VersionConflict`] of an unknown event of a batch ([`BatchConflict`]).
    pub fn batch_conflict(driver: Option<BoxError>) -> Self {
        Self::VersionConflict {
            source: Box::new(BatchConflict { driver }),
        }
    }

    /// A [`Error::TrackingConflict`].
    pub fn tracking_conflict(application_name: &str, notification_id: u64) -> Self {
        Self::TrackingConflict {
            application_name: application_name.to_owned(),
            notification_id,
        }
    }

    /// An [`Error::User`] holding the user's own error, for policies and commands:
    /// `Err(Error::user(Overdrawn { .. }))`.
    pub fn user(error: impl Into<BoxError>) -> Self {
        Self::User {
            source: error.into(),
        }
    }

    /// The user's error of type `E` inside this error ([`Error::User`]), also when a runner
    /// wrapped it ([`Error::Processing`], [`Error::Recorded`], [`Error::EdgeStopped`]).
    pub fn user_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Self::User { source } => source.downcast_ref::<E>(),
            Self::Processing { source, .. } | Self::Recorded { source, .. } => source.user_error(),
            Self::EdgeStopped { source, .. } => source.user_error(),
            _ => None,
        }
    }

    /// An [`Error::Panicked`] from a panic's payload.
    pub fn panicked(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a payload that is not a string".to_owned());
        Self::Panicked { message }
    }

    /// An [`Error::Programming`] with a message.
    pub fn programming(message: impl Into<String>) -> Self {
        Self::Programming {
            source: message.into().into(),
        }
    }

    /// An [`Error::Data`] with a message.
    pub fn data(message: impl Into<String>) -> Self {
        Self::Data {
            source: message.into().into(),
        }
    }

    /// An [`Error::Config`].
    pub fn config(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// True for every integrity kind: version conflicts, tracking conflicts and other constraint
    /// violations. Python's `IntegrityError`.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            Self::VersionConflict { .. } | Self::TrackingConflict { .. } | Self::Integrity { .. }
        )
    }

    /// True for a duplicate `(originator_id, originator_version)`.
    pub fn is_version_conflict(&self) -> bool {
        matches!(self, Self::VersionConflict { .. })
    }

    /// True for a tracking record that is not greater than the recorded position.
    pub fn is_tracking_conflict(&self) -> bool {
        matches!(self, Self::TrackingConflict { .. })
    }

    /// True for timeouts of every kind.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// True for a [`Connect`](Self::Connect) error: see its [`ConnectProblem`].
    pub fn is_connect(&self) -> bool {
        matches!(self, Self::Connect { .. })
    }

    /// True for [`Operational`](Self::Operational), [`Timeout`](Self::Timeout),
    /// [`OutcomeUnknown`](Self::OutcomeUnknown) and [`Connect`](Self::Connect) errors: the
    /// database could not be reached or did not answer in time.
    pub fn is_operational(&self) -> bool {
        matches!(
            self,
            Self::Operational { .. }
                | Self::Timeout { .. }
                | Self::OutcomeUnknown { .. }
                | Self::Connect { .. }
        )
    }

    /// True when a commit's acknowledgement was lost.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Self::OutcomeUnknown { .. })
    }

    /// True for programming errors.
    pub fn is_programming(&self) -> bool {
        matches!(self, Self::Programming { .. })
    }

    /// True for data errors.
    pub fn is_data(&self) -> bool {
        matches!(self, Self::Data { .. })
    }

    /// True when an aggregate was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::AggregateNotFound { .. })
    }

    /// True for a stored event that could not be decoded.
    pub fn is_decode(&self) -> bool {
        matches!(self, Self::Decode { .. })
    }

    /// True for configuration errors.
    pub fn is_config(&self) -> bool {
        matches!(self, Self::Config { .. })
    }

    /// The notification ids of events that were recorded although this error was returned
    /// ([`Error::Recorded`]): the command must not be repeated.
    pub fn recorded_ids(&self) -> Option<&[u64]> {
        match self {
            Self::Recorded {
                notification_ids, ..
            } => Some(notification_ids),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
