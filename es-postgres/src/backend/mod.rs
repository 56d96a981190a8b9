//! [`PostgresBackend`]: one application's tables and the pool they are reached through; opening
//! them, running calls on pooled connections, and the reads. The write paths are in the
//! submodules: [`write`] (one caller), [`group_commit`] (concurrent callers), [`lost_ack`]
//! (settling a write whose acknowledgement was lost) and [`listen`] (NOTIFY wake-ups).

mod checkout;
mod group_commit;
mod leases;
mod listen;
mod lost_ack;
mod reader;
mod write;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use es_core::backend::{Backend, from_i64};
use es_core::persistence::wake::Notifier;
use es_core::{
    Error, EventQuery, Notification, NotificationId, NotificationQuery, Result, StoredEvent,
    TablePrefix, Tracking, Uuid,
};
use postgres::Row;
use postgres::types::{ToSql, Type};

use crate::combiner::{Combiner, Insert};
use crate::config::PostgresConfig;
use crate::connect::map_connect_error;
use crate::error::{Call, Failed, map_pg_error};
use crate::pool::{Conn, Manager};
use crate::runtime::blocking;
use crate::sql::{Kind, Sql};
use crate::watch::Watch;

type Pool = r2d2::Pool<Manager>;
pub(crate) type PooledConn = r2d2::PooledConnection<Manager>;

/// The longest delay between two attempts to open a connection while the server cannot be
/// reached: a server that returns (a restart, a promoted standby) is used within this long.
/// r2d2 doubles the delay from 200 ms up to half its `connection_timeout`; left at the connect
/// timeout (30 s by default), writes would resume up to 15 s after the server was back.
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// The pool of `manager`'s connections, sized and aged as `config` says; it opens them lazily.
fn build_pool(config: &PostgresConfig, manager: Manager) -> Pool {
    r2d2::Pool::builder()
        .max_size(config.pool_size + config.max_overflow)
        .min_idle(Some(0))
        // Every wait for a connection names its own timeout: r2d2 uses this one only to cap
        // the delay between its attempts to open a connection after a failure.
        .connection_timeout(2 * MAX_RECONNECT_DELAY)
        .max_lifetime(config.conn_max_age)
        .test_on_check_out(config.pre_ping)
        // The manager logs outages itself, once each (r2d2's handler logs every attempt).
        .error_handler(Box::new(r2d2::NopErrorHandler))
        .build_unchecked(manager)
}

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// The TLS connector (it shows nothing of itself).
#[derive(Clone)]
pub(crate) struct Tls(pub(crate) tokio_postgres_rustls::MakeRustlsConnect);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

/// One application's tables in a PostgreSQL schema, with its connection pool: what every
/// PostgreSQL recorder and view is a handle on.
#[derive(Debug)]
pub struct PostgresBackend {
    pub(crate) pool: Pool,
    pub(crate) sql: Sql,
    pub(crate) lock_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    /// How long a request waits for a connection while opening one fails.
    outage_timeout: Duration,
    client_config: tokio_postgres::Config,
    /// TLS as configured, for the LISTEN connection.
    tls: Tls,
    listener: OnceLock<()>,
    combiner: Combiner,
    /// The pool's last failure to open a connection.
    watch: Arc<Watch>,
    max_state_size: usize,
    /// How many group inserts ran (diagnostics).
    pub(crate) groups: AtomicU64,
    /// Notified after each commit of events through this recorder.
    pub(crate) events: Notifier,
    /// Notified after each commit of tracking through this recorder.
    pub(crate) tracking: Notifier,
    /// The pool of `POSTGRES_READ_HOST` that the notification log is read from, if set.
    reader: Option<reader::Reader>,
}

impl PostgresBackend {
    pub(crate) fn open(config: &PostgresConfig, app: &str, kind: Kind) -> Result<Arc<Self>> {
        let schema = TablePrefix::schema(&config.schema)?;
        Self::open_sql(config, Sql::new(&schema, &TablePrefix::new(app)?, kind)?)
    }

