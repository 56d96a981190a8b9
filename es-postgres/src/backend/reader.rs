//! [`Reader`]: the pool of `POSTGRES_READ_HOST`, a hot standby that the notification log is
//! read from while everything else goes to the primary.

use es_core::Result;

use super::{Pool, PostgresBackend, build_pool};
use crate::config::PostgresConfig;
use crate::connect::{LastConnectError, map_connect_error};
use crate::error::Call;
use crate::pool::{Conn, Manager};

/// Connections to the read host.
#[derive(Debug)]
pub(super) struct Reader {
    pool: Pool,
    last_error: LastConnectError,
}

impl Reader {
    /// The read host's pool, when one is configured. Its first connection opens now, so a
    /// wrong read host fails here, naming it, instead of at the first read.
    pub(super) fn open(config: &PostgresConfig, primary: &Manager) -> Result<Option<Self>> {
        let Some(client_config) = config.read_client_config() else {
            return Ok(None);
        };
        let manager = Manager {
            config: client_config,
            setup: primary.setup.clone(),
            last_error: LastConnectError::default(),
            tls: primary.tls.clone(),
            failures: std::sync::atomic::AtomicU64::new(0),
        };
        manager
            .open()
            .map_err(|e| map_connect_error(e, &manager.config))?;
        let last_error = std::sync::Arc::clone(&manager.last_error);
        let pool = build_pool(config, manager);
        Ok(Some(Self { pool, last_error }))
    }
}

impl PostgresBackend {
    /// Runs a read of the notification log on the read host's pool, or the primary's.
    pub(super) fn read_log<T>(
        &self,
        f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        match &self.reader {
            Some(r) => self.attempt_on(&r.pool, &r.last_error, Call::Read, f),
            None => self.attempt(Call::Read, f),
        }
        .map_err(|failed| failed.error)
    }
}
