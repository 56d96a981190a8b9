//! The SQL of one application's DCB log, built from validated table names; queries compiled
//! per shape, every value a parameter.

use es_core::persistence::dcb::DcbQuery;
use es_core::{Result, TablePrefix};
use rusqlite::types::Value;

/// Statements of one application's DCB log.
#[derive(Debug)]
pub(super) struct DcbSql {
    /// The events table, `<app>_dcb_events`.
    events: String,
    /// The tags table, `<app>_dcb_tags`.
    tags: String,
    /// DDL.
    pub(super) create: String,
    pub(super) insert_event: String,
    pub(super) insert_tag: String,
    /// The last position.
    pub(super) head: String,
}

impl DcbSql {
    pub(super) fn new(p: &TablePrefix) -> Result<Self> {
        let events = p.table("_dcb_events")?;
        let tags = p.table("_dcb_tags")?;
        let type_index = p.table("_dcb_type")?;
        Ok(Self {
            create: format!(
                "CREATE TABLE IF NOT EXISTS \"{events}\" (position INTEGER PRIMARY KEY, \
                 type TEXT NOT NULL, data BLOB NOT NULL, tags TEXT NOT NULL); \
                 CREATE INDEX IF NOT EXISTS \"{type_index}\" ON \"{events}\" (type, position); \
                 CREATE TABLE IF NOT EXISTS \"{tags}\" (tag TEXT NOT NULL, \
                 position INTEGER NOT NULL, PRIMARY KEY (tag, position)) WITHOUT ROWID;"
            ),
            insert_event: format!(
                "INSERT INTO \"{events}\" (type, data, tags) VALUES (?1, ?2, ?3)"
            ),
            insert_tag: format!("INSERT OR IGNORE INTO \"{tags}\" (tag, position) VALUES (?1, ?2)"),
            head: format!("SELECT max(position) FROM \"{events}\""),
            events,
            tags,
        })
    }

    /// The events after `?1` that `query` matches, ascending, at most `?2`.
    pub(super) fn select(&self, query: &DcbQuery, after: i64, limit: i64) -> (String, Vec<Value>) {
        let mut values = vec![Value::Integer(after), Value::Integer(limit)];
        let filter = matching_positions(self, query, &mut values)
            .map(|positions| format!(" AND position IN ({positions})"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT position, type, data, tags FROM \"{}\" WHERE position > ?1{filter} \
             ORDER BY position LIMIT ?2",
            self.events
        );
        (sql, values)
    }

    /// Whether an event after `?1` matches `query`.
    pub(super) fn conflicts(&self, query: &DcbQuery, after: i64) -> (String, Vec<Value>) {
        let mut values = vec![Value::Integer(after)];
        let filter = matching_positions(self, query, &mut values)
            .map(|positions| format!(" AND position IN ({positions})"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM \"{}\" WHERE position > ?1{filter})",
            self.events
        );
        (sql, values)
    }
}

/// The positions after `?1` of the events that `query` matches, as a compound `SELECT`, with
/// its parameters appended to `values`; `None` when the query matches every event.
fn matching_positions(sql: &DcbSql, query: &DcbQuery, values: &mut Vec<Value>) -> Option<String> {
    if query.matches_all() {
        return None;
    }
    let (events, tags) = (&sql.events, &sql.tags);
    let mut bind = |v: &str| {
        values.push(Value::Text(v.to_owned()));
        format!("?{}", values.len())
    };
    let mut selects = Vec::with_capacity(query.items.len());
    for item in &query.items {
        let types = (!item.types.is_empty()).then(|| {
            let list: Vec<String> = item.types.iter().map(|t| bind(t)).collect();
            list.join(", ")
        });
        let mut parts = Vec::new();
        for (k, tag) in item.tags.iter().enumerate() {
            let tag = bind(tag);
            parts.push(match (&types, k) {
                // Tag first: `+e.type` keeps the type index out of it (a scan of every event
                // of a common type).
                (Some(types), 0) => format!(
                    "SELECT t.position FROM \"{tags}\" t JOIN \"{events}\" e \
                     ON e.position = t.position \
                     WHERE t.tag = {tag} AND t.position > ?1 AND +e.type IN ({types})"
                ),
                _ => format!("SELECT position FROM \"{tags}\" WHERE tag = {tag} AND position > ?1"),
            });
        }
        if parts.is_empty()
            && let Some(types) = &types
        {
            parts.push(format!(
                "SELECT position FROM \"{events}\" WHERE type IN ({types}) AND position > ?1"
            ));
        }
        // Compound operators bind left to right: `A UNION B INTERSECT C` is
        // `(A UNION B) INTERSECT C`. An item of several parts is a subquery of its own.
        selects.push(if parts.len() == 1 {
            parts.remove(0)
        } else {
            format!("SELECT position FROM ({})", parts.join(" INTERSECT "))
        });
    }
    Some(selects.join(" UNION "))
}
