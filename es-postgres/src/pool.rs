//! The connection pool: r2d2 over connections that keep their prepared statements, so every
//! call is one round trip with no server-side parse.

use postgres::types::{ToSql, Type};
use postgres::{Row, Statement};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::client::{Client, DbError};
use crate::watch::Watch;

use crate::connect::{ConnectError, connect_problem};
use crate::probe::probe;
use crate::runtime::{blocking, in_runtime};

/// A pooled connection and its prepared statements, by SQL text.
pub(crate) struct Conn {
    /// `Some` for the connection's whole life; taken only by `drop`.
    client: Option<Client>,
    statements: HashMap<String, Statement>,
    /// The server session behind this connection, when the server told it.
    pub(crate) session: Option<Session>,
}

/// A server session: its process id and start time (together unique, as pids are reused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) pid: i32,
    pub(crate) started: String,
}

/// A parameter and its type.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

impl Drop for Conn {
    /// Closing a connection blocks on the driver's runtime: inside a tokio runtime it happens
    /// on a helper thread.
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && in_runtime()
        {
            blocking(move || drop(client));
        }
    }
}

impl Conn {
    /// The driver's client.
    pub(crate) fn client(&mut self) -> &mut Client {
        match &mut self.client {
            Some(client) => client,
            // Only `drop` takes the client, and nothing runs after it.
            None => unreachable!("a connection's client is taken only when it is dropped"),
        }
    }

    /// Runs `sql` with `params`, preparing it (with the given types) on first use on this
    /// connection. A statement invalidated by a schema change is prepared again once.
    pub(crate) fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.0).collect();
        match self.run(sql, params, &values) {
            Err(e) if is_stale(&e) => {
                self.statements.clear();
                self.run(sql, params, &values)
            }
            other => other,
        }
    }

    /// Runs `sql` with `values`, the parameter types inferred by the server (a user's
    /// statement in a view's transaction); prepared once per connection.
    pub(crate) fn query_inferred(
        &mut self,
        sql: &str,
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        let statement = self.prepared(sql)?;
        self.client().query(&statement, values)
    }

    /// As [`query_inferred`](Self::query_inferred), for a statement without rows: the number
    /// of rows it changed.
    pub(crate) fn execute_inferred(
        &mut self,
        sql: &str,
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, DbError> {
        let statement = self.prepared(sql)?;
        self.client().execute(&statement, values)
    }

    pub(crate) fn prepared(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client().prepare_typed(sql, &[])?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn run(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        values: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        let statement = match self.statements.get(sql) {
            Some(statement) => statement.clone(),
            None => {
                let types: Vec<Type> = params.iter().map(|p| p.1.clone()).collect();
                let statement = self.client().prepare_typed(sql, &types)?;
                self.statements.insert(sql.to_owned(), statement.clone());
                statement
            }
        };
        self.client().query(&statement, values)
    }
}

/// "cached plan must not change result type" (0A000) or an unknown prepared statement (26000):
/// the table changed under the statement.
fn is_stale(e: &DbError) -> bool {
    e.code()
        .is_some_and(|c| matches!(c.code(), "0A000" | "26000"))
}

/// Opens connections with the session settings.
pub(crate) struct Manager {
    pub(crate) config: tokio_postgres::Config,
    /// Session settings run on each new connection (timeouts).
    pub(crate) setup: String,
    /// What the pool's connections have seen of the server.
    pub(crate) watch: Arc<Watch>,
    /// TLS as configured.
    pub(crate) tls: MakeRustlsConnect,
    /// The deadline of every call on a connection (`None`: without limit).
    pub(crate) deadline: Option<Duration>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = ConnectError;

    /// Opens a connection for the pool. r2d2's own error handler is off (see `build_pool`):
    /// an outage is one error line when it starts and one line when it ends, not a line per
    /// attempt.
    fn connect(&self) -> Result<Conn, ConnectError> {
        let started = self.watch.opening();
        let connected = self.open();
        let failure = connected
            .as_ref()
            .err()
            .map(|e| (connect_problem(e, &self.config), e.to_string()));
        self.watch.opened(started, failure);
        connected
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnectError> {
        Ok(conn.client().simple_query("").map(drop)?)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client().is_closed()
    }
}

impl Manager {
    /// A new connection with the session settings applied and its server session known.
    pub(crate) fn open(&self) -> Result<Conn, ConnectError> {
        probe(&self.config).map_err(ConnectError::Silent)?;
        let mut client = Client::connect(
            &self.config,
            self.tls.clone(),
            self.deadline,
            Arc::clone(&self.watch),
        )?;
        let replies = client.simple_query(&format!(
            "{}; SELECT pid, backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            self.setup
        ))?;
        let session = replies.iter().find_map(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => Some(Session {
                pid: row.get(0)?.parse().ok()?,
                started: row.get(1)?.to_owned(),
            }),
            _ => None,
        });
        Ok(Conn {
            client: Some(client),
            statements: HashMap::new(),
            session,
        })
    }
}
