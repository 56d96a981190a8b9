//! [`Watch`]: what one pool's connections have seen of the server, shared by the pool's manager,
//! its connections and its callers. It tells a caller when the server is out of reach (the last
//! attempt to open a connection failed, an attempt has had no answer for a while, or calls
//! expire), so that requests fail after `POSTGRES_OUTAGE_TIMEOUT` instead of the connect
//! timeout; and it logs each outage twice, when it starts and when it ends, never once per
//! attempt or per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use es_core::sync::lock;
use es_core::{ConnectProblem, Error, TimeoutKind};

/// One pool's view of the server.
#[derive(Debug)]
pub(crate) struct Watch {
    /// The server's port, for the log lines.
    port: u16,
    /// The last failure to open a connection, kept so that a pool timeout can say why no
    /// connection could be had; cleared by the next success.
    last: Mutex<Option<(ConnectProblem, String)>>,
    /// Failed attempts to open a connection since the last success.
    failures: AtomicU64,
    /// When each attempt in progress started.
    pending: Mutex<Vec<Instant>>,
    /// Calls that expired since the server last answered one.
    expired: AtomicU64,
}

impl Watch {
    pub(crate) fn new(config: &tokio_postgres::Config) -> Self {
        Self {
            port: config.get_ports().first().copied().unwrap_or(5432),
            last: Mutex::new(None),
            failures: AtomicU64::new(0),
            pending: Mutex::new(Vec::new()),
            expired: AtomicU64::new(0),
        }
    }

    /// An attempt to open a connection starts: returns its start, for [`Watch::opened`].
    pub(crate) fn opening(&self) -> Instant {
        let now = Instant::now();
        lock(&self.pending).push(now);
        now
    }

    /// The attempt that started at `started` ended: `failure` is why it failed, if it did.
    pub(crate) fn opened(&self, started: Instant, failure: Option<(ConnectProblem, String)>) {
        {
            let mut pending = lock(&self.pending);
            if let Some(i) = pending.iter().position(|p| *p == started) {
                pending.swap_remove(i);
            }
        }
        match &failure {
            Some((problem, message)) => {
                if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::error!(
                        target: "eventsourcing::postgres",
                        port = self.port,
                        problem = %problem,
                        error = %message,
                        "cannot open connections to the server: requests fail after \
                         POSTGRES_OUTAGE_TIMEOUT until it is back (logged again when it is)"
                    );
                }
            }
            None => {
                let failed = self.failures.swap(0, Ordering::Relaxed);
                if failed > 0 {
                    tracing::warn!(
                        target: "eventsourcing::postgres",
                        port = self.port,
                        failed_attempts = failed,
                        "connections open again after an outage"
                    );
                }
            }
        }
        *lock(&self.last) = failure;
    }

    /// A call on a connection had no answer within `waited`.
    pub(crate) fn expired(&self, waited: Duration) {
        if self.expired.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::error!(
                target: "eventsourcing::postgres",
                port = self.port,
                waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                "the server did not answer a call within its deadline: calls fail after \
                 POSTGRES_STATEMENT_TIMEOUT until it answers (logged again when it does)"
            );
        }
    }

    /// A call on a connection was answered.
    pub(crate) fn answered(&self) {
        if self.expired.load(Ordering::Relaxed) > 0 {
            let expired = self.expired.swap(0, Ordering::Relaxed);
            if expired > 0 {
                tracing::warn!(
                    target: "eventsourcing::postgres",
                    port = self.port,
                    expired_calls = expired,
                    "the server answers calls again after calls that expired"
                );
            }
        }
    }

    /// True while the server seems out of reach: the last attempt to open a connection failed,
    /// an attempt in progress has had no answer for `patience` (a server that accepts
    /// connections and then stays silent), or the last call that ended expired.
    pub(crate) fn failing(&self, patience: Duration) -> bool {
        lock(&self.last).is_some()
            || self.expired.load(Ordering::Relaxed) > 0
            || self.stalled().is_some_and(|s| s >= patience)
    }

    /// How long the oldest attempt in progress has been waiting.
    fn stalled(&self) -> Option<Duration> {
        lock(&self.pending).iter().map(Instant::elapsed).max()
    }

    /// Maps a pool error: no connection could be had within `waited`. When the last attempt to
    /// open one failed, or an attempt has had no answer for `patience`, that is the cause, and
    /// the error says why; otherwise every connection was busy.
    pub(crate) fn pool_error(&self, waited: Duration, patience: Duration) -> Error {
        if let Some((problem, message)) = lock(&self.last).clone() {
            return Error::Connect {
                problem,
                source: format!("{message} (no connection within {waited:?})").into(),
            };
        }
        match self.stalled().filter(|s| *s >= patience) {
            Some(stalled) => Error::Connect {
                problem: ConnectProblem::TimedOut,
                source: format!(
                    "the server has not answered an attempt to open a connection for \
                     {stalled:?} (no connection within {waited:?})"
                )
                .into(),
            },
            None => Error::Timeout {
                kind: TimeoutKind::Pool,
                waited,
            },
        }
    }
}