    /// Opens the pool of `config` for the statements of `sql`, running its DDL unless
    /// `config.create_table` is off.
    pub(crate) fn open_sql(config: &PostgresConfig, sql: Sql) -> Result<Arc<Self>> {
        let setup = format!(
            "SET idle_in_transaction_session_timeout = '{}ms'; SET lock_timeout = '{}ms'; \
             SET statement_timeout = '{}ms'",
            millis(config.idle_in_transaction_session_timeout),
            millis(config.lock_timeout),
            millis(config.statement_timeout)
        );
        if config.connect_timeout.is_zero() {
            return Err(Error::config(
                "POSTGRES_CONNECT_TIMEOUT",
                "the connect timeout must be positive",
            ));
        }
        let client_config = config.client_config();
        let manager = Manager {
            watch: Arc::new(Watch::new(&client_config)),
            config: client_config,
            setup,
            tls: config.tls.connector()?,
            deadline: config.call_deadline(),
        };
        let tls = manager.tls.clone();
        // The first connection now, so that a wrong password, database, host or port fails
        // here, at once, saying which; it creates the tables when that is asked for.
        blocking(|| {
            let mut first = manager
                .open()
                .map_err(|e| map_connect_error(e, &manager.config))?;
            if config.create_table {
                // One transaction; on failure the connection is dropped, and with it the
                // transaction.
                for step in ["BEGIN", &sql.create, "COMMIT"] {
                    first
                        .client()
                        .simple_query(step)
                        .map_err(|e| map_pg_error(e, Call::Write, config.lock_timeout))?;
                }
            }
            Ok::<_, Error>(())
        })?;
        let reader = blocking(|| reader::Reader::open(config, &manager))?;
        let watch = Arc::clone(&manager.watch);
        let pool = build_pool(config, manager);
        let backend = Self {
            pool,
            sql,
            lock_timeout: config.lock_timeout,
            connect_timeout: config.connect_timeout,
            outage_timeout: config.outage_timeout,
            client_config: config.client_config(),
            tls: Tls(tls),
            listener: OnceLock::new(),
            combiner: Combiner::default(),
            watch,
            max_state_size: config.max_state_size,
            groups: AtomicU64::new(0),
            events: Notifier::new(),
            tracking: Notifier::new(),
            reader,
        };
        Ok(Arc::new(backend))
    }

    /// Runs `f` on a pooled connection. A connection found closed before anything is sent is
    /// replaced; a read whose connection is lost is retried once on a fresh connection. A write
    /// whose connection is lost is [`Error::OutcomeUnknown`] (it may have committed); see
    /// [`PostgresBackend::settle`].
    pub(crate) fn with<T>(
        &self,
        call: Call,
        f: impl FnMut(&mut Conn) -> Result<T, crate::client::DbError>,
    ) -> Result<T> {
        self.attempt(call, f).map_err(|failed| failed.error)
    }

    /// [`PostgresBackend::with`], keeping the session that ran a write whose outcome is unknown.
    pub(crate) fn attempt<T>(
        &self,
        call: Call,
        f: impl FnMut(&mut Conn) -> Result<T, crate::client::DbError>,
    ) -> Result<T, Failed> {
        self.attempt_on(&self.pool, &self.watch, call, f)
    }

    /// `SHOW name` on a pooled connection.
    pub(crate) fn show(&self, name: &str) -> Result<String> {
        blocking(|| self.show_here(name))
    }

    fn show_here(&self, name: &str) -> Result<String> {
        let name = TablePrefix::new(name)?;
        let rows = self.with(Call::Read, |c| {
            c.client().simple_query(&format!("SHOW {name}"))
        })?;
        rows.iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| Error::programming(format!("no value for the setting {name}")))
    }
}

