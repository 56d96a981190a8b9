//! [`Reader`]: the pool of `POSTGRES_READ_HOST`, a hot standby that the notification log is
//! read from while everything else goes to the primary.

use es_core::Result;

use super::{Pool, PostgresBackend, build_pool};
use crate::config::PostgresConfig;
use crate::connect::map_connect_error;
use crate::error::Call;
use crate::pool::{Conn, Manager};
use crate::watch::Watch;
use std::sync::Arc;

/// Connections to the read host.
#[derive(Debug)]
pub(super) struct Reader {
    pool: Pool,
    watch: Arc<Watch>,
}

impl Reader {
    /// The read host's pool, when one is configured. Its first connection opens now, so a
    /// wrong read host fails here, naming it, instead of at the first read.
    pub(super) fn open(config: &PostgresConfig, primary: &Manager) -> Result<Option<Self>> {
        let Some(client_config) = config.read_client_config() else {
            return Ok(None);
        };
        let manager = Manager {
            watch: Arc::new(Watch::new(&client_config)),
            deadline: primary.deadline,
            config: client_config,
            setup: primary.setup.clone(),
            tls: primary.tls.clone(),
        };
        manager
            .open()
            .map_err(|e| map_connect_error(e, &manager.config))?;
        let watch = Arc::clone(&manager.watch);
        let pool = build_pool(config, manager);
        Ok(Some(Self { pool, watch }))
    }
}

impl PostgresBackend {
    /// Runs a read of the notification log on the read host's pool, or the primary's.
    pub(super) fn read_log<T>(
        &self,
        f: impl FnMut(&mut Conn) -> Result<T, crate::client::DbError>,
    ) -> Result<T> {
        match &self.reader {
            Some(r) => self.attempt_on(&r.pool, &r.watch, Call::Read, f),
            None => self.attempt(Call::Read, f),
        }
        .map_err(|failed| failed.error)
    }
}
