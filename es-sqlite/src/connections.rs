//! [`Connections`]: the connections of one SQLite database, shared by every recorder that names it.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use es_core::persistence::wake::Notifier;
use es_core::{Error, Result, TablePrefix};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::config::{Mode, SqliteConfig};
use crate::error::{at_path, map_pool_error, map_sqlite_error};
use es_core::sync::lock;

/// How long a reader waits for a pooled connection.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// Databases open in this process, by name, so that recorders of one database share one writer
/// connection (writes queue on a mutex instead of polling SQLite's busy handler) and a named
/// shared-cache memory database has exactly one connection (shared cache reports SQLITE_LOCKED
/// at once between connections instead of waiting).
static OPEN: LazyLock<Mutex<HashMap<String, Weak<Connections>>>> = LazyLock::new(Default::default);

pub(crate) struct Connections {
    name: String,
    mode: Mode,
    busy: Duration,
    writer: Mutex<Connection>,
    readers: Option<r2d2::Pool<Manager>>,
    /// Notified after each commit of events through this process.
    pub(crate) events: Notifier,
    /// Notified after each commit of tracking through this process.
    pub(crate) tracking: Notifier,
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn connect(dbname: &str, busy: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(dbname)?;
    conn.busy_timeout(busy)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Opens read connections of a file database.
#[derive(Debug)]
struct Manager {
    dbname: String,
    busy: Duration,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> rusqlite::Result<Connection> {
        connect(&self.dbname, self.busy)
    }

    fn is_valid(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        conn.execute_batch("")
    }

    fn has_broken(&self, _: &mut Connection) -> bool {
        false
    }
}

impl Connections {
    /// The open database named by `config`, or a newly opened one.
    pub(crate) fn open(config: &SqliteConfig) -> Result<Arc<Self>> {
        let mode = config.mode();
        let key = match mode {
            Mode::Private => None,
            Mode::SharedMemory => Some(config.dbname.clone()),
            Mode::File => Some(
                std::path::absolute(Path::new(&config.dbname))
                    .map_or_else(|_| config.dbname.clone(), |p| p.display().to_string()),
            ),
        };
        let Some(key) = key else {
            return Self::connect(config, mode).map(Arc::new);
        };
        let mut open = lock(&OPEN);
        open.retain(|_, db| db.strong_count() > 0);
        if let Some(db) = open.get(&key).and_then(Weak::upgrade) {
            return Ok(db);
        }
        let db = Arc::new(Self::connect(config, mode)?);
        open.insert(key, Arc::downgrade(&db));
        Ok(db)
    }

    fn connect(config: &SqliteConfig, mode: Mode) -> Result<Self> {
        let busy = config.lock_timeout;
        let map = |e| map_sqlite_error(e, busy);
        // Opening names the file: "file is not a database" alone does not say which.
        let writer = connect(&config.dbname, busy).map_err(|e| at_path(map(e), &config.dbname))?;
        let readers = if mode == Mode::File {
            writer
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
                .map_err(|e| at_path(map(e), &config.dbname))?;
            let manager = Manager {
                dbname: config.dbname.clone(),
                busy,
            };
            let pool = r2d2::Pool::builder()
                .max_size(config.pool_size)
                .min_idle(Some(0))
                .connection_timeout(POOL_TIMEOUT)
                .test_on_check_out(false)
                .build_unchecked(manager);
            Some(pool)
        } else {
            None
        };
        Ok(Self {
            name: config.dbname.clone(),
            mode,
            busy,
            writer: Mutex::new(writer),
            readers,
            events: Notifier::new(),
            tracking: Notifier::new(),
        })
    }

    /// True when other processes may write: subscriptions must poll.
    pub(crate) fn shared_with_other_processes(&self) -> bool {
        self.mode == Mode::File
    }

    pub(crate) fn map(&self, e: rusqlite::Error) -> Error {
        map_sqlite_error(e, self.busy)
    }

    /// Runs `f` in a write transaction that starts with `BEGIN IMMEDIATE` (so ids follow commit
    /// order and the busy timeout applies) and commits if `f` succeeds.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.map(e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| self.map(e))?;
        Ok(value)
    }

    /// `PRAGMA name` on the writer connection, as text (`name` must be a plain identifier).
    pub(crate) fn pragma(&self, name: &str) -> Result<String> {
        use rusqlite::types::Value;
        let name = TablePrefix::new(name)?;
        let conn = lock(&self.writer);
        let value = conn
            .query_row(&format!("PRAGMA {name}"), [], |row| row.get::<_, Value>(0))
            .map_err(|e| self.map(e))?;
        Ok(match value {
            Value::Integer(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Text(t) => t,
            Value::Null | Value::Blob(_) => String::new(),
        })
    }

    /// Runs `f` on a read connection: one from the pool for a file, else the one connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        match &self.readers {
            Some(pool) => {
                let conn = pool.get().map_err(|e| map_pool_error(e, POOL_TIMEOUT))?;
                f(&conn)
            }
            None => f(&lock(&self.writer)),
        }
    }
}
