//! The four SQLite recorder types: [`Recorder`]s of one kind each on a [`SqliteBackend`].
//! `new(&config, app_name)` and `from_env(&env)` open them ([`OpenBackend`]); clones share the
//! connections.

use std::sync::Arc;

use es_core::backend::{OpenBackend, Recorder, kind};
#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};
use es_core::{Env, Result, TablePrefix};

use crate::backend::SqliteBackend;
use crate::config::SqliteConfig;
use crate::sql::{EventsSql, TrackingSql};

/// A SQLite [`AggregateRecorder`] on the table `<app>_snapshots`, for snapshots.
/// `insert_events` returns no ids.
pub type SqliteAggregateRecorder = Recorder<SqliteBackend, kind::Snapshots>;

/// A SQLite [`ApplicationRecorder`] on the table `<app>_events`.
pub type SqliteApplicationRecorder = Recorder<SqliteBackend, kind::Events>;

/// A SQLite [`TrackingRecorder`] on the table `<app>_tracking`.
pub type SqliteTrackingRecorder = Recorder<SqliteBackend, kind::Tracking>;

/// A SQLite [`ProcessRecorder`] on the tables `<app>_events` and `<app>_tracking`, written in
/// one transaction.
pub type SqliteProcessRecorder = Recorder<SqliteBackend, kind::Process>;

impl OpenBackend for SqliteBackend {
    type Config = SqliteConfig;

    /// Opens the tables of application `app_name` in the database of `config`, creating them
    /// unless `config.create_table` is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`](es_core::Error::Programming) for an application name that is not
    /// a valid table prefix; [`Error::Interface`](es_core::Error::Interface) when the database
    /// cannot be opened; errors of creating the tables.
    fn open(config: &SqliteConfig, app_name: &str, tables: kind::Tables) -> Result<Arc<Self>> {
        let p = TablePrefix::new(app_name)?;
        let (events, tracking) = match tables {
            kind::Tables::Snapshots => (Some(EventsSql::snapshots(&p)?), None),
            kind::Tables::Events => (Some(EventsSql::events(&p)?), None),
            kind::Tables::Tracking => (None, Some(TrackingSql::new(&p)?)),
            kind::Tables::Process => (Some(EventsSql::events(&p)?), Some(TrackingSql::new(&p)?)),
        };
        Self::open(config, events, tracking)
    }

    /// [`SqliteConfig::from_env`].
    ///
    /// # Errors
    ///
    /// As that function.
    fn config_from_env(env: &Env) -> Result<SqliteConfig> {
        SqliteConfig::from_env(env)
    }
}

impl SqliteBackend {
    /// The value of `PRAGMA name` on the connection this backend writes through, to check that
    /// settings such as `journal_mode`, `synchronous` and `busy_timeout` are in force
    /// (`recorder.backend().pragma("journal_mode")`).
    ///
    /// # Errors
    ///
    /// [`Error::Programming`](es_core::Error::Programming) for a name that is not a plain
    /// identifier; SQLite's errors.
    pub fn pragma(&self, name: &str) -> Result<String> {
        self.connections.pragma(name)
    }
}
