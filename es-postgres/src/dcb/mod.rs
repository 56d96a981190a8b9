//! [`PostgresDcbBackend`]: a DCB log in PostgreSQL, in the Python library's "tt" tables, on the
//! pool, timeouts, TLS, LISTEN and error mapping of [`PostgresBackend`].
//!
//! Every append is one call of a per-application function that takes the appenders' lock
//! (`append.sql` says which, and why not Python's EXCLUSIVE table lock), checks its condition
//! and inserts: positions follow commit order, one append
//! is one block, and no reader ever finds a late arrival below a position it has seen. Appends
//! that arrive while one runs queue, and go in the next call together, with one commit (group
//! commit): each checked after the ones before it. A read
//! is one statement: its head and its events come from one snapshot.

mod append;
mod request;
mod sql;

use std::sync::Arc;
use std::time::Duration;

use es_core::backend::{DcbBackend, OpenDcbBackend, Recorder, from_i64, kind, to_i64};
use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbSequencedEvent, Position,
};
use es_core::persistence::wake::Notifier;
use es_core::{Env, Error, Result, TablePrefix};
use postgres::types::{ToSql, Type};

use crate::backend::{PostgresBackend, get};
use crate::config::PostgresConfig;
use crate::error::Call;
use crate::runtime::blocking;
use crate::sql::{Kind, Sql};
use request::Request;
use sql::DcbSql;

use crate::combiner::Combiner;

/// A PostgreSQL [`DcbRecorder`](es_core::persistence::dcb::DcbRecorder) on the tables
/// `<app>_events_tt_main` and `<app>_events_tt_tag` of `POSTGRES_SCHEMA`:
/// `PostgresDcbRecorder::new(&config, "app")` or `from_env(&env)`.
pub type PostgresDcbRecorder = Recorder<PostgresDcbBackend, kind::Dcb>;

/// One application's DCB log in a PostgreSQL schema.
#[derive(Debug)]
pub struct PostgresDcbBackend {
    pg: Arc<PostgresBackend>,
    sql: DcbSql,
    /// Concurrent appends, queued for one call and one commit.
    combiner: Combiner<Request, Result<Position>>,
}

impl PostgresDcbBackend {
    fn read_here(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        let after = to_i64(after.unwrap_or(0), "after")?;
        let max = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let (text, values) = self.sql.read(query, after, max);
        let params: Vec<(&(dyn ToSql + Sync), Type)> =
            values.iter().map(sql::Value::param).collect();
        let rows = self.pg.with(Call::Read, |c| c.query(&text, &params))?;
        let mut events = Vec::with_capacity(rows.len());
        let mut store_head = None;
        for row in &rows {
            let head: Option<i64> = get(row, 0)?;
            store_head = head.map(|h| from_i64(h, "position")).transpose()?;
            let Some(id) = get::<Option<i64>>(row, 1)? else {
                continue;
            };
            let mut event = DcbEvent::new(
                get::<String>(row, 2)?,
                get::<Option<Vec<u8>>>(row, 3)?.unwrap_or_default(),
            );
            event.tags = get(row, 4)?;
            events.push(DcbSequencedEvent {
                event,
                position: from_i64(id, "position")?,
            });
        }
        let head = match limit {
            None => store_head,
            Some(_) => events.last().map(|e: &DcbSequencedEvent| e.position),
        };
        Ok(DcbRead { events, head })
    }
}

impl DcbBackend for PostgresDcbBackend {
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        blocking(|| self.read_here(query, after, limit))
    }

    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        let last = blocking(|| {
            self.combiner.run(
                || Request {
                    events: events.to_vec(),
                    condition: condition.cloned(),
                },
                || self.append_one(events, condition),
                |group| self.append_queue(group),
                || Err(Error::programming("caller missing from its group")),
            )
        })?;
        self.pg.events.notify();
        Ok(last)
    }

    fn head(&self) -> Result<Option<Position>> {
        blocking(|| {
            let rows = self.pg.with(Call::Read, |c| c.query(&self.sql.head, &[]))?;
            let head: Option<i64> = match rows.first() {
                Some(row) => get(row, 0)?,
                None => None,
            };
            head.map(|h| from_i64(h, "position")).transpose()
        })
    }

    fn events_notifier(&self) -> &Notifier {
        &self.pg.events
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(crate::config::POLL_INTERVAL)
    }

    fn max_state_size(&self) -> usize {
        es_core::backend::Backend::max_state_size(&*self.pg)
    }

    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        self.pg.listen(&self.sql.channel);
        Ok(())
    }
}

impl OpenDcbBackend for PostgresDcbBackend {
    type Config = PostgresConfig;

    /// Opens the DCB log of `app_name` in `config.schema`, creating the schema, tables and
    /// append function unless `config.create_table` is off.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for an application or schema name that is not a valid
    /// identifier (or too long with its suffixes); pool and server errors of creating the
    /// tables.
    fn open(config: &PostgresConfig, app_name: &str) -> Result<Arc<Self>> {
        let schema = TablePrefix::schema(&config.schema)?;
        let app = TablePrefix::new(app_name)?;
        let sql = DcbSql::new(&schema, &app)?;
        // The pool and its settings are the event store's; the DDL is the DCB log's.
        let mut pool_sql = Sql::new(&schema, &app, Kind::Tracking)?;
        pool_sql.create.clone_from(&sql.create);
        let pg = PostgresBackend::open_sql(config, pool_sql)?;
        Ok(Arc::new(Self {
            pg,
            sql,
            combiner: Combiner::default(),
        }))
    }

    /// [`PostgresConfig::from_env`].
    ///
    /// # Errors
    ///
    /// As that function.
    fn config_from_env(env: &Env) -> Result<PostgresConfig> {
        PostgresConfig::from_env(env)
    }
}
