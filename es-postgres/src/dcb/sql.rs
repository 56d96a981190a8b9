//! The SQL of one application's DCB log: its DDL and append function (the `.sql` files beside
//! this one), and reads compiled per query shape with every value a parameter.

use es_core::persistence::dcb::DcbQuery;
use es_core::{Result, TablePrefix};
use postgres::types::{ToSql, Type};

use crate::sql::render;

const TABLES: &str = include_str!("tables.sql");
const APPEND: &str = include_str!("append.sql");

/// Statements of one application's DCB log.
#[derive(Debug)]
pub(crate) struct DcbSql {
    /// DDL, run in one transaction under an advisory lock.
    pub(crate) create: String,
    /// `SELECT * FROM {append}($1, ..., $12)`: one or more callers' appends.
    pub(crate) append: String,
    /// The last position.
    pub(crate) head: String,
    /// The LISTEN/NOTIFY channel: the main table's name, as Python's.
    pub(crate) channel: String,
    /// The schema-qualified, quoted main and tag tables.
    main: String,
    tag: String,
}

/// A parameter of a compiled read.
#[derive(Debug)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Texts(Vec<String>),
}

impl Value {
    pub(crate) fn param(&self) -> (&(dyn ToSql + Sync), Type) {
        match self {
            Self::Int(v) => (v, Type::INT8),
            Self::Text(v) => (v, Type::TEXT),
            Self::Texts(v) => (v, Type::TEXT_ARRAY),
        }
    }
}

impl DcbSql {
    /// The log of application `app` in `schema`: Python's `<app>_events_tt_main` and
    /// `<app>_events_tt_tag`, and our function `<app>_events_tt_append`.
    pub(crate) fn new(schema: &TablePrefix, app: &TablePrefix) -> Result<Self> {
        let s = schema.as_str();
        let q = |t: &str| format!("\"{s}\".\"{t}\"");
        let main_name = app.table("_events_tt_main")?;
        let (main, tag) = (q(&main_name), q(&app.table("_events_tt_tag")?));
        let append = q(&app.table("_events_tt_append")?);
        let quoted = |t: String| format!("\"{t}\"");
        let values: [(&str, &str); 9] = [
            ("schema", &format!("\"{s}\"")),
            ("main", &main),
            ("tag", &tag),
            (
                "main_index",
                &quoted(app.table("_events_tt_main_idx_id_type")?),
            ),
            (
                "tag_index",
                &quoted(app.table("_events_tt_tag_idx_tag_main_id")?),
            ),
            (
                "type_index",
                &quoted(app.table("_events_tt_main_idx_type_id")?),
            ),
            ("append", &append),
            ("channel", &format!("'{main_name}'")),
            ("lock_key", &format!("'{main}'::regclass::oid::bigint")),
        ];
        Ok(Self {
            create: render(TABLES, &values)? + &render(APPEND, &values)?,
            append: format!(
                "SELECT r_caller, r_last FROM {append}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12)"
            ),
            head: format!("SELECT max(id) FROM {main}"),
            channel: main_name,
            main,
            tag,
        })
    }

    /// The statement of `read(query, after, limit)` and its parameters (`$1` after, `$2` limit):
    /// one statement, so that the head (the first column) and the rows come from one snapshot.
    /// When nothing matches, one row of nulls carries the head.
    pub(crate) fn read(&self, query: &DcbQuery, after: i64, limit: i64) -> (String, Vec<Value>) {
        let (main, tag) = (&self.main, &self.tag);
        let mut values = vec![Value::Int(after), Value::Int(limit)];
        let rows = if query.matches_all() {
            format!("SELECT id, type, data, tags FROM {main} WHERE id > $1 ORDER BY id LIMIT $2")
        } else {
            let mut bind = |v: Value| {
                values.push(v);
                format!("${}", values.len())
            };
            let items: Vec<String> = query
                .items
                .iter()
                .map(|item| {
                    let types =
                        (!item.types.is_empty()).then(|| bind(Value::Texts(item.types.clone())));
                    match (item.tags.first(), types) {
                        // Tag first: the type filter is written so that no index serves it. On
                        // the type index the planner would scan every event of a common type
                        // (measured: 2.3 ms a read at 1M events, growing) when its statistics
                        // call the types rare.
                        (Some(first), types) => format!(
                            "SELECT t.main_id FROM {tag} t JOIN {main} m ON m.id = t.main_id \
                             WHERE t.tag = {} AND t.main_id > $1 AND m.tags @> {}{}",
                            bind(Value::Text(first.clone())),
                            bind(Value::Texts(item.tags.clone())),
                            types.map_or_else(String::new, |t| {
                                format!(" AND array_position({t}, m.type) IS NOT NULL")
                            })
                        ),
                        (None, Some(types)) => format!(
                            "SELECT m.id FROM {main} m WHERE m.id > $1 AND m.type = ANY ({types})"
                        ),
                        (None, None) => format!("SELECT m.id FROM {main} m WHERE m.id > $1"),
                    }
                })
                .collect();
            // The matching positions first (from the tag and type indexes), then their rows:
            // never a scan of the table in position order, filtered.
            format!(
                "SELECT m.id, m.type, m.data, m.tags FROM {main} m JOIN ({}) p (id) \
                 ON m.id = p.id ORDER BY m.id LIMIT $2",
                items.join(" UNION ")
            )
        };
        let sql = format!(
            "SELECT (SELECT max(id) FROM {main}), r.id, r.type, r.data, r.tags \
             FROM (SELECT 1) one LEFT JOIN LATERAL ({rows}) r ON true ORDER BY r.id"
        );
        (sql, values)
    }
}
