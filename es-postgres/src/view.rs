//! [`PostgresView`]: a projection's view in PostgreSQL. The user's own tables, and the
//! tracking table `<schema>.<name>_tracking` (the table the Python library's PostgreSQL views
//! use), written in one transaction.

use std::time::Duration;

use es_core::backend::to_i64;
use es_core::{
    Env, Error, NotificationId, Result, StopHandle, Tracking, TrackingRecorder, ViewStore,
};
use postgres::Row;
use postgres::types::{ToSql, Type};

use crate::PostgresTrackingRecorder;
use crate::backend::{PooledConn, PostgresBackend};
use crate::config::PostgresConfig;
use crate::error::{Call, Failed, is_connection_loss, map_pg_error};
use crate::runtime::in_runtime;

/// A projection's view in PostgreSQL: the projection's own tables, written through a
/// [`PgTx`] in the transaction that also records how far the view has processed (a
/// [`ViewStore`]), and its tracking table `<schema>.<name>_tracking`, with the leases table
/// beside it. Reads go through [`query`](Self::query), or any client of your own.
///
/// Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct PostgresView {
    tracking: PostgresTrackingRecorder,
}

/// The view's tracking table, as its tracking recorder has it.
impl TrackingRecorder for PostgresView {
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

impl PostgresView {
    fn backend(&self) -> &PostgresBackend {
        self.tracking.backend()
    }

    /// Opens the view named `name` (its tracking table is `<name>_tracking`) in
    /// `config.schema`, creating the schema and tracking table unless `config.create_table`
    /// is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a name that is not a valid identifier; pool and server errors.
    pub fn new(config: &PostgresConfig, name: &str) -> Result<Self> {
        Ok(Self {
            tracking: PostgresTrackingRecorder::new(config, name)?,
        })
    }

    /// As [`new`](Self::new), with the settings and name of `env` (named after the
    /// projection: `TRICKCOUNTS_POSTGRES_DBNAME`, then `POSTGRES_DBNAME`).
    ///
    /// # Errors
    ///
    /// As [`PostgresConfig::from_env`] and [`new`](Self::new).
    pub fn from_env(env: &Env) -> Result<Self> {
        Self::new(&PostgresConfig::from_env(env)?, env.name())
    }

    /// Runs a read on a pooled connection (retried once on a connection lost while idle).
    ///
    /// # Errors
    ///
    /// The server's error, mapped as every call's is; pool errors.
    pub fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        not_in_runtime()?;
        self.backend()
            .with(Call::Read, |c| c.query_inferred(sql, params))
    }

    /// `BEGIN`, the tracking record, `f`, `COMMIT` on one pooled connection.
    fn run<R>(
        &self,
        tracking: Option<&Tracking>,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<R>,
    ) -> Result<R> {
        not_in_runtime()?;
        let backend = self.backend();
        let lock = backend.lock_timeout;
        let mut conn = backend.connection().map_err(|f| f.error)?;
        let step = |conn: &mut PooledConn, sql: &str| {
            conn.client()
                .simple_query(sql)
                .map(drop)
                .map_err(|e| map_pg_error(e, Call::Read, lock))
        };
        step(&mut conn, "BEGIN")?;
        let done = (|| {
            if let Some(t) = tracking {
                record(&mut conn, backend, t)?;
            }
            let mut tx = PgTx {
                conn: &mut conn,
                lock_timeout: lock,
                queued: Vec::new(),
            };
            let value = f(&mut tx)?;
            tx.flush()?;
            Ok(value)
        })();
        let value = match done {
            Ok(value) => value,
            Err(e) => {
                // A connection whose rollback fails is closed or abandoned: the pool drops
                // it, and the server rolls the transaction back.
                let _ = step(&mut conn, "ROLLBACK");
                return Err(e);
            }
        };
        match conn.client().simple_query("COMMIT") {
            Ok(_) => {}
            Err(e) if tracking.is_some() && (is_connection_loss(&e) || e.code().is_none()) => {
                let failed = Failed {
                    error: map_pg_error(e, Call::Write, lock),
                    session: conn.session.clone(),
                };
                drop(conn);
                self.settle(failed, tracking)?;
            }
            Err(e) => return Err(map_pg_error(e, Call::Write, lock)),
        }
        if tracking.is_some() {
            backend.tracking.notify();
        }
        Ok(value)
    }

    /// A commit whose answer was lost: once its session has ended, the tracking row says
    /// whether it committed. At or beyond the record: the batch is in the view (this commit's,
    /// or another instance's of the same notifications). Below: nothing committed, and the
    /// error stays (operational: the batch is applied again). Unknown: the error stays.
    fn settle(&self, failed: Failed, tracking: Option<&Tracking>) -> Result<()> {
        let (Some(t), Some(session)) = (tracking, failed.session.as_ref()) else {
            return Err(failed.error);
        };
        if !self.backend().session_ended(session) {
            return Err(failed.error);
        }
        match es_core::backend::Backend::max_tracking_id(self.backend(), &t.application_name) {
            Ok(Some(max)) if max >= t.notification_id => Ok(()),
            _ => Err(failed.error),
        }
    }
}

