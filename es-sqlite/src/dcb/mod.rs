//! [`SqliteDcbBackend`]: a DCB log in a SQLite database. The Python library has none.
//!
//! Two tables per application: `<app>_dcb_events (position INTEGER PRIMARY KEY, type, data,
//! tags)` with an index on `(type, position)`, and `<app>_dcb_tags (tag, position)` without
//! rowid. An append is one `BEGIN IMMEDIATE` transaction that checks its condition, then
//! inserts: writers are serialised by the database's lock, so positions follow commit order
//! with no gaps, and a check sees every earlier commit. A read is one read transaction, so its
//! head and its events come from one snapshot.

use std::sync::Arc;
use std::time::Duration;

use es_core::backend::{DcbBackend, OpenDcbBackend, Recorder, from_i64, kind, to_i64};
use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbSequencedEvent, Position,
};
use es_core::persistence::wake::Notifier;
use es_core::{Env, Error, Result, TablePrefix};
use rusqlite::{Connection, OptionalExtension, params};

use crate::config::SqliteConfig;
use crate::connections::Connections;
use sql::DcbSql;

mod sql;

/// A SQLite [`DcbRecorder`](es_core::persistence::dcb::DcbRecorder) on the tables
/// `<app>_dcb_events` and `<app>_dcb_tags`: `SqliteDcbRecorder::new(&config, "app")` or
/// `from_env(&env)`.
pub type SqliteDcbRecorder = Recorder<SqliteDcbBackend, kind::Dcb>;

/// One application's DCB log in one SQLite database.
#[derive(Debug)]
pub struct SqliteDcbBackend {
    connections: Arc<Connections>,
    sql: DcbSql,
    max_state_size: usize,
}

fn tags_of(json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| Error::Data {
        source: Box::new(e),
    })
}

impl SqliteDcbBackend {
    fn map(&self, e: rusqlite::Error) -> Error {
        self.connections.map(e)
    }

    fn select(
        &self,
        conn: &Connection,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<Vec<DcbSequencedEvent>> {
        let after = to_i64(after.unwrap_or(0), "after")?;
        let limit = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let (sql, values) = self.sql.select(query, after, limit);
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.map(e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(values))
            .map_err(|e| self.map(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.map(e))? {
            let position: i64 = row.get(0).map_err(|e| self.map(e))?;
            let tags: String = row.get(3).map_err(|e| self.map(e))?;
            let mut event = DcbEvent::new(
                row.get::<_, String>(1).map_err(|e| self.map(e))?,
                row.get::<_, Vec<u8>>(2).map_err(|e| self.map(e))?,
            );
            event.tags = tags_of(&tags)?;
            out.push(DcbSequencedEvent {
                event,
                position: from_i64(position, "position")?,
            });
        }
        Ok(out)
    }

    fn head_on(&self, conn: &Connection) -> Result<Option<Position>> {
        let head: Option<i64> = conn
            .query_row(&self.sql.head, [], |row| row.get(0))
            .optional()
            .map_err(|e| self.map(e))?
            .flatten();
        head.map(|h| from_i64(h, "position")).transpose()
    }

    /// Whether an event after the condition's position matches its query.
    fn conflicts(&self, conn: &Connection, c: &DcbAppendCondition) -> Result<bool> {
        let after = to_i64(c.after.unwrap_or(0), "after")?;
        let (sql, values) = self.sql.conflicts(&c.fail_if_events_match, after);
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| self.map(e))?;
        stmt.query_row(rusqlite::params_from_iter(values), |row| row.get(0))
            .map_err(|e| self.map(e))
    }
}

impl DcbBackend for SqliteDcbBackend {
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        self.connections.read(|conn| {
            // One read transaction: the head and the events of one snapshot.
            let tx = conn.unchecked_transaction().map_err(|e| self.map(e))?;
            let events = self.select(&tx, query, after, limit)?;
            let head = match limit {
                None => self.head_on(&tx)?,
                Some(_) => events.last().map(|e| e.position),
            };
            tx.finish().map_err(|e| self.map(e))?;
            Ok(DcbRead { events, head })
        })
    }

    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        let last = self.connections.write(|tx| {
            if let Some(c) = condition
                && self.conflicts(tx, c)?
            {
                return Err(Error::AppendConditionFailed { after: c.after });
            }
            let mut insert = tx
                .prepare_cached(&self.sql.insert_event)
                .map_err(|e| self.map(e))?;
            let mut tag = tx
                .prepare_cached(&self.sql.insert_tag)
                .map_err(|e| self.map(e))?;
            let mut last = 0;
            for e in events {
                let tags = serde_json::to_string(&e.tags).map_err(|e| Error::Data {
                    source: Box::new(e),
                })?;
                insert
                    .execute(params![e.r#type, e.data, tags])
                    .map_err(|e| self.map(e))?;
                last = tx.last_insert_rowid();
                for t in &e.tags {
                    tag.execute(params![t, last]).map_err(|e| self.map(e))?;
                }
            }
            from_i64(last, "position")
        })?;
        self.connections.events.notify();
        Ok(last)
    }

    fn head(&self) -> Result<Option<Position>> {
        self.connections.read(|conn| self.head_on(conn))
    }

    fn events_notifier(&self) -> &Notifier {
        &self.connections.events
    }

    fn poll_interval(&self) -> Option<Duration> {
        self.connections
            .shared_with_other_processes()
            .then_some(crate::config::POLL_INTERVAL)
    }

    fn max_state_size(&self) -> usize {
        self.max_state_size
    }
}

impl OpenDcbBackend for SqliteDcbBackend {
    type Config = SqliteConfig;

    /// Opens the DCB log of `app_name` in the database of `config`, creating its tables unless
    /// `config.create_table` is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a name that is not a valid table prefix; errors of opening
    /// the database and creating the tables.
    fn open(config: &SqliteConfig, app_name: &str) -> Result<Arc<Self>> {
        let sql = DcbSql::new(&TablePrefix::new(app_name)?)?;
        let backend = Self {
            connections: Connections::open(config)?,
            sql,
            max_state_size: config.max_state_size,
        };
        if config.create_table {
            backend.connections.write(|tx| {
                tx.execute_batch(&backend.sql.create)
                    .map_err(|e| backend.map(e))
            })?;
        }
        Ok(Arc::new(backend))
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
