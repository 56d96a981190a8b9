//! The constructors and predicates of [`Error`].

use uuid::Uuid;

use super::{BatchConflict, BoxError, Error, EventConflict, Report};

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
            permanent: false,
        }
    }

    /// An [`Error::User`] that a policy declares permanent: no retry will cure this
    /// notification. A follower with `PARK_PERMANENT_ERRORS` on parks it (the systems
    /// layer's parked notifications) and goes on; otherwise it stops the edge as any error
    /// does.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::User {
            source: error.into(),
            permanent: true,
        }
    }

    /// True for an error declared [`permanent`](Self::permanent), also inside a runner's
    /// wrappers.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::User { permanent, .. } => *permanent,
            Self::Processing { source, .. } | Self::Recorded { source, .. } => {
                source.is_permanent()
            }
            Self::EdgeStopped { source, .. } => source.is_permanent(),
            _ => false,
        }
    }

    /// The user's error of type `E` inside this error ([`Error::User`]), also when a runner
    /// wrapped it ([`Error::Processing`], [`Error::Recorded`], [`Error::EdgeStopped`]).
    pub fn user_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Self::User { source, .. } => source.downcast_ref::<E>(),
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

    /// True for every integrity kind: version conflicts, tracking conflicts, failed DCB append
    /// conditions and other constraint violations. Python's `IntegrityError`.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            Self::VersionConflict { .. }
                | Self::TrackingConflict { .. }
                | Self::AppendConditionFailed { .. }
                | Self::Integrity { .. }
        )
    }

    /// True for a DCB append whose condition failed.
    pub fn is_append_condition_failed(&self) -> bool {
        matches!(self, Self::AppendConditionFailed { .. })
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

    /// True for a [`Connect`](Self::Connect) error: see its [`ConnectProblem`](super::ConnectProblem).
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
