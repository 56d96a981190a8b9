//! [`PostgresConfig`]: connection, pool and timeout settings, from the environment.

use std::fmt;
use std::time::Duration;

use es_core::{Env, Error, Result};

use crate::tls::TlsSettings;

/// How often an idle subscription selects for writes of other recorders and processes (it backs
/// off to this from a sixteenth of it, and wakes at once on this process's inserts and on
/// NOTIFY).
pub const POLL_INTERVAL: Duration = es_core::backend::DEFAULT_POLL_INTERVAL;

/// Settings of a PostgreSQL database. `Debug` never shows the password.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// `POSTGRES_DBNAME` (required).
    pub dbname: String,
    /// `POSTGRES_HOST` (required): a host, or a comma-separated list of `host` or `host:port`
    /// entries (IPv6 in brackets, `[::1]:5432`). With several, connections go to the first
    /// that accepts and is writable (libpq's `target_session_attrs=read-write`): after a
    /// failover, to the promoted standby.
    pub host: String,
    /// `POSTGRES_PORT` (default 5432).
    pub port: u16,
    /// `POSTGRES_READ_HOST` (optional): a hot standby (or a list, as `POSTGRES_HOST`) that
    /// this application's notification log is read from: `select_notifications`, and so its
    /// followers' subscriptions and `read_all`. Writes, tracking, aggregate reads and the log's
    /// position (`max_notification_id`, the health API's leader position) stay on
    /// `POSTGRES_HOST`. Subscriptions are woken by the primary's NOTIFY and poll the standby
    /// every 200 ms, so they see an event when the standby has replayed it, never before, and
    /// never skip it: a position only advances over what was read.
    pub read_host: Option<String>,
    /// `POSTGRES_USER` (required).
    pub user: String,
    password: String,
    /// `POSTGRES_SCHEMA`; blank means `public`.
    pub schema: String,
    /// `POSTGRES_POOL_SIZE` (default 5): connections kept.
    pub pool_size: u32,
    /// `POSTGRES_MAX_OVERFLOW` (default 10): connections beyond the pool size.
    pub max_overflow: u32,
    /// `POSTGRES_CONNECT_TIMEOUT` (seconds, default 30): how long to wait for a connection.
    pub connect_timeout: Duration,
    /// `POSTGRES_OUTAGE_TIMEOUT` (seconds, default 3; 0 fails at once): how long a request
    /// waits for a connection while the pool's last attempt to open one failed (the server
    /// refuses, is unreachable or rejects the login). It then fails with the classified
    /// [`Error::Connect`](es_core::Error::Connect) instead of waiting the whole
    /// `POSTGRES_CONNECT_TIMEOUT`; the pool keeps trying in the background.
    pub outage_timeout: Duration,
    /// `POSTGRES_STATEMENT_TIMEOUT` (seconds, default 60; 0 disables): the server cancels a
    /// statement that runs longer (`statement_timeout`), and the call fails with an
    /// operational error; a cancelled write did not commit.
    pub statement_timeout: Duration,
    /// `POSTGRES_LOCK_TIMEOUT` (seconds, default 0 = wait without limit) for the table lock.
    pub lock_timeout: Duration,
    /// `POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT` (seconds, default 5; 0 disables).
    pub idle_in_transaction_session_timeout: Duration,
    /// `POSTGRES_KEEPALIVES_IDLE` (seconds, default 10; 0 leaves TCP keepalive to the OS). After
    /// this long without traffic, TCP probes the server every third of it, three times, and a
    /// write unacknowledged for the same total time fails (`TCP_USER_TIMEOUT`): a server that
    /// vanished from the network (a partition, a dead host) fails the blocked call after about
    /// twice this time instead of the OS's two hours.
    pub keepalives_idle: Duration,
    /// `POSTGRES_CONN_MAX_AGE` (seconds, default 3600): connections are replaced after this.
    pub conn_max_age: Option<Duration>,
    /// `POSTGRES_PRE_PING` (default no): check each connection when it leaves the pool.
    pub pre_ping: bool,
    /// `CREATE_TABLE` (default yes): create the schema, tables and insert function.
    pub create_table: bool,
    /// The `application_name` connections report to the server (default `eventsourcing-rs`).
    pub application_name: String,
    /// `MAX_STATE_SIZE`: the largest event state accepted, in bytes.
    pub max_state_size: usize,
    /// `POSTGRES_SSLMODE`, `POSTGRES_SSLROOTCERT`, `POSTGRES_SSLCERT`, `POSTGRES_SSLKEY`.
    pub tls: TlsSettings,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("dbname", &self.dbname)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("read_host", &self.read_host)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("max_overflow", &self.max_overflow)
            .field("connect_timeout", &self.connect_timeout)
            .field("outage_timeout", &self.outage_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_timeout", &self.lock_timeout)
            .field(
                "idle_in_transaction_session_timeout",
                &self.idle_in_transaction_session_timeout,
            )
            .field("keepalives_idle", &self.keepalives_idle)
            .field("conn_max_age", &self.conn_max_age)
            .field("pre_ping", &self.pre_ping)
            .field("create_table", &self.create_table)
            .field("application_name", &self.application_name)
            .field("max_state_size", &self.max_state_size)
            .field("tls", &self.tls)
            .finish()
    }
}

