//! Backends and raw-driver baselines shared by the benches.

#![allow(dead_code, unreachable_pub, missing_docs)]

use eventsourcing::persistence::{ProcessRecorder, StoredEvent};
use eventsourcing::popo::PopoProcessRecorder;
use eventsourcing::postgres::{PostgresConfig, PostgresProcessRecorder};
use eventsourcing::sqlite::{SqliteConfig, SqliteProcessRecorder};
use eventsourcing::{Env, Uuid};

/// The tricks the system benches add, in turn.
pub const TRICKS: [&str; 10] = [
    "sit",
    "stay",
    "roll over",
    "fetch",
    "play dead",
    "beg",
    "heel",
    "spin",
    "jump",
    "speak",
];

/// A state of about 150 bytes, like a small JSON event.
pub fn state() -> Vec<u8> {
    let mut s = br#"{"name":"Fido","trick":"roll over","at":"2026-11-26T14:00:00.000000+00:00","by":"trainer"}"#.to_vec();
    s.resize(150, b' ');
    s
}

/// `n` new events of one new aggregate.
pub fn batch(n: u64) -> Vec<StoredEvent> {
    let id = Uuid::new_v4();
    (1..=n)
        .map(|v| StoredEvent::new(id, v, "Dog.TrickAdded", state()))
        .collect()
}

/// The PostgreSQL settings from the environment, if present.
pub fn postgres_config() -> Option<PostgresConfig> {
    let env = Env::from_process("");
    env.get("POSTGRES_DBNAME")?;
    // Plain TCP, as the raw driver baselines connect (`NoTls`): the ratios compare the same
    // path. A server with TLS on would otherwise be reached over TLS (`prefer`, the default).
    let env = match env.get("POSTGRES_SSLMODE") {
        Some(_) => env,
        None => env.with("POSTGRES_SSLMODE", "disable"),
    };
    PostgresConfig::from_env(&env).ok()
}

/// A file path in the temporary directory, unique to this run.
pub fn temp_db(name: &str) -> String {
    std::env::temp_dir()
        .join(format!("es-bench-{name}-{}.db", Uuid::new_v4().simple()))
        .to_string_lossy()
        .into_owned()
}

/// Every backend available, each with fresh tables: in-memory, SQLite (a WAL file and
/// `:memory:`), and PostgreSQL when `POSTGRES_*` is set.
pub fn backends() -> Vec<(&'static str, Box<dyn ProcessRecorder>)> {
    let app = format!("bench_{}", &Uuid::new_v4().simple().to_string()[..12]);
    let mut out: Vec<(&'static str, Box<dyn ProcessRecorder>)> =
        vec![("popo", Box::new(PopoProcessRecorder::default()))];
    if let Ok(r) = SqliteProcessRecorder::new(&SqliteConfig::new(temp_db("recorder")), &app) {
        out.push(("sqlite-file", Box::new(r)));
    }
    if let Ok(r) = SqliteProcessRecorder::new(&SqliteConfig::new(":memory:"), &app) {
        out.push(("sqlite-memory", Box::new(r)));
    }
    if let Some(config) = postgres_config()
        && let Ok(r) = PostgresProcessRecorder::new(&config, &app)
    {
        out.push(("postgres", Box::new(r)));
    }
    out
}

/// Raw rusqlite on a table like the recorder's, with the same settings (WAL, default
/// `synchronous`), one `BEGIN IMMEDIATE` transaction per batch.
pub struct RawSqlite {
    conn: rusqlite::Connection,
}

impl RawSqlite {
    pub fn new(path: &str) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        }
        conn.execute_batch(
            "CREATE TABLE raw_events (notification_id INTEGER PRIMARY KEY AUTOINCREMENT, \
             originator_id BLOB NOT NULL, originator_version INTEGER NOT NULL, topic TEXT NOT NULL, \
             state BLOB NOT NULL, UNIQUE (originator_id, originator_version))",
        )
        .unwrap();
        Self { conn }
    }

    pub fn insert(&self, events: &[StoredEvent]) -> Vec<i64> {
        self.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut stmt = self
            .conn
            .prepare_cached("INSERT INTO raw_events (originator_id, originator_version, topic, state) VALUES (?1, ?2, ?3, ?4)")
            .unwrap();
        let mut ids = Vec::with_capacity(events.len());
        for e in events {
            let v = i64::try_from(e.originator_version).unwrap();
            stmt.execute(rusqlite::params![
                e.originator_id.as_bytes(),
                v,
                e.topic,
                e.state
            ])
            .unwrap();
            ids.push(self.conn.last_insert_rowid());
        }
        drop(stmt);
        self.conn.execute_batch("COMMIT").unwrap();
        ids
    }

    pub fn select_page(&self, after: i64, limit: i64) -> usize {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT notification_id, originator_id, originator_version, topic, state FROM raw_events WHERE notification_id > ?1 ORDER BY notification_id LIMIT ?2")
            .unwrap();
        let rows = stmt
            .query_map([after, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                ))
            })
            .unwrap();
        // Collected, as a reader would: the recorder returns a Vec too.
        rows.collect::<Result<Vec<_>, _>>().unwrap().len()
    }
}

