//! [`Tables`]: one application's tables and the pool they are reached through.

use std::sync::{Arc, OnceLock, Weak};
use std::thread;
use std::time::Duration;

use es_core::signal::Notifier;
use es_core::{
    Error, EventQuery, Notification, NotificationId, NotificationQuery, RecorderStore, Result,
    StoredEvent, TablePrefix, Tracking, Uuid,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{NoTls, Row};

use crate::combine::{Combiner, Slot, share};
use crate::config::PostgresConfig;
use crate::error::{Call, TRACKING_CONFLICT, is_connection_loss, map_pg_error, map_pool_error};
use crate::pool::{Conn, Manager};
use crate::settle::Failed;
use crate::sql::{Kind, Sql};

type Pool = r2d2::Pool<Manager>;

fn millis(d: Duration) -> u128 {
    d.as_millis()
}

/// One application's tables.
#[derive(Debug)]
pub(crate) struct Tables {
    pub(crate) pool: Pool,
    pub(crate) sql: Sql,
    lock_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    client_config: postgres::Config,
    listener: OnceLock<()>,
    combiner: Combiner,
    max_state_size: usize,
    /// How many group inserts ran (diagnostics).
    pub(crate) groups: std::sync::atomic::AtomicU64,
    /// Notified after each commit of events through this recorder.
    pub(crate) events: Notifier,
    /// Notified after each commit of tracking through this recorder.
    pub(crate) tracking: Notifier,
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::data(format!("{what} {value} exceeds PostgreSQL's bigint range")))
}

pub(crate) fn from_i64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value)
        .map_err(|_| Error::data(format!("negative {what} {value} in the database")))
}