/// `host`, `host:port` or `[ipv6]:port` as (host, port), with `default` when no port is given;
/// `None` for an empty host or a malformed port.
fn split_host(entry: &str, default: u16) -> Option<(&str, u16)> {
    let (host, port) = match entry.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return None,
            }
        }
        // A bare IPv6 address has several colons and no port.
        None if entry.matches(':').count() > 1 => (entry, None),
        None => match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        },
    };
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default,
    };
    (!host.is_empty()).then_some((host, port))
}

fn seconds(env: &Env, key: &str, default: u64) -> Result<Duration> {
    Ok(Duration::from_secs(
        env.parse::<u64>(key)?.unwrap_or(default),
    ))
}

impl PostgresConfig {
    /// Defaults for `dbname` on `host` as `user` with `password`.
    pub fn new(
        dbname: impl Into<String>,
        host: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            dbname: dbname.into(),
            host: host.into(),
            port: 5432,
            read_host: None,
            user: user.into(),
            password: password.into(),
            schema: "public".to_owned(),
            pool_size: 5,
            max_overflow: 10,
            connect_timeout: Duration::from_secs(30),
            outage_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(60),
            lock_timeout: Duration::ZERO,
            idle_in_transaction_session_timeout: Duration::from_secs(5),
            keepalives_idle: Duration::from_secs(10),
            conn_max_age: Some(Duration::from_secs(3600)),
            pre_ping: false,
            create_table: true,
            application_name: "eventsourcing-rs".to_owned(),
            max_state_size: es_core::backend::DEFAULT_MAX_STATE_SIZE,
            tls: TlsSettings::default(),
        }
    }

    /// Reads every `POSTGRES_*` variable and `CREATE_TABLE`, app-prefixed keys first. An empty
    /// value means the default.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable when a required one is missing or a value is
    /// malformed. Values never appear in errors.
    pub fn from_env(env: &Env) -> Result<Self> {
        let required = |key: &str| -> Result<String> {
            match env.get(key).map(str::trim) {
                Some(v) if !v.is_empty() => Ok(v.to_owned()),
                _ => Err(Error::config(env.keys_for(key).join(", "), "not set")),
            }
        };
        let (dbname, host, user) = (
            required("POSTGRES_DBNAME")?,
            required("POSTGRES_HOST")?,
            required("POSTGRES_USER")?,
        );
        let password = env.get("POSTGRES_PASSWORD").ok_or_else(|| {
            Error::config(env.keys_for("POSTGRES_PASSWORD").join(", "), "not set")
        })?;
        let mut c = Self::new(dbname, host, user, password);
        if let Some(port) = env.parse::<u16>("POSTGRES_PORT")? {
            c.port = port;
        }
        for entry in c.host.split(',') {
            if split_host(entry.trim(), c.port).is_none() {
                return Err(Error::config(
                    env.keys_for("POSTGRES_HOST").join(", "),
                    "an entry is empty or has a malformed port (expected host, host:port or [ipv6]:port)",
                ));
            }
        }
        if let Some(read) = env.get("POSTGRES_READ_HOST").map(str::trim)
            && !read.is_empty()
        {
            if read
                .split(',')
                .any(|e| split_host(e.trim(), c.port).is_none())
            {
                return Err(Error::config(
                    env.keys_for("POSTGRES_READ_HOST").join(", "),
                    "an entry is empty or has a malformed port (expected host, host:port or [ipv6]:port)",
                ));
            }
            c.read_host = Some(read.to_owned());
        }
        if let Some(schema) = env.get("POSTGRES_SCHEMA").map(str::trim)
            && !schema.is_empty()
        {
            c.schema = schema.to_owned();
        }
        c.pool_size = env.parse("POSTGRES_POOL_SIZE")?.unwrap_or(c.pool_size);
        c.max_overflow = env
            .parse("POSTGRES_MAX_OVERFLOW")?
            .unwrap_or(c.max_overflow);
        if c.pool_size + c.max_overflow == 0 {
            return Err(Error::config(
                "POSTGRES_POOL_SIZE",
                "pool size plus overflow must be at least 1",
            ));
        }
        c.connect_timeout = seconds(env, "POSTGRES_CONNECT_TIMEOUT", 30)?;
        if c.connect_timeout.is_zero() {
            return Err(Error::config(
                "POSTGRES_CONNECT_TIMEOUT",
                "the connect timeout must be at least 1 second",
            ));
        }
        c.outage_timeout = seconds(env, "POSTGRES_OUTAGE_TIMEOUT", 3)?;
        c.statement_timeout = seconds(env, "POSTGRES_STATEMENT_TIMEOUT", 60)?;
        c.lock_timeout = seconds(env, "POSTGRES_LOCK_TIMEOUT", 0)?;
        c.idle_in_transaction_session_timeout =
            seconds(env, "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", 5)?;
        c.keepalives_idle = seconds(env, "POSTGRES_KEEPALIVES_IDLE", 10)?;
        if let Some(age) = env.parse::<f64>("POSTGRES_CONN_MAX_AGE")? {
            c.conn_max_age = (age > 0.0)
                .then(|| Duration::try_from_secs_f64(age))
                .transpose()
                .map_err(|_| Error::config("POSTGRES_CONN_MAX_AGE", "out of range"))?;
        }
        c.pre_ping = env.flag("POSTGRES_PRE_PING", false)?;
        c.create_table = env.flag("CREATE_TABLE", true)?;
        if let Some(max) = env.parse::<usize>("MAX_STATE_SIZE")? {
            c.max_state_size = max;
        }
        c.tls = TlsSettings::from_env(env)?;
        Ok(c)
    }

    /// Sets the password.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = password.into();
        self
    }

    /// A plain connection (no pool) with these settings, TLS included: for tools and tests.
    /// Blocking; do not call it on a tokio runtime thread.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for unusable TLS files; [`Error::Connect`] naming the problem (never
    /// with the password).
    pub fn connect(&self) -> Result<postgres::Client> {
        let config = self.client_config();
        postgres::Config::from(config.clone())
            .connect(self.tls.connector()?)
            .map_err(|e| crate::connect::map_connect_error(e.into(), &config))
    }

    /// How long a pooled connection's call waits for the server: the statement timeout plus a
    /// margin, so that the server's own cancel comes first whenever it answers; without limit
    /// when the statement timeout is 0.
    pub(crate) fn call_deadline(&self) -> Option<Duration> {
        (!self.statement_timeout.is_zero()).then(|| self.statement_timeout + crate::client::MARGIN)
    }

    pub(crate) fn client_config(&self) -> tokio_postgres::Config {
        self.client_config_for(&self.host, true)
    }

    /// The settings of connections to the read host, if one is set: any server of the list,
    /// standbys included.
    pub(crate) fn read_client_config(&self) -> Option<tokio_postgres::Config> {
        let host = self.read_host.as_deref()?;
        Some(self.client_config_for(host, false))
    }

    fn client_config_for(&self, host: &str, writable: bool) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        let hosts: Vec<(&str, u16)> = host
            .split(',')
            .map(|entry| split_host(entry.trim(), self.port).unwrap_or((entry.trim(), self.port)))
            .collect();
        for (host, port) in &hosts {
            config.host(*host).port(*port);
        }
        if writable && hosts.len() > 1 {
            config.target_session_attrs(postgres::config::TargetSessionAttrs::ReadWrite);
        }
        config
            .dbname(&self.dbname)
            .user(&self.user)
            .password(&self.password)
            .connect_timeout(self.connect_timeout)
            .application_name(&self.application_name)
            .ssl_mode(self.tls.driver_mode());
        if !self.keepalives_idle.is_zero() {
            let interval = (self.keepalives_idle / 3).max(Duration::from_secs(1));
            config
                .keepalives(true)
                .keepalives_idle(self.keepalives_idle)
                .keepalives_interval(interval)
                .keepalives_retries(3)
                .tcp_user_timeout(self.keepalives_idle + interval * 3);
        }
        config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::new("DogSchool")
            .with("POSTGRES_DBNAME", "db")
            .with("POSTGRES_HOST", "localhost")
            .with("POSTGRES_USER", "u")
            .with("POSTGRES_PASSWORD", "hunter2")
    }

    #[test]
    fn host_lists_with_ports() {
        assert_eq!(split_host("db", 5432), Some(("db", 5432)));
        assert_eq!(split_host("db:6000", 5432), Some(("db", 6000)));
        assert_eq!(split_host("[::1]:6000", 5432), Some(("::1", 6000)));
        assert_eq!(split_host("::1", 5432), Some(("::1", 5432)));
        assert_eq!(split_host("", 5432), None);
        assert_eq!(split_host("db:port", 5432), None);
        let c = PostgresConfig::from_env(&env().with("POSTGRES_HOST", "a:1, b")).unwrap();
        let hosts = c.client_config();
        assert_eq!(hosts.get_ports(), [1, 5432]);
        assert_eq!(
            hosts.get_target_session_attrs(),
            postgres::config::TargetSessionAttrs::ReadWrite
        );
        let e = PostgresConfig::from_env(&env().with("POSTGRES_HOST", "a,,b")).unwrap_err();
        assert!(e.to_string().contains("POSTGRES_HOST"), "{e}");
    }

    #[test]
    fn defaults_and_empty_values() {
        let c =
            PostgresConfig::from_env(&env().with("POSTGRES_PORT", "").with("POSTGRES_SCHEMA", " "))
                .unwrap();
        assert_eq!((c.port, c.pool_size, c.max_overflow), (5432, 5, 10));
        assert_eq!(c.schema, "public");
        assert_eq!(c.connect_timeout, Duration::from_secs(30));
        assert_eq!(
            c.idle_in_transaction_session_timeout,
            Duration::from_secs(5)
        );
        assert_eq!(c.lock_timeout, Duration::ZERO);
        assert!(c.create_table && !c.pre_ping);
    }

    #[test]
    fn missing_and_malformed_values_name_the_variable_and_hide_the_password() {
        let e = PostgresConfig::from_env(&Env::new("DogSchool"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DOGSCHOOL_POSTGRES_DBNAME, POSTGRES_DBNAME"),
            "{e}"
        );
        let e =
            PostgresConfig::from_env(&env().with("POSTGRES_CONNECT_TIMEOUT", "abc")).unwrap_err();
        assert!(
            e.is_config() && e.to_string().contains("POSTGRES_CONNECT_TIMEOUT"),
            "{e}"
        );
        let c = PostgresConfig::from_env(&env()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn prefixed_keys_win() {
        let c = PostgresConfig::from_env(&env().with("DOGSCHOOL_POSTGRES_SCHEMA", "dogs")).unwrap();
        assert_eq!(c.schema, "dogs");
    }
}
