//! SQLite errors mapped onto [`es_core::Error`], by extended result code.

use std::time::Duration;

use es_core::{Error, TimeoutKind};
use rusqlite::ffi;

/// Maps a rusqlite error. `busy` is the configured busy timeout, reported by busy timeouts.
pub(crate) fn map_sqlite_error(e: rusqlite::Error, busy: Duration) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => f.extended_code,
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::ToSqlConversionFailure(_) => {
            return Error::Data {
                source: Box::new(e),
            };
        }
        rusqlite::Error::InvalidPath(_) => {
            return Error::Interface {
                source: Box::new(e),
            };
        }
        rusqlite::Error::SqlInputError { .. } | rusqlite::Error::InvalidParameterCount(..) => {
            return Error::Programming {
                source: Box::new(e),
            };
        }
        _ => {
            return Error::Internal {
                source: Box::new(e),
            };
        }
    };
    let source = Box::new(e);
    match code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Error::batch_conflict(Some(source))
        }
        c if c & 0xff == ffi::SQLITE_CONSTRAINT => Error::Integrity { source },
        c if c & 0xff == ffi::SQLITE_BUSY => Error::Timeout {
            kind: TimeoutKind::Busy,
            waited: busy,
        },
        c if c & 0xff == ffi::SQLITE_LOCKED => Error::Timeout {
            kind: TimeoutKind::Lock,
            waited: Duration::ZERO,
        },
        // SQLITE_ERROR: a missing table or column, bad SQL.
        ffi::SQLITE_ERROR => Error::Programming { source },
        c if c & 0xff == ffi::SQLITE_CANTOPEN || c & 0xff == ffi::SQLITE_NOTADB => {
            Error::Interface { source }
        }
        c if c & 0xff == ffi::SQLITE_TOOBIG
            || c & 0xff == ffi::SQLITE_MISMATCH
            || c & 0xff == ffi::SQLITE_RANGE =>
        {
            Error::Data { source }
        }
        c if c & 0xff == ffi::SQLITE_CORRUPT || c & 0xff == ffi::SQLITE_INTERNAL => {
            Error::Internal { source }
        }
        _ => Error::Operational { source },
    }
}

/// Maps a pool error: the wait for a read connection timed out.
pub(crate) fn map_pool_error(_: r2d2::Error, waited: Duration) -> Error {
    Error::Timeout {
        kind: TimeoutKind::Pool,
        waited,
    }
}

/// `source`, said of the database at `path`.
#[derive(Debug)]
struct AtPath {
    path: String,
    source: es_core::BoxError,
}

impl std::fmt::Display for AtPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.source)
    }
}

impl std::error::Error for AtPath {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// An error opening the database at `path` (`SQLITE_DBNAME`), naming it when the driver's error
/// does not: a file that cannot be opened or is not a database.
pub(crate) fn at_path(e: Error, path: &str) -> Error {
    match e {
        Error::Interface { source } => Error::Interface {
            source: Box::new(AtPath {
                path: path.to_owned(),
                source,
            }),
        },
        e => e,
    }
}