/// Raw `postgres` on a table like the recorder's (bigserial id), in its own schema.
pub struct RawPostgres {
    client: postgres::Client,
    schema: String,
    insert: postgres::Statement,
    select: postgres::Statement,
    owner: bool,
}

impl RawPostgres {
    pub fn new(config: &PostgresConfig) -> Self {
        let schema = format!("rawbench_{}", Uuid::new_v4().simple());
        let mut client = config.connect().unwrap();
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; CREATE TABLE {schema}.raw_events (originator_id uuid NOT NULL, \
                 originator_version bigint NOT NULL, topic text NOT NULL, state bytea NOT NULL, \
                 notification_id bigserial, PRIMARY KEY (originator_id, originator_version)); \
                 CREATE UNIQUE INDEX ON {schema}.raw_events (notification_id)"
            ))
            .unwrap();
        Self::connect(client, schema, true)
    }

    /// Another connection to this one's table; dropping it drops nothing.
    pub fn another(&self, config: &PostgresConfig) -> Self {
        Self::connect(config.connect().unwrap(), self.schema.clone(), false)
    }

    fn connect(mut client: postgres::Client, schema: String, owner: bool) -> Self {
        client
            .batch_execute(&format!("SET search_path = {schema}"))
            .unwrap();
        let insert = client
            .prepare("INSERT INTO raw_events (originator_id, originator_version, topic, state) VALUES ($1, $2, $3, $4) RETURNING notification_id")
            .unwrap();
        let select = client
            .prepare("SELECT notification_id, originator_id, originator_version, topic, state FROM raw_events WHERE notification_id > $1 ORDER BY notification_id LIMIT $2")
            .unwrap();
        Self {
            client,
            schema,
            insert,
            select,
            owner,
        }
    }

    /// One autocommit `INSERT ... RETURNING` per event (a prepared statement).
    pub fn insert_single(&mut self, e: &StoredEvent) -> i64 {
        let v = i64::try_from(e.originator_version).unwrap();
        self.client
            .query_one(&self.insert, &[&e.originator_id, &v, &e.topic, &e.state])
            .unwrap()
            .get(0)
    }

    /// One transaction with one multi-row `INSERT ... SELECT FROM unnest`.
    pub fn insert_multi(&mut self, events: &[StoredEvent]) -> usize {
        let ids: Vec<Uuid> = events.iter().map(|e| e.originator_id).collect();
        let vs: Vec<i64> = events
            .iter()
            .map(|e| i64::try_from(e.originator_version).unwrap())
            .collect();
        let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
        let states: Vec<&[u8]> = events.iter().map(|e| e.state.as_slice()).collect();
        let mut tx = self.client.transaction().unwrap();
        let rows = tx
            .query("INSERT INTO raw_events (originator_id, originator_version, topic, state) SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bytea[]) RETURNING notification_id", &[&ids, &vs, &topics, &states])
            .unwrap();
        tx.commit().unwrap();
        rows.len()
    }

    /// `COPY ... FROM STDIN BINARY` of the rows, in one transaction.
    pub fn copy(&mut self, events: &[StoredEvent]) -> u64 {
        use postgres::binary_copy::BinaryCopyInWriter;
        use postgres::types::Type;
        let mut tx = self.client.transaction().unwrap();
        let sink = tx.copy_in("COPY raw_events (originator_id, originator_version, topic, state) FROM STDIN BINARY").unwrap();
        let mut writer =
            BinaryCopyInWriter::new(sink, &[Type::UUID, Type::INT8, Type::TEXT, Type::BYTEA]);
        for e in events {
            let v = i64::try_from(e.originator_version).unwrap();
            writer
                .write(&[&e.originator_id, &v, &e.topic, &e.state])
                .unwrap();
        }
        let n = writer.finish().unwrap();
        tx.commit().unwrap();
        n
    }

    /// Every row after `after` in one streamed `SELECT` (rows as they arrive, no paging).
    pub fn select_streamed(&mut self, after: i64) -> usize {
        use postgres::fallible_iterator::FallibleIterator;
        let rows = self
            .client
            .query_raw(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM raw_events WHERE notification_id > $1 ORDER BY notification_id",
                [after],
            )
            .unwrap();
        rows.count().unwrap()
    }

    /// Every row as `COPY ... TO STDOUT BINARY` (the bytes only: no row is decoded).
    pub fn copy_out(&mut self) -> usize {
        use std::io::Read;
        let mut out = Vec::new();
        self.client
            .copy_out("COPY (SELECT notification_id, originator_id, originator_version, topic, state FROM raw_events ORDER BY notification_id) TO STDOUT BINARY")
            .unwrap()
            .read_to_end(&mut out)
            .unwrap()
    }

    /// A plain `SELECT` of a page.
    pub fn select_page(&mut self, after: i64, limit: i64) -> usize {
        self.client
            .query(&self.select, &[&after, &limit])
            .unwrap()
            .len()
    }
}

impl Drop for RawPostgres {
    fn drop(&mut self) {
        if self.owner {
            let _ = self
                .client
                .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema));
        }
    }
}
