//! [`SqliteBackend`]: the operations every SQLite recorder type is built from.

use std::sync::Arc;
use std::time::Duration;

use es_core::backend::{Backend, from_i64, to_i64};
use es_core::persistence::wake::Notifier;
use es_core::{
    Error, EventQuery, Lease, Notification, NotificationId, NotificationQuery, Result, StoredEvent,
    Tracking, Uuid,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::config::SqliteConfig;
use crate::connections::Connections;
use crate::sql::{EventsSql, TrackingSql};

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Now, in milliseconds since the Unix epoch: the clock leases expire by (one machine's).
fn now_millis() -> Result<i64> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Error::Internal {
            source: Box::new(e),
        })?;
    to_i64(millis(since), "the time")
}

/// One application's tables in one SQLite database: what every SQLite recorder and view is a
/// handle on. Recorders of one database in one process share one writer connection, so their
/// writes queue in-process rather than on SQLite's busy handler.
#[derive(Debug)]
pub struct SqliteBackend {
    pub(crate) connections: Arc<Connections>,
    pub(crate) events: Option<EventsSql>,
    pub(crate) tracking: Option<TrackingSql>,
    max_state_size: usize,
}

fn uuid_of(bytes: &[u8]) -> Result<Uuid> {
    Uuid::from_slice(bytes).map_err(|e| Error::Data {
        source: Box::new(e),
    })
}

impl SqliteBackend {
    /// Opens the database of `config` and, unless `create_table` is off, creates the tables.
    pub(crate) fn open(
        config: &SqliteConfig,
        events: Option<EventsSql>,
        tracking: Option<TrackingSql>,
    ) -> Result<Arc<Self>> {
        let backend = Self {
            connections: Connections::open(config)?,
            events,
            tracking,
            max_state_size: config.max_state_size,
        };
        if config.create_table {
            backend.connections.write(|tx| {
                for sql in [
                    backend.events.as_ref().map(|e| e.create.as_str()),
                    backend.tracking.as_ref().map(|t| t.create.as_str()),
                ]
                .into_iter()
                .flatten()
                {
                    tx.execute_batch(sql)
                        .map_err(|e| backend.connections.map(e))?;
                }
                Ok(())
            })?;
        }
        Ok(Arc::new(backend))
    }

    fn events_sql(&self) -> Result<&EventsSql> {
        self.events
            .as_ref()
            .ok_or_else(|| Error::programming("this recorder has no events table"))
    }

    pub(crate) fn tracking_sql(&self) -> Result<&TrackingSql> {
        self.tracking
            .as_ref()
            .ok_or_else(|| Error::programming("this recorder has no tracking table"))
    }

    pub(crate) fn upsert_tracking(
        &self,
        tx: &Transaction<'_>,
        sql: &TrackingSql,
        t: &Tracking,
    ) -> Result<()> {
        let id = to_i64(t.notification_id, "notification_id")?;
        let first = to_i64(t.first_notification_id, "first_notification_id")?;
        let mut stmt = tx
            .prepare_cached(&sql.upsert)
            .map_err(|e| self.connections.map(e))?;
        let changed = stmt
            .execute(params![t.application_name, id, first])
            .map_err(|e| self.connections.map(e))?;
        if changed == 0 {
            return Err(Error::tracking_conflict(
                &t.application_name,
                t.notification_id,
            ));
        }
        Ok(())
    }

    fn query_notifications(
        &self,
        conn: &Connection,
        text: &str,
        values: Vec<Value>,
    ) -> Result<Vec<Notification>> {
        let map = |e| self.connections.map(e);
        let mut stmt = conn.prepare_cached(text).map_err(map)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(map)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map)? {
            out.push(self.notification(row)?);
        }
        Ok(out)
    }

    fn notification(&self, row: &Row<'_>) -> Result<Notification> {
        let map = |e| self.connections.map(e);
        let id: i64 = row.get(0).map_err(map)?;
        let originator: Vec<u8> = row.get(1).map_err(map)?;
        let version: i64 = row.get(2).map_err(map)?;
        Ok(Notification {
            id: from_i64(id, "notification_id")?,
            originator_id: uuid_of(&originator)?,
            originator_version: from_i64(version, "originator_version")?,
            topic: row.get(3).map_err(map)?,
            state: row.get(4).map_err(map)?,
        })
    }
}

