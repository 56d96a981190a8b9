//! The four PostgreSQL recorder types: handles on one application's [`PostgresBackend`].

use std::sync::Arc;

#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};
use es_core::{Env, Result};

use crate::backend::PostgresBackend;
use crate::config::PostgresConfig;
use crate::sql::Kind;

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        ///
        /// Clones share the connection pool.
        #[derive(Debug, Clone)]
        pub struct $name {
            backend: Arc<PostgresBackend>,
        }

        impl $name {
            /// Opens the tables of application `app_name` in `config.schema`, creating the
            /// schema, tables and insert function unless `config.create_table` is off.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for an application or schema
            /// name that is not a valid identifier (or too long with its suffixes); pool and
            /// server errors of creating the tables.
            pub fn new(config: &PostgresConfig, app_name: &str) -> Result<Self> {
                Ok(Self { backend: PostgresBackend::open(config, app_name, $kind)? })
            }

            /// The value the server applies for the session setting `name` (for example
            /// `lock_timeout`) on this recorder's pooled connections: proof that configured
            /// timeouts reach the server.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for a name that is not a plain
            /// identifier; pool and server errors.
            pub fn session_setting(&self, name: &str) -> Result<String> {
                self.backend.show(name)
            }

            /// How many inserts of concurrent callers were combined into one transaction
            /// (group commits) so far: a diagnostic.
            pub fn group_commits(&self) -> u64 {
                self.backend.groups.load(std::sync::atomic::Ordering::Relaxed)
            }

            /// As [`new`](Self::new), with the settings and name of `env` (see
            /// [`PostgresConfig::from_env`]).
            ///
            /// # Errors
            ///
            /// As [`PostgresConfig::from_env`] and [`new`](Self::new).
            pub fn from_env(env: &Env) -> Result<Self> {
                Self::new(&PostgresConfig::from_env(env)?, env.name())
            }
        }
    };
}

recorder_type!(
    /// A PostgreSQL [`AggregateRecorder`] on `<schema>.<app>_snapshots`, for snapshots (no lock,
    /// no notification log). `insert_events` returns no ids.
    PostgresAggregateRecorder,
    Kind::Snapshots
);
recorder_type!(
    /// A PostgreSQL [`ApplicationRecorder`] on `<schema>.<app>_events`.
    PostgresApplicationRecorder,
    Kind::Events
);
recorder_type!(
    /// A PostgreSQL [`TrackingRecorder`] on `<schema>.<app>_tracking`.
    PostgresTrackingRecorder,
    Kind::Tracking
);
recorder_type!(
    /// A PostgreSQL [`ProcessRecorder`] on `<schema>.<app>_events` and `<schema>.<app>_tracking`,
    /// written in one statement.
    PostgresProcessRecorder,
    Kind::Process
);

es_core::impl_recorder_traits!(aggregate_only: PostgresAggregateRecorder, backend);
es_core::impl_recorder_traits!(application: PostgresApplicationRecorder, backend);
es_core::impl_recorder_traits!(tracking: PostgresTrackingRecorder, backend);
es_core::impl_recorder_traits!(process: PostgresProcessRecorder, backend);
