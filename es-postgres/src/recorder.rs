//! The four PostgreSQL recorder types: [`Recorder`]s of one kind each on a
//! [`PostgresBackend`]. `new(&config, app_name)` and `from_env(&env)` open them
//! ([`OpenBackend`]); clones share the connection pool.

use std::sync::Arc;

use es_core::backend::{OpenBackend, Recorder, kind};
#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};
use es_core::{Env, Result};

use crate::backend::PostgresBackend;
use crate::config::PostgresConfig;

/// A PostgreSQL [`AggregateRecorder`] on `<schema>.<app>_snapshots`, for snapshots (no lock,
/// no notification log). `insert_events` returns no ids.
pub type PostgresAggregateRecorder = Recorder<PostgresBackend, kind::Snapshots>;

/// A PostgreSQL [`ApplicationRecorder`] on `<schema>.<app>_events`.
pub type PostgresApplicationRecorder = Recorder<PostgresBackend, kind::Events>;

/// A PostgreSQL [`TrackingRecorder`] on `<schema>.<app>_tracking`.
pub type PostgresTrackingRecorder = Recorder<PostgresBackend, kind::Tracking>;

/// A PostgreSQL [`ProcessRecorder`] on `<schema>.<app>_events` and `<schema>.<app>_tracking`,
/// written in one statement.
pub type PostgresProcessRecorder = Recorder<PostgresBackend, kind::Process>;

impl OpenBackend for PostgresBackend {
    type Config = PostgresConfig;

    /// Opens the tables of application `app_name` in `config.schema`, creating the schema,
    /// tables and insert function unless `config.create_table` is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`](es_core::Error::Programming) for an application or schema name
    /// that is not a valid identifier (or too long with its suffixes); pool and server errors
    /// of creating the tables.
    fn open(config: &PostgresConfig, app_name: &str, tables: kind::Tables) -> Result<Arc<Self>> {
        Self::open(config, app_name, tables)
    }

    /// [`PostgresConfig::from_env`].
    ///
    /// # Errors
    ///
    /// As that function.
    fn config_from_env(env: &Env) -> Result<PostgresConfig> {
        PostgresConfig::from_env(env)
    }
}

impl PostgresBackend {
    /// The value the server applies for the session setting `name` (for example
    /// `lock_timeout`) on this backend's pooled connections: proof that configured timeouts
    /// reach the server (`recorder.backend().session_setting("lock_timeout")`).
    ///
    /// # Errors
    ///
    /// [`Error::Programming`](es_core::Error::Programming) for a name that is not a plain
    /// identifier; pool and server errors.
    pub fn session_setting(&self, name: &str) -> Result<String> {
        self.show(name)
    }

    /// How many inserts of concurrent callers were combined into one transaction (group
    /// commits) so far: a diagnostic.
    pub fn group_commits(&self) -> u64 {
        self.groups.load(std::sync::atomic::Ordering::Relaxed)
    }
}