impl Backend for SqliteBackend {
    /// Inserts `events` and `tracking` in one `BEGIN IMMEDIATE` transaction; returns the ids.
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        let sql = self.events_sql()?;
        let tracking_sql = match tracking {
            Some(_) => Some(self.tracking_sql()?),
            None => None,
        };
        let ids = self.connections.write(|tx| {
            if let (Some(t), Some(tsql)) = (tracking, tracking_sql) {
                self.upsert_tracking(tx, tsql, t)?;
            }
            let map = |e| self.connections.map(e);
            let mut stmt = tx.prepare_cached(&sql.insert).map_err(map)?;
            let mut ids = Vec::with_capacity(events.len());
            for e in events {
                let version = to_i64(e.originator_version, "originator_version")?;
                stmt.execute(params![
                    e.originator_id.as_bytes(),
                    version,
                    e.topic,
                    e.state
                ])
                .map_err(map)?;
                ids.push(from_i64(tx.last_insert_rowid(), "notification_id")?);
            }
            Ok(ids)
        })?;
        if !events.is_empty() {
            self.connections.events.notify();
        }
        if tracking.is_some() {
            self.connections.tracking.notify();
        }
        Ok(ids)
    }

    /// Records `tracking` alone.
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        let sql = self.tracking_sql()?;
        self.connections
            .write(|tx| self.upsert_tracking(tx, sql, tracking))?;
        self.connections.tracking.notify();
        Ok(())
    }

    fn select_events(&self, id: Uuid, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let sql = self.events_sql()?;
        let Some((gt, lte, limit)) = q.sql_bounds() else {
            return Ok(Vec::new());
        };
        let text = if q.desc {
            &sql.select_desc
        } else {
            &sql.select_asc
        };
        self.connections.read(|conn| {
            let map = |e| self.connections.map(e);
            let mut stmt = conn.prepare_cached(text).map_err(map)?;
            let mut rows = stmt
                .query(params![id.as_bytes(), gt, lte, limit])
                .map_err(map)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(map)? {
                let version: i64 = row.get(0).map_err(map)?;
                out.push(StoredEvent {
                    originator_id: id,
                    originator_version: from_i64(version, "originator_version")?,
                    topic: row.get(1).map_err(map)?,
                    state: row.get(2).map_err(map)?,
                });
            }
            Ok(out)
        })
    }

    fn select_notifications(&self, q: &NotificationQuery) -> Result<Vec<Notification>> {
        let sql = self.events_sql()?;
        let Some((first, stop, limit)) = q.sql_bounds() else {
            return Ok(Vec::new());
        };
        if q.topics.is_empty() {
            return self.connections.read(|conn| {
                let map = |e| self.connections.map(e);
                let mut stmt = conn
                    .prepare_cached(&sql.select_notifications_all)
                    .map_err(map)?;
                let mut rows = stmt.query(params![first, stop, limit]).map_err(map)?;
                let mut out = Vec::with_capacity(q.limit.min(1024));
                while let Some(row) = rows.next().map_err(map)? {
                    out.push(self.notification(row)?);
                }
                Ok(out)
            });
        }
        let text = sql.select_notifications_sql(q.topics.len());
        let mut values = vec![
            Value::Integer(first),
            Value::Integer(stop),
            Value::Integer(limit),
        ];
        values.extend(q.topics.iter().map(|t| Value::Text(t.clone())));
        self.connections
            .read(|conn| self.query_notifications(conn, &text, values))
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        let sql = self.events_sql()?;
        let max: Option<i64> = self.connections.read(|conn| {
            conn.prepare_cached(&sql.max_notification_id)
                .and_then(|mut s| s.query_row([], |row| row.get(0)))
                .map_err(|e| self.connections.map(e))
        })?;
        max.map(|m| from_i64(m, "notification_id")).transpose()
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        let sql = self.tracking_sql()?;
        let max: Option<i64> = self.connections.read(|conn| {
            conn.prepare_cached(&sql.max)
                .and_then(|mut s| s.query_row([application_name], |row| row.get(0)).optional())
                .map_err(|e| self.connections.map(e))
        })?;
        max.map(|m| from_i64(m, "notification_id")).transpose()
    }

    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let sql = self.tracking_sql()?;
        let (now, ttl) = (
            now_millis()?,
            to_i64(millis(ttl), "the lease's time to live")?,
        );
        let changed = self.connections.write(|tx| {
            tx.prepare_cached(&sql.acquire_lease)
                .and_then(|mut s| s.execute(params![name, holder, now, ttl]))
                .map_err(|e| self.connections.map(e))
        })?;
        Ok(changed == 1)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let sql = self.tracking_sql()?;
        self.connections.write(|tx| {
            tx.prepare_cached(&sql.release_lease)
                .and_then(|mut s| s.execute(params![name, holder]))
                .map(drop)
                .map_err(|e| self.connections.map(e))
        })
    }

    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        let sql = self.tracking_sql()?;
        let now = now_millis()?;
        self.connections.read(|conn| {
            let map = |e| self.connections.map(e);
            let mut stmt = conn.prepare_cached(&sql.leases).map_err(map)?;
            let rows = stmt
                .query_map(params![prefix, now], |row| {
                    Ok(Lease {
                        name: row.get(0)?,
                        holder: row.get(1)?,
                    })
                })
                .map_err(map)?;
            rows.map(|r| r.map_err(map)).collect()
        })
    }

    fn events_notifier(&self) -> &Notifier {
        &self.connections.events
    }

    fn tracking_notifier(&self) -> &Notifier {
        &self.connections.tracking
    }

    fn max_state_size(&self) -> usize {
        self.max_state_size
    }

    fn poll_interval(&self) -> Option<Duration> {
        self.connections
            .shared_with_other_processes()
            .then_some(crate::config::POLL_INTERVAL)
    }
}
