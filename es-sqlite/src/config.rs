//! [`SqliteConfig`]: where the database is and how to wait for it.

use std::time::Duration;

use es_core::{Env, Error, Result};

/// The default busy timeout: how long a writer waits for another process's write lock.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often an idle subscription on a file database looks for other processes' writes (it
/// backs off to this from a sixteenth of it, and wakes at once on this process's inserts).
pub const POLL_INTERVAL: Duration = es_core::backend::DEFAULT_POLL_INTERVAL;
/// The default number of read connections of a file database.
pub const DEFAULT_POOL_SIZE: u32 = 4;

/// Settings of a SQLite database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteConfig {
    /// A file path, `:memory:` (a private database), or `file:NAME?mode=memory&cache=shared` (a
    /// named in-memory database shared by every recorder of this process that names it).
    pub dbname: String,
    /// How long a write waits for another process's lock before failing with a busy timeout.
    pub lock_timeout: Duration,
    /// Whether recorders create their tables (`CREATE TABLE IF NOT EXISTS`).
    pub create_table: bool,
    /// Read connections of a file database (writes use one dedicated connection).
    pub pool_size: u32,
    /// `MAX_STATE_SIZE`: the largest event state accepted, in bytes.
    pub max_state_size: usize,
}

impl SqliteConfig {
    /// Defaults for the database `dbname`.
    pub fn new(dbname: impl Into<String>) -> Self {
        Self {
            dbname: dbname.into(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            create_table: true,
            pool_size: DEFAULT_POOL_SIZE,
            max_state_size: es_core::backend::DEFAULT_MAX_STATE_SIZE,
        }
    }

    /// Reads `SQLITE_DBNAME` (required), `SQLITE_LOCK_TIMEOUT` (seconds), `SQLITE_POOL_SIZE`,
    /// `MAX_STATE_SIZE` (bytes) and `CREATE_TABLE`, each trying the app-prefixed key (`DOGSCHOOL_SQLITE_DBNAME`) first.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming both keys tried when `SQLITE_DBNAME` is missing or blank, and
    /// naming the variable when a value is malformed.
    pub fn from_env(env: &Env) -> Result<Self> {
        let dbname = env.require("SQLITE_DBNAME")?.trim();
        if dbname.is_empty() {
            let keys = env.keys_for("SQLITE_DBNAME").join(", ");
            return Err(Error::config(keys, "is empty"));
        }
        let mut config = Self::new(dbname);
        if let Some(secs) = env.parse::<u64>("SQLITE_LOCK_TIMEOUT")? {
            config.lock_timeout = Duration::from_secs(secs);
        }
        if let Some(size) = env.parse::<u32>("SQLITE_POOL_SIZE")? {
            if size == 0 {
                return Err(Error::config("SQLITE_POOL_SIZE", "must be at least 1"));
            }
            config.pool_size = size;
        }
        config.create_table = env.flag("CREATE_TABLE", true)?;
        if let Some(max) = env.parse::<usize>("MAX_STATE_SIZE")? {
            config.max_state_size = max;
        }
        Ok(config)
    }

    /// How the database is opened.
    pub(crate) fn mode(&self) -> Mode {
        if self.dbname == ":memory:" {
            Mode::Private
        } else if self.dbname.contains("mode=memory") {
            if self.dbname.contains("cache=shared") {
                Mode::SharedMemory
            } else {
                Mode::Private
            }
        } else {
            Mode::File
        }
    }
}

/// The three kinds of SQLite database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `:memory:` (or a memory URI without shared cache): one connection, private to its recorder.
    Private,
    /// A named shared-cache memory database: one connection per process, shared by name.
    SharedMemory,
    /// A file in WAL mode: one writer connection and a pool of readers, shared by path.
    File,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prefixed_keys_first() {
        let env = Env::new("DogSchool")
            .with("SQLITE_DBNAME", "all.db")
            .with("DOGSCHOOL_SQLITE_DBNAME", "dogs.db")
            .with("SQLITE_LOCK_TIMEOUT", "9")
            .with("CREATE_TABLE", "no");
        let c = SqliteConfig::from_env(&env).unwrap();
        assert_eq!(c.dbname, "dogs.db");
        assert_eq!(c.lock_timeout, Duration::from_secs(9));
        assert!(!c.create_table);
        assert_eq!(c.mode(), Mode::File);
    }

    #[test]
    fn a_missing_name_lists_both_keys() {
        let e = SqliteConfig::from_env(&Env::new("DogSchool")).unwrap_err();
        let text = e.to_string();
        assert!(
            e.is_config() && text.contains("DOGSCHOOL_SQLITE_DBNAME, SQLITE_DBNAME"),
            "{text}"
        );
    }

    #[test]
    fn malformed_numbers_name_the_variable() {
        let env = Env::new("a")
            .with("SQLITE_DBNAME", ":memory:")
            .with("SQLITE_LOCK_TIMEOUT", "abc");
        let text = SqliteConfig::from_env(&env).unwrap_err().to_string();
        assert!(text.contains("SQLITE_LOCK_TIMEOUT"), "{text}");
        let empty = Env::new("a")
            .with("SQLITE_DBNAME", ":memory:")
            .with("SQLITE_LOCK_TIMEOUT", "");
        let c = SqliteConfig::from_env(&empty).unwrap();
        assert_eq!(c.lock_timeout, DEFAULT_LOCK_TIMEOUT);
        assert_eq!(c.mode(), Mode::Private);
    }

    #[test]
    fn detects_modes() {
        let shared = SqliteConfig::new("file:dogs?mode=memory&cache=shared");
        assert_eq!(shared.mode(), Mode::SharedMemory);
        assert_eq!(
            SqliteConfig::new("file:x?mode=memory").mode(),
            Mode::Private
        );
    }
}