impl Tables {
    pub(crate) fn open(config: &PostgresConfig, app: &str, kind: Kind) -> Result<Arc<Self>> {
        let schema = TablePrefix::new(&config.schema)?;
        let sql = Sql::new(&schema, &TablePrefix::new(app)?, kind)?;
        let setup = format!(
            "SET idle_in_transaction_session_timeout = '{}ms'; SET lock_timeout = '{}ms'",
            millis(config.idle_in_transaction_session_timeout),
            millis(config.lock_timeout)
        );
        let manager = Manager {
            config: config.client_config(),
            setup,
        };
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size + config.max_overflow)
            .min_idle(Some(0))
            .connection_timeout(config.connect_timeout)
            .max_lifetime(config.conn_max_age)
            .test_on_check_out(config.pre_ping)
            .build_unchecked(manager);
        let tables = Self {
            pool,
            sql,
            lock_timeout: config.lock_timeout,
            connect_timeout: config.connect_timeout,
            client_config: config.client_config(),
            listener: OnceLock::new(),
            combiner: Combiner::default(),
            max_state_size: config.max_state_size,
            groups: std::sync::atomic::AtomicU64::new(0),
            events: Notifier::new(),
            tracking: Notifier::new(),
        };
        if config.create_table {
            tables.with(Call::Write, |c| {
                let mut tx = c.client.transaction()?;
                tx.batch_execute(&tables.sql.create)?;
                tx.commit()
            })?;
        }
        Ok(Arc::new(tables))
    }

    /// Runs `f` on a pooled connection. A connection found closed before anything is sent is
    /// replaced; a read whose connection is lost is retried once on a fresh connection. A write
    /// whose connection is lost is [`Error::OutcomeUnknown`] (it may have committed); see
    /// [`Tables::settle`].
    pub(crate) fn with<T>(
        &self,
        call: Call,
        f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        self.attempt(call, f).map_err(|failed| failed.error)
    }

    /// [`Tables::with`], keeping the session that ran a write whose outcome is unknown.
    pub(crate) fn attempt<T>(
        &self,
        call: Call,
        mut f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T, Failed> {
        let mut tries = 0;
        loop {
            tries += 1;
            let mut conn = self.pool.get().map_err(|e| Failed {
                error: map_pool_error(e, self.connect_timeout),
                session: None,
            })?;
            if conn.client.is_closed() && tries < 3 {
                // Closed while idle in the pool; nothing was sent. The pool drops it.
                continue;
            }
            match f(&mut conn) {
                Ok(v) => return Ok(v),
                Err(e) if tries == 1 && call == Call::Read && is_connection_loss(&e) => {}
                Err(e) => {
                    let error = map_pg_error(e, call, self.lock_timeout);
                    let session = if error.is_outcome_unknown() {
                        conn.session.clone()
                    } else {
                        None
                    };
                    return Err(Failed { error, session });
                }
            }
        }
    }

    /// `SHOW name` on a pooled connection.
    pub(crate) fn show(&self, name: &str) -> Result<String> {
        let name = TablePrefix::new(name)?;
        let rows = self.with(Call::Read, |c| {
            c.client.simple_query(&format!("SHOW {name}"))
        })?;
        rows.iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| Error::programming(format!("no value for the setting {name}")))
    }

    /// One caller's insert: one statement, one round trip; a lost acknowledgement is settled.
    fn insert_direct(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        self.insert_once(events, tracking).or_else(|failed| {
            self.settle(failed, events, tracking, || {
                self.insert_once(events, tracking).map_err(|f| f.error)
            })
        })
    }

    /// One caller's insert, sent once.
    pub(crate) fn insert_once(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>, Failed> {
        let mut ids = Vec::with_capacity(events.len());
        let mut versions = Vec::with_capacity(events.len());
        let mut topics = Vec::with_capacity(events.len());
        let mut states = Vec::with_capacity(events.len());
        for e in events {
            ids.push(e.originator_id);
            versions
                .push(to_i64(e.originator_version, "originator_version").map_err(Failed::from)?);
            topics.push(e.topic.as_str());
            states.push(e.state.as_slice());
        }
        let t_app = tracking.map(|t| t.application_name.as_str());
        let t_id = tracking
            .map(|t| to_i64(t.notification_id, "notification_id"))
            .transpose()?;
        let params: [(&(dyn ToSql + Sync), Type); 6] = [
            (&ids, Type::UUID_ARRAY),
            (&versions, Type::INT8_ARRAY),
            (&topics, Type::TEXT_ARRAY),
            (&states, Type::BYTEA_ARRAY),
            (&t_app, Type::TEXT),
            (&t_id, Type::INT8),
        ];
        let rows = self
            .attempt(Call::Write, |c| c.query(&self.sql.insert, &params))
            .map_err(|failed| match (failed.error, tracking) {
                (Error::Internal { source }, Some(t))
                    if source
                        .downcast_ref::<postgres::Error>()
                        .and_then(postgres::Error::code)
                        .is_some_and(|c| c.code() == TRACKING_CONFLICT) =>
                {
                    Error::tracking_conflict(&t.application_name, t.notification_id).into()
                }
                (error, _) => Failed {
                    error,
                    session: failed.session,
                },
            })?;
        let ids: Result<Vec<NotificationId>> = rows
            .iter()
            .map(|row| from_i64(get(row, 0)?, "notification_id"))
            .collect();
        Ok(ids?)
    }

    /// Several callers' inserts in one statement, each in its own subtransaction.
    fn insert_many(&self, group: &[Arc<Slot>]) -> Vec<Result<Vec<NotificationId>>> {
        self.groups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut results: Vec<Option<Result<Vec<NotificationId>>>> = Vec::with_capacity(group.len());
        let (mut ids, mut versions, mut topics, mut states) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut ends, mut t_apps, mut t_ids, mut callers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, slot) in group.iter().enumerate() {
            let converted: Result<Vec<i64>> = slot
                .events
                .iter()
                .map(|e| to_i64(e.originator_version, "originator_version"))
                .collect();
            let t_id = slot
                .tracking
                .as_ref()
                .map(|t| to_i64(t.notification_id, "notification_id"))
                .transpose();
            match (converted, t_id) {
                (Ok(v), Ok(t_id)) => {
                    results.push(None);
                    callers.push(i);
                    versions.extend(v);
                    for e in &slot.events {
                        ids.push(e.originator_id);
                        topics.push(e.topic.as_str());
                        states.push(e.state.as_slice());
                    }
                    ends.push(i32::try_from(ids.len()).unwrap_or(i32::MAX));
                    t_apps.push(slot.tracking.as_ref().map(|t| t.application_name.as_str()));
                    t_ids.push(t_id);
                }
                (Err(e), _) | (_, Err(e)) => results.push(Some(Err(e))),
            }
        }
        if !callers.is_empty() {
            let params: [(&(dyn ToSql + Sync), Type); 7] = [
                (&ids, Type::UUID_ARRAY),
                (&versions, Type::INT8_ARRAY),
                (&topics, Type::TEXT_ARRAY),
                (&states, Type::BYTEA_ARRAY),
                (&ends, Type::INT4_ARRAY),
                (&t_apps, Type::TEXT_ARRAY),
                (&t_ids, Type::INT8_ARRAY),
            ];
            match self.attempt(Call::Write, |c| c.query(&self.sql.insert_many, &params)) {
                Err(failed) => {
                    for &i in &callers {
                        let slot = &group[i];
                        let own = Failed {
                            error: share(&failed.error),
                            session: failed.session.clone(),
                        };
                        let tracking = slot.tracking.as_ref();
                        results[i] = Some(self.settle(own, &slot.events, tracking, || {
                            self.insert_once(&slot.events, tracking)
                                .map_err(|f| f.error)
                        }));
                    }
                }
                Ok(rows) => {
                    let mut per: Vec<Result<Vec<NotificationId>>> =
                        callers.iter().map(|_| Ok(Vec::new())).collect();
                    for row in &rows {
                        let caller: i32 = row.try_get(0).unwrap_or(0);
                        let Some(k) = usize::try_from(caller).ok().and_then(|c| c.checked_sub(1))
                        else {
                            continue;
                        };
                        let Some(slot_result) = per.get_mut(k) else {
                            continue;
                        };
                        let failure: Option<String> = row.try_get(2).unwrap_or(None);
                        match failure.as_deref() {
                            Some(TRACKING_CONFLICT) => {
                                let t = group[callers[k]].tracking.as_ref();
                                *slot_result = Err(t.map_or_else(
                                    || Error::programming("tracking conflict without tracking"),
                                    |t| {
                                        Error::tracking_conflict(
                                            &t.application_name,
                                            t.notification_id,
                                        )
                                    },
                                ));
                            }
                            Some(_) => {
                                *slot_result = Err(Error::VersionConflict {
                                    source: "an event of the batch is already recorded or repeated"
                                        .into(),
                                });
                            }
                            None => {
                                let id: Option<i64> = row.try_get(1).unwrap_or(None);
                                if let (Ok(list), Some(id)) = (slot_result.as_mut(), id) {
                                    match from_i64(id, "notification_id") {
                                        Ok(id) => list.push(id),
                                        Err(e) => *slot_result = Err(e),
                                    }
                                }
                            }
                        }
                    }
                    for (k, r) in per.into_iter().enumerate() {
                        results[callers[k]] = Some(r);
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(Error::programming("caller missing from group result")))
            })
            .collect()
    }
}