impl Backend for PostgresBackend {
    /// Starts the LISTEN thread (once), which wakes subscriptions on NOTIFY.
    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        self.listen(&self.sql.log()?.channel);
        Ok(())
    }

    /// Inserts `events` and `tracking` in one statement (one round trip, one transaction).
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        blocking(|| {
            let ids = match &self.sql.log {
                None => self.insert_direct(events, tracking),
                Some(log) => self.combiner.run(
                    || Insert {
                        events: events.to_vec(),
                        tracking: tracking.cloned(),
                    },
                    || self.insert_direct(events, tracking),
                    |group| self.insert_many(log, group),
                    || Err(Error::programming("caller missing from its group")),
                ),
            }?;
            if !events.is_empty() {
                self.events.notify();
            }
            if tracking.is_some() {
                self.tracking.notify();
            }
            Ok(ids)
        })
    }

    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        blocking(|| self.write_tracking(tracking))
    }

    fn select_events(&self, id: Uuid, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        blocking(|| {
            let Some((gt, lte, limit)) = q.sql_bounds() else {
                return Ok(Vec::new());
            };
            let sql = self.sql.events()?;
            let text = if q.desc {
                &sql.select_desc
            } else {
                &sql.select_asc
            };
            let params: [(&(dyn ToSql + Sync), Type); 4] = [
                (&id, Type::UUID),
                (&gt, Type::INT8),
                (&lte, Type::INT8),
                (&limit, Type::INT8),
            ];
            let rows = self.with(Call::Read, |c| c.query(text, &params))?;
            rows.iter()
                .map(|row| {
                    let version: i64 = get(row, 0)?;
                    Ok(StoredEvent {
                        originator_id: id,
                        originator_version: from_i64(version, "originator_version")?,
                        topic: get(row, 1)?,
                        state: get(row, 2)?,
                    })
                })
                .collect()
        })
    }

    fn select_notifications(&self, q: &NotificationQuery) -> Result<Vec<Notification>> {
        blocking(|| {
            let log = self.sql.log()?;
            let Some((first, stop, limit)) = q.sql_bounds() else {
                return Ok(Vec::new());
            };
            let rows = if q.topics.is_empty() {
                let params: [(&(dyn ToSql + Sync), Type); 3] = [
                    (&first, Type::INT8),
                    (&stop, Type::INT8),
                    (&limit, Type::INT8),
                ];
                self.read_log(|c| c.query(&log.select_notifications, &params))?
            } else {
                let params: [(&(dyn ToSql + Sync), Type); 4] = [
                    (&first, Type::INT8),
                    (&stop, Type::INT8),
                    (&limit, Type::INT8),
                    (&q.topics, Type::TEXT_ARRAY),
                ];
                self.read_log(|c| c.query(&log.select_notifications_topics, &params))?
            };
            rows.iter()
                .map(|row| {
                    let id: i64 = get(row, 0)?;
                    let version: i64 = get(row, 2)?;
                    Ok(Notification {
                        id: from_i64(id, "notification_id")?,
                        originator_id: get(row, 1)?,
                        originator_version: from_i64(version, "originator_version")?,
                        topic: get(row, 3)?,
                        state: get(row, 4)?,
                    })
                })
                .collect()
        })
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        blocking(|| {
            let sql = &self.sql.log()?.max_notification_id;
            let rows = self.with(Call::Read, |c| c.query(sql, &[]))?;
            let max: Option<i64> = match rows.first() {
                Some(row) => get(row, 0)?,
                None => None,
            };
            max.map(|m| from_i64(m, "notification_id")).transpose()
        })
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        blocking(|| {
            let params: [(&(dyn ToSql + Sync), Type); 1] = [(&application_name, Type::TEXT)];
            let sql = &self.sql.tracking.max;
            let rows = self.with(Call::Read, |c| c.query(sql, &params))?;
            match rows.first() {
                Some(row) => from_i64(get(row, 0)?, "notification_id").map(Some),
                None => Ok(None),
            }
        })
    }

    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        blocking(|| self.acquire_lease_here(name, holder, ttl))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        blocking(|| self.release_lease_here(name, holder))
    }

    fn leases(&self, prefix: &str) -> Result<Vec<es_core::Lease>> {
        blocking(|| self.leases_here(prefix))
    }

    fn events_notifier(&self) -> &Notifier {
        &self.events
    }

    fn tracking_notifier(&self) -> &Notifier {
        &self.tracking
    }

    fn max_state_size(&self) -> usize {
        self.max_state_size
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(crate::config::POLL_INTERVAL)
    }

    fn reads_ahead(&self) -> bool {
        true
    }
}

pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| Error::Data {
        source: Box::new(e),
    })
}
