//! The four SQLite recorder types: handles on one application's [`SqliteBackend`].

use std::sync::Arc;

#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};
use es_core::{Env, Result};

use crate::backend::SqliteBackend;
use crate::config::SqliteConfig;
use crate::sql::{EventsSql, TrackingSql};

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident, |$prefix:ident| ($events:expr, $tracking:expr)) => {
        $(#[$doc])*
        ///
        /// Clones share the connections. Recorders of one database in one process share one
        /// writer connection, so their writes queue in-process rather than on SQLite's busy
        /// handler.
        #[derive(Debug, Clone)]
        pub struct $name {
            backend: Arc<SqliteBackend>,
        }

        impl $name {
            /// Opens the tables of application `app_name` in the database of `config`, creating
            /// them unless `config.create_table` is off.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for an application name that
            /// is not a valid table prefix; [`Error::Interface`](es_core::Error::Interface) when
            /// the database cannot be opened; errors of creating the tables.
            pub fn new(config: &SqliteConfig, app_name: &str) -> Result<Self> {
                let $prefix = es_core::TablePrefix::new(app_name)?;
                let backend = SqliteBackend::open(config, $events, $tracking)?;
                Ok(Self { backend })
            }

            /// As [`new`](Self::new), with the settings and name of `env` (see
            /// [`SqliteConfig::from_env`]).
            ///
            /// # Errors
            ///
            /// As [`SqliteConfig::from_env`] and [`new`](Self::new).
            pub fn from_env(env: &Env) -> Result<Self> {
                Self::new(&SqliteConfig::from_env(env)?, env.name())
            }

            /// The value of `PRAGMA name` on the connection this recorder writes through, to
            /// check that settings such as `journal_mode`, `synchronous` and `busy_timeout`
            /// are in force.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for a name that is not a
            /// plain identifier; SQLite's errors.
            pub fn pragma(&self, name: &str) -> Result<String> {
                self.backend.connections.pragma(name)
            }
        }
    };
}

recorder_type!(
    /// A SQLite [`AggregateRecorder`] on the table `<app>_snapshots`, for snapshots.
    /// `insert_events` returns no ids.
    SqliteAggregateRecorder,
    |p| (Some(EventsSql::snapshots(&p)?), None)
);
recorder_type!(
    /// A SQLite [`ApplicationRecorder`] on the table `<app>_events`.
    SqliteApplicationRecorder,
    |p| (Some(EventsSql::events(&p)?), None)
);
recorder_type!(
    /// A SQLite [`TrackingRecorder`] on the table `<app>_tracking`.
    SqliteTrackingRecorder,
    |p| (None, Some(TrackingSql::new(&p)?))
);
recorder_type!(
    /// A SQLite [`ProcessRecorder`] on the tables `<app>_events` and `<app>_tracking`, written in
    /// one transaction.
    SqliteProcessRecorder,
    |p| (Some(EventsSql::events(&p)?), Some(TrackingSql::new(&p)?))
);

es_core::impl_recorder_traits!(aggregate_only: SqliteAggregateRecorder, backend);
es_core::impl_recorder_traits!(application: SqliteApplicationRecorder, backend);
es_core::impl_recorder_traits!(tracking: SqliteTrackingRecorder, backend);
es_core::impl_recorder_traits!(process: SqliteProcessRecorder, backend);