impl RecorderStore for Tables {
    /// Starts, once, a thread that LISTENs on the table's channel and wakes this recorder's
    /// subscriptions on each NOTIFY, whoever inserted (another recorder, another process). It
    /// reconnects after failures and ends soon after the tables are dropped. Subscriptions poll
    /// as well, so a lost NOTIFY or a dead listener delays them by at most the poll interval.
    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        self.listener.get_or_init(|| {
            let tables = Arc::downgrade(self);
            let config = self.client_config.clone();
            let listen = format!("LISTEN \"{}\"", self.sql.channel);
            // Without the thread, subscriptions still poll; nothing to report.
            let _ = thread::Builder::new()
                .name("es-postgres-listen".to_owned())
                .spawn(move || listen_loop(&tables, &config, &listen));
        });
        Ok(())
    }

    /// Inserts `events` and `tracking` in one statement (one round trip, one transaction).
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        let ids = if self.sql.insert_many.is_empty() {
            self.insert_direct(events, tracking)
        } else {
            self.combiner.run(
                events,
                tracking,
                || self.insert_direct(events, tracking),
                |group| self.insert_many(group),
            )
        }?;
        if !events.is_empty() {
            self.events.notify();
        }
        if tracking.is_some() {
            self.tracking.notify();
        }
        Ok(ids)
    }

    fn insert_tracking(&self, t: &Tracking) -> Result<()> {
        let id = to_i64(t.notification_id, "notification_id")?;
        let params: [(&(dyn ToSql + Sync), Type); 2] =
            [(&t.application_name, Type::TEXT), (&id, Type::INT8)];
        let rows = match self.attempt(Call::Write, |c| c.query(&self.sql.upsert_tracking, &params))
        {
            Ok(rows) => rows,
            Err(failed) => {
                let tracking = Some(t);
                self.settle(failed, &[], tracking, || {
                    self.with(Call::Write, |c| c.query(&self.sql.upsert_tracking, &params))
                        .and_then(|rows| match rows.is_empty() {
                            true => Err(Error::tracking_conflict(
                                &t.application_name,
                                t.notification_id,
                            )),
                            false => Ok(Vec::new()),
                        })
                })?;
                self.tracking.notify();
                return Ok(());
            }
        };
        if rows.is_empty() {
            return Err(Error::tracking_conflict(
                &t.application_name,
                t.notification_id,
            ));
        }
        self.tracking.notify();
        Ok(())
    }

    fn select_events(&self, id: Uuid, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let gt = match q.gt {
            Some(gt) if gt >= i64::MAX.unsigned_abs() => return Ok(Vec::new()),
            Some(gt) => to_i64(gt, "gt")?,
            None => -1,
        };
        let lte = q
            .lte
            .map_or(i64::MAX, |v| i64::try_from(v).unwrap_or(i64::MAX));
        let limit = q
            .limit
            .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let text = if q.desc {
            &self.sql.select_desc
        } else {
            &self.sql.select_asc
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
    }

    fn select_notifications(&self, q: &NotificationQuery) -> Result<Vec<Notification>> {
        let Some((first, stop, limit)) = q.sql_bounds() else {
            return Ok(Vec::new());
        };
        let rows = if q.topics.is_empty() {
            let params: [(&(dyn ToSql + Sync), Type); 3] = [
                (&first, Type::INT8),
                (&stop, Type::INT8),
                (&limit, Type::INT8),
            ];
            self.with(Call::Read, |c| {
                c.query(&self.sql.select_notifications, &params)
            })?
        } else {
            let params: [(&(dyn ToSql + Sync), Type); 4] = [
                (&first, Type::INT8),
                (&stop, Type::INT8),
                (&limit, Type::INT8),
                (&q.topics, Type::TEXT_ARRAY),
            ];
            self.with(Call::Read, |c| {
                c.query(&self.sql.select_notifications_topics, &params)
            })?
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
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        let rows = self.with(Call::Read, |c| c.query(&self.sql.max_notification_id, &[]))?;
        let max: Option<i64> = match rows.first() {
            Some(row) => get(row, 0)?,
            None => None,
        };
        max.map(|m| from_i64(m, "notification_id")).transpose()
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        let params: [(&(dyn ToSql + Sync), Type); 1] = [(&application_name, Type::TEXT)];
        let rows = self.with(Call::Read, |c| c.query(&self.sql.max_tracking_id, &params))?;
        match rows.first() {
            Some(row) => from_i64(get(row, 0)?, "notification_id").map(Some),
            None => Ok(None),
        }
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
        Some(crate::recorder::POLL_INTERVAL)
    }
}

fn listen_loop(tables: &Weak<Tables>, config: &postgres::Config, listen: &str) {
    const TICK: Duration = Duration::from_millis(500);
    while tables.strong_count() > 0 {
        let connected = config.connect(NoTls).and_then(|mut client| {
            client.batch_execute(listen)?;
            Ok(client)
        });
        let Ok(mut client) = connected else {
            thread::sleep(TICK);
            continue;
        };
        // Wake subscribers once: notifications may have been missed while disconnected.
        if let Some(t) = tables.upgrade() {
            t.events.notify();
        }
        loop {
            let next = client.notifications().timeout_iter(TICK).next();
            let Some(t) = tables.upgrade() else { return };
            match next {
                Ok(Some(_)) => t.events.notify(),
                Err(_) => break,
                Ok(None) if client.is_closed() => break,
                Ok(None) => {}
            }
        }
    }
}

pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(|e| Error::Data {
        source: Box::new(e),
    })
}
