//! [`SqliteView`]: a projection's view in SQLite. The user's own tables, and the tracking
//! table `<name>_tracking`, written in one `BEGIN IMMEDIATE` transaction.

use std::time::Duration;

use es_core::{
    Env, Error, NotificationId, Result, StopHandle, Tracking, TrackingRecorder, ViewStore,
};
use rusqlite::{Connection, Params, Row};

use crate::SqliteTrackingRecorder;
use crate::config::SqliteConfig;
use crate::connections::Connections;

/// A projection's view in SQLite: the projection's own tables, written through a
/// [`SqliteTx`] in the transaction that also records how far the view has processed (a
/// [`ViewStore`]), and its tracking table `<name>_tracking`, with the leases table beside it.
/// Reads go through [`read`](Self::read) (a pooled read connection of a file database).
///
/// A view may share its database with the applications it follows or live in another one.
/// Clones share the connections.
#[derive(Debug, Clone)]
pub struct SqliteView {
    tracking: SqliteTrackingRecorder,
}

/// The view's tracking table, as its tracking recorder has it.
impl TrackingRecorder for SqliteView {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.tracking.insert_tracking(tracking)
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.tracking.max_tracking_id(application_name)
    }

    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        self.tracking
            .wait(application_name, notification_id, timeout, interrupt)
    }
}

impl SqliteView {
    /// Opens the view named `name` (its tracking table is `<name>_tracking`) in the database
    /// of `config`, creating the tracking table unless `config.create_table` is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a name that is not a valid table prefix;
    /// [`Error::Interface`] when the database cannot be opened.
    pub fn new(config: &SqliteConfig, name: &str) -> Result<Self> {
        Ok(Self {
            tracking: SqliteTrackingRecorder::new(config, name)?,
        })
    }

    /// As [`new`](Self::new), with the settings and name of `env` (named after the
    /// projection: `TRICKCOUNTS_SQLITE_DBNAME`, then `SQLITE_DBNAME`).
    ///
    /// # Errors
    ///
    /// As [`SqliteConfig::from_env`] and [`new`](Self::new).
    pub fn from_env(env: &Env) -> Result<Self> {
        Self::new(&SqliteConfig::from_env(env)?, env.name())
    }

    /// Runs `f` on a read connection: the view as last committed.
    ///
    /// # Errors
    ///
    /// `f`'s error, mapped as every call's is (a busy database is operational).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let connections = &self.tracking.backend().connections;
        connections.read(|conn| f(conn).map_err(|e| connections.map(e)))
    }

    fn run<R>(
        &self,
        tracking: Option<&Tracking>,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<R>,
    ) -> Result<R> {
        let backend = &**self.tracking.backend();
        let sql = backend.tracking_sql()?;
        let value = backend.connections.write(|tx| {
            if let Some(t) = tracking {
                backend.upsert_tracking(tx, sql, t)?;
            }
            f(&mut SqliteTx {
                conn: tx,
                connections: &backend.connections,
            })
        })?;
        if tracking.is_some() {
            backend.connections.tracking.notify();
        }
        Ok(value)
    }
}

impl ViewStore for SqliteView {
    type Tx<'a> = SqliteTx<'a>;

    fn transact<R>(
        &self,
        tracking: &Tracking,
        f: impl FnOnce(&mut SqliteTx<'_>) -> Result<R>,
    ) -> Result<R> {
        self.run(Some(tracking), f)
    }

    fn migrate(&self, f: impl FnOnce(&mut SqliteTx<'_>) -> Result<()>) -> Result<()> {
        self.run(None, f)
    }
}

/// A transaction on a [`SqliteView`]'s database: what a projection writes its view through.
/// Its methods map SQLite's errors as the recorders do (a busy database is operational, so
/// the runner retries the batch); [`connection`](Self::connection) gives rusqlite's whole API.
pub struct SqliteTx<'a> {
    conn: &'a Connection,
    connections: &'a Connections,
}

impl std::fmt::Debug for SqliteTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteTx").finish_non_exhaustive()
    }
}

impl SqliteTx<'_> {
    /// Runs a statement (prepared once per connection): the number of rows it changed.
    ///
    /// # Errors
    ///
    /// SQLite's error, mapped.
    pub fn execute(&mut self, sql: &str, params: impl Params) -> Result<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(|e| self.connections.map(e))
    }

    /// Runs statements without parameters, separated by semicolons (DDL).
    ///
    /// # Errors
    ///
    /// SQLite's error, mapped.
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .map_err(|e| self.connections.map(e))
    }

    /// The first row of a query, mapped by `f`; `None` when there is none.
    ///
    /// # Errors
    ///
    /// SQLite's error, mapped.
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        use rusqlite::OptionalExtension;
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, f).optional())
            .map_err(|e| self.connections.map(e))
    }

    /// The transaction's connection, for the rest of rusqlite's API.
    pub fn connection(&self) -> &Connection {
        self.conn
    }

    /// Maps a rusqlite error as the recorders do.
    pub fn map_error(&self, e: rusqlite::Error) -> Error {
        self.connections.map(e)
    }
}
