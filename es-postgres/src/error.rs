//! PostgreSQL errors mapped onto [`es_core::Error`], by SQLSTATE.

use std::time::Duration;

use es_core::{Error, TimeoutKind};
use postgres::error::SqlState;

use crate::client::DbError;
use crate::pool::Session;

/// The SQLSTATE the insert function raises when a tracking id does not increase.
pub(crate) const TRACKING_CONFLICT: &str = "ES001";

/// Whether the failed call may have changed the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Read,
    Write,
}

/// True when the connection was lost: no SQLSTATE, connection exceptions (08) or a server
/// shutdown or termination (57P01–57P03). A call that expired is not a loss: the server did not
/// answer, and trying again would wait as long again.
pub(crate) fn is_connection_loss(e: &DbError) -> bool {
    match e {
        DbError::Driver(e) => is_loss(e),
        DbError::Deadline(_) => false,
    }
}

fn is_loss(e: &postgres::Error) -> bool {
    e.code().is_none_or(|code| {
        let c = code.code();
        c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03")
    })
}

/// Maps a driver error. `lock` is the configured lock timeout.
pub(crate) fn map_pg_error(e: DbError, call: Call, lock: Duration) -> Error {
    let e = match e {
        DbError::Driver(e) => e,
        DbError::Deadline(waited) => {
            let e = DbError::Deadline(waited);
            return match call {
                // Sent, and not answered: it may have committed, or may still commit.
                Call::Write => Error::OutcomeUnknown {
                    source: Box::new(e),
                },
                Call::Read => Error::Timeout {
                    kind: TimeoutKind::Statement,
                    waited,
                },
            };
        }
    };
    if call == Call::Write && is_loss(&e) {
        // The connection died while a write was in flight: it may have committed.
        return Error::OutcomeUnknown {
            source: Box::new(e),
        };
    }
    let Some(code) = e.code().cloned() else {
        // No SQLSTATE: the connection failed. A write may or may not have committed.
        let source = Box::new(e);
        return match call {
            Call::Write => Error::OutcomeUnknown { source },
            Call::Read => Error::Operational { source },
        };
    };
    let source = Box::new(e);
    let class = &code.code()[..2];
    if code == SqlState::UNIQUE_VIOLATION {
        Error::batch_conflict(Some(source))
    } else if code == SqlState::INVALID_SQL_STATEMENT_NAME {
        // A prepared statement vanished although it was prepared again at once (see
        // `Conn::query`): the session changes under the connection.
        Error::Programming {
            source: format!(
                "{source}: a prepared statement vanished between two calls; is the connection \
                 going through a pooler in transaction mode (pgbouncer pool_mode = transaction)? \
                 Use session mode, or connect directly"
            )
            .into(),
        }
    } else if code == SqlState::LOCK_NOT_AVAILABLE {
        Error::Timeout {
            kind: TimeoutKind::Lock,
            waited: lock,
        }
    } else if code == SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT {
        Error::Internal { source }
    } else {
        match class {
            "23" => Error::Integrity { source },
            "22" => Error::Data { source },
            "42" | "2B" | "34" | "3D" | "3F" | "0A" => Error::Programming { source },
            "08" | "53" | "57" | "58" | "40" => Error::Operational { source },
            "28" => Error::Interface { source },
            _ => Error::Internal { source },
        }
    }
}

/// A failed write: the error and, when its outcome is unknown, the session that ran it.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) session: Option<Session>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self {
            error,
            session: None,
        }
    }
}
