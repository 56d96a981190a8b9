//! [`Client`]: the pool's connections, tokio-postgres driven by a runtime of their own (as the
//! `postgres` crate does) with a client-side deadline on every call.
//!
//! The server cancels a statement that runs past `statement_timeout`, but only a server that
//! answers can: one that freezes, or a proxy or network path that stops carrying bytes while
//! the TCP connection stays up, would leave a call blocked without end (the kernel keeps
//! acknowledging, so neither keepalives nor `TCP_USER_TIMEOUT` fire). Here every call gives up
//! after the statement timeout plus [`MARGIN`]: the call fails with [`DbError::Deadline`] (a
//! write's outcome is then unknown), and the connection is abandoned, never reused, since its
//! answer may still come. The first expired call after a success is logged at error level with
//! the port, and the next success after it at warn level, so an outage is two lines, not one
//! per request.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Config, Row, SimpleQueryMessage, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::connect::ConnectError;
use crate::probe::Silent;
use crate::watch::Watch;

/// How much longer than the server's `statement_timeout` a call waits before giving up: the
/// server's own cancel (a clear "canceling statement" error, and nothing committed) comes
/// first whenever the server answers.
pub(crate) const MARGIN: Duration = Duration::from_secs(1);

/// A statement sent and not yet answered.
type Pending<'a> = std::pin::Pin<Box<dyn Future<Output = Result<u64, tokio_postgres::Error>> + 'a>>;

/// Polls every future until all are done (the first error ends it): each sends its request
/// when first polled, so they are all on the wire before any answer is awaited.
async fn all(mut futures: Vec<Pending<'_>>) -> Result<(), tokio_postgres::Error> {
    std::future::poll_fn(move |cx| {
        let mut waiting = false;
        let mut i = 0;
        while i < futures.len() {
            match futures[i].as_mut().poll(cx) {
                std::task::Poll::Ready(Ok(_)) => {
                    drop(futures.swap_remove(i));
                }
                std::task::Poll::Ready(Err(e)) => return std::task::Poll::Ready(Err(e)),
                std::task::Poll::Pending => {
                    waiting = true;
                    i += 1;
                }
            }
        }
        if waiting {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(Ok(()))
        }
    })
    .await
}

/// A call's failure: the driver's error, or no answer within the deadline.
#[derive(Debug)]
pub(crate) enum DbError {
    /// The driver's error (the server's, or the connection's).
    Driver(tokio_postgres::Error),
    /// No answer within this long; the connection is abandoned.
    Deadline(Duration),
}

impl DbError {
    /// The SQLSTATE, when the server answered with an error.
    pub(crate) fn code(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            Self::Driver(e) => e.code(),
            Self::Deadline(_) => None,
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Driver(e) => e.fmt(f),
            Self::Deadline(waited) => write!(
                f,
                "the server did not answer within {waited:?} (POSTGRES_STATEMENT_TIMEOUT plus \
                 {MARGIN:?}); the connection was abandoned"
            ),
        }
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Driver(e) => Some(e),
            Self::Deadline(_) => None,
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self::Driver(e)
    }
}

impl From<DbError> for ConnectError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Driver(e) => Self::Driver(e),
            DbError::Deadline(waited) => Self::Silent(Silent { waited }),
        }
    }
}

/// A connection: the driver's client, and what runs its calls.
pub(crate) struct Client {
    client: tokio_postgres::Client,
    calls: Calls,
}

/// The runtime that drives a connection, and the deadline of its calls.
struct Calls {
    runtime: Runtime,
    /// No call waits longer than this (`None`: without limit).
    deadline: Option<Duration>,
    /// A call expired: the connection may still carry its answer, so it is never used again.
    abandoned: bool,
    watch: Arc<Watch>,
}

impl Calls {
    /// Blocks on `call` until it answers or the deadline passes.
    fn run<T>(
        &mut self,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, DbError> {
        let Some(deadline) = self.deadline else {
            return Ok(self.runtime.block_on(call)?);
        };
        match self
            .runtime
            .block_on(async { tokio::time::timeout(deadline, call).await })
        {
            Ok(answer) => {
                self.watch.answered();
                Ok(answer?)
            }
            Err(_) => {
                self.abandoned = true;
                self.watch.expired(deadline);
                Err(DbError::Deadline(deadline))
            }
        }
    }
}

impl Client {
    /// Opens a connection, waiting at most the connect timeout for the whole handshake (TCP,
    /// TLS, authentication). Its calls wait at most `deadline`.
    pub(crate) fn connect(
        config: &Config,
        tls: MakeRustlsConnect,
        deadline: Option<Duration>,
        watch: Arc<Watch>,
    ) -> Result<Self, ConnectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ConnectError::Runtime)?;
        let limit = config.get_connect_timeout().copied();
        let (client, connection) = runtime.block_on(async {
            match limit {
                Some(limit) => tokio::time::timeout(limit, config.connect(tls))
                    .await
                    .map_err(|_| ConnectError::Silent(Silent { waited: limit }))?,
                None => config.connect(tls).await,
            }
            .map_err(ConnectError::Driver)
        })?;
        // Driven while a call blocks on the runtime; ends when the socket closes.
        runtime.spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            client,
            calls: Calls {
                runtime,
                deadline,
                abandoned: false,
                watch,
            },
        })
    }

    /// Prepares `sql` with the given parameter types.
    pub(crate) fn prepare_typed(
        &mut self,
        sql: &str,
        types: &[Type],
    ) -> Result<Statement, DbError> {
        self.calls.run(self.client.prepare_typed(sql, types))
    }

    /// Runs a prepared statement.
    pub(crate) fn query(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        self.calls.run(self.client.query(statement, params))
    }

    /// Runs a prepared statement that returns no rows: the number of rows it changed.
    pub(crate) fn execute(
        &mut self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, DbError> {
        self.calls.run(self.client.execute(statement, params))
    }

    /// Runs prepared statements pipelined: every request is sent before the first answer is
    /// awaited, so the batch costs one round trip, not one per statement.
    pub(crate) fn execute_pipelined(
        &mut self,
        calls: &[(Statement, Vec<&(dyn ToSql + Sync)>)],
    ) -> Result<(), DbError> {
        let client = &self.client;
        let futures: Vec<Pending<'_>> = calls
            .iter()
            .map(|(statement, params)| Box::pin(client.execute(statement, params)) as Pending<'_>)
            .collect();
        self.calls.run(all(futures))
    }

    /// Runs `sql` in the simple protocol (no parameters; several statements allowed).
    pub(crate) fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleQueryMessage>, DbError> {
        self.calls.run(self.client.simple_query(sql))
    }

    /// True when the connection is closed, or was abandoned after a call expired.
    ///
    /// The connection is driven only while a call blocks on its runtime, so what arrived while
    /// it idled in the pool (the server's notice that it terminated the session, say) is read
    /// first: a few turns of the runtime, without waiting on the network.
    pub(crate) fn is_closed(&mut self) -> bool {
        if !self.calls.abandoned && !self.client.is_closed() {
            self.calls.runtime.block_on(async {
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
            });
        }
        self.calls.abandoned || self.client.is_closed()
    }
}