/// The tracking record, refused when the stored position is at or above its first id.
fn record(conn: &mut PooledConn, backend: &PostgresBackend, t: &Tracking) -> Result<()> {
    let id = to_i64(t.notification_id, "notification_id")?;
    let first = to_i64(t.first_notification_id, "first_notification_id")?;
    let params: [(&(dyn ToSql + Sync), Type); 3] = [
        (&t.application_name, Type::TEXT),
        (&id, Type::INT8),
        (&first, Type::INT8),
    ];
    let rows = conn
        .query(&backend.sql.tracking.upsert, &params)
        .map_err(|e| map_pg_error(e, Call::Read, backend.lock_timeout))?;
    if rows.is_empty() {
        return Err(Error::tracking_conflict(
            &t.application_name,
            t.notification_id,
        ));
    }
    Ok(())
}

/// The driver blocks on a runtime of its own, which tokio forbids on its worker threads.
fn not_in_runtime() -> Result<()> {
    if in_runtime() && !es_core::backend::may_block() {
        return Err(Error::programming(
            "a PostgreSQL view was called on a thread that drives async tasks; call it from \
             a blocking thread (tokio::task::spawn_blocking)",
        ));
    }
    Ok(())
}

impl ViewStore for PostgresView {
    type Tx<'a> = PgTx<'a>;

    fn transact<R>(
        &self,
        tracking: &Tracking,
        f: impl FnOnce(&mut PgTx<'_>) -> Result<R>,
    ) -> Result<R> {
        self.run(Some(tracking), f)
    }

    fn migrate(&self, f: impl FnOnce(&mut PgTx<'_>) -> Result<()>) -> Result<()> {
        self.run(None, f)
    }
}

/// A transaction on a [`PostgresView`]'s database: what a projection writes its view
/// through. Statements are prepared once per pooled connection, their parameter types
/// inferred by the server. An error aborts the transaction: return it.
pub struct PgTx<'a> {
    conn: &'a mut PooledConn,
    lock_timeout: std::time::Duration,
    /// Statements [`queue`](PgTx::queue)d and not yet sent.
    queued: Vec<(String, Vec<Param>)>,
}

/// A parameter of a [`PgTx::queue`]d statement.
pub type Param = Box<dyn ToSql + Sync + Send>;

impl std::fmt::Debug for PgTx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx").finish_non_exhaustive()
    }
}

impl PgTx<'_> {
    /// Queues a statement whose answer you do not need (an upsert into the view): the queued
    /// statements are sent together, pipelined, in one round trip, before the next call that
    /// needs an answer or before the commit. A projection that writes one statement per event
    /// this way pays one round trip per batch instead of one per event. An error of a queued
    /// statement fails the transaction at that point.
    ///
    /// # Errors
    ///
    /// None now; the statements' errors come from the call that sends them (the commit, or
    /// the next [`execute`](Self::execute), [`query`](Self::query) or
    /// [`batch_execute`](Self::batch_execute)).
    pub fn queue(&mut self, sql: &str, params: Vec<Param>) -> Result<()> {
        self.queued.push((sql.to_owned(), params));
        Ok(())
    }

    /// Sends what is queued, pipelined.
    fn flush(&mut self) -> Result<()> {
        if self.queued.is_empty() {
            return Ok(());
        }
        let queued = std::mem::take(&mut self.queued);
        let lock = self.lock_timeout;
        let map = |e| map_pg_error(e, Call::Read, lock);
        let mut calls = Vec::with_capacity(queued.len());
        for (sql, params) in &queued {
            let statement = self.conn.prepared(sql).map_err(map)?;
            let refs: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            calls.push((statement, refs));
        }
        self.conn.client().execute_pipelined(&calls).map_err(map)
    }

    /// Runs a statement: the number of rows it changed.
    ///
    /// # Errors
    ///
    /// The server's error, mapped as every call's is (a lock timeout is operational, so the
    /// runner retries the batch).
    pub fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.flush()?;
        self.conn
            .execute_inferred(sql, params)
            .map_err(|e| map_pg_error(e, Call::Read, self.lock_timeout))
    }

    /// Runs a query: its rows.
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.flush()?;
        self.conn
            .query_inferred(sql, params)
            .map_err(|e| map_pg_error(e, Call::Read, self.lock_timeout))
    }

    /// Runs statements without parameters, separated by semicolons (DDL).
    ///
    /// # Errors
    ///
    /// As [`execute`](Self::execute).
    pub fn batch_execute(&mut self, sql: &str) -> Result<()> {
        self.flush()?;
        self.conn
            .client()
            .simple_query(sql)
            .map(drop)
            .map_err(|e| map_pg_error(e, Call::Read, self.lock_timeout))
    }
}
