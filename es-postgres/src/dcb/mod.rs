//! [`PostgresDcbBackend`]: a DCB log in PostgreSQL, in the Python library's "tt" tables, on the
//! pool, timeouts, TLS, LISTEN and error mapping of [`PostgresBackend`].
//!
//! Every append is one call of a per-application function that takes the main table's
//! EXCLUSIVE lock, checks its condition and inserts: positions follow commit order, one append
//! is one block, and no reader ever finds a late arrival below a position it has seen. A read
//! is one statement: its head and its events come from one snapshot.

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
use sql::{CONDITION_FAILED, DcbSql};

/// A PostgreSQL [`DcbRecorder`](es_core::persistence::dcb::DcbRecorder) on the tables
/// `<app>_events_tt_main` and `<app>_events_tt_tag` of `POSTGRES_SCHEMA`:
/// `PostgresDcbRecorder::new(&config, "app")` or `from_env(&env)`.
pub type PostgresDcbRecorder = Recorder<PostgresDcbBackend, kind::Dcb>;

/// One application's DCB log in a PostgreSQL schema.
#[derive(Debug)]
pub struct PostgresDcbBackend {
    pg: Arc<PostgresBackend>,
    sql: DcbSql,
}

/// `items` flattened, with a count per item.
fn flatten<'a>(items: impl Iterator<Item = &'a [String]>) -> Result<(Vec<&'a str>, Vec<i32>)> {
    let (mut flat, mut counts) = (Vec::new(), Vec::new());
    for item in items {
        flat.extend(item.iter().map(String::as_str));
        counts.push(i32::try_from(item.len()).map_err(|_| Error::data("too many tags or types"))?);
    }
    Ok((flat, counts))
}

impl PostgresDcbBackend {
    fn append_here(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        let types: Vec<&str> = events.iter().map(|e| e.r#type.as_str()).collect();
        let datas: Vec<&[u8]> = events.iter().map(|e| e.data.as_slice()).collect();
        let (tags, tag_counts) = flatten(events.iter().map(|e| e.tags.as_slice()))?;
        let items = condition.map_or(&[][..], |c| c.fail_if_events_match.items.as_slice());
        let (q_types, q_type_counts) = flatten(items.iter().map(|i| i.types.as_slice()))?;
        let (q_tags, q_tag_counts) = flatten(items.iter().map(|i| i.tags.as_slice()))?;
        let checked = condition.is_some();
        let after = to_i64(condition.and_then(|c| c.after).unwrap_or(0), "after")?;
        let params: [(&(dyn ToSql + Sync), Type); 10] = [
            (&types, Type::TEXT_ARRAY),
            (&datas, Type::BYTEA_ARRAY),
            (&tags, Type::TEXT_ARRAY),
            (&tag_counts, Type::INT4_ARRAY),
            (&checked, Type::BOOL),
            (&q_types, Type::TEXT_ARRAY),
            (&q_type_counts, Type::INT4_ARRAY),
            (&q_tags, Type::TEXT_ARRAY),
            (&q_tag_counts, Type::INT4_ARRAY),
            (&after, Type::INT8),
        ];
        let rows = self
            .pg
            .with(Call::Write, |c| c.query(&self.sql.append, &params))
            .map_err(|error| match error {
                Error::Internal { source }
                    if source
                        .downcast_ref::<postgres::Error>()
                        .and_then(postgres::Error::code)
                        .is_some_and(|c| c.code() == CONDITION_FAILED) =>
                {
                    Error::AppendConditionFailed {
                        after: condition.and_then(|c| c.after),
                    }
                }
                other => other,
            })?;
        let last: Option<i64> = match rows.first() {
            Some(row) => get(row, 0)?,
            None => None,
        };
        let last =
            last.ok_or_else(|| Error::programming("the append function returned no position"))?;
        from_i64(last, "position")
    }

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
        let last = blocking(|| self.append_here(events, condition))?;
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
        Ok(Arc::new(Self { pg, sql }))
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
