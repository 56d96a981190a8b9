//! Getting a pooled connection and running a call on it: bounded waits while the pool cannot
//! open connections, one retry of a read whose connection was lost.

use std::time::{Duration, Instant};

use super::{Pool, PooledConn, PostgresBackend};
use crate::error::{Call, Failed, is_connection_loss, map_pg_error};
use crate::pool::Conn;
use crate::watch::Watch;

impl PostgresBackend {
    /// [`PostgresBackend::attempt`] on `pool`, whose view of the server `watch` keeps.
    pub(super) fn attempt_on<T>(
        &self,
        pool: &Pool,
        watch: &Watch,
        call: Call,
        mut f: impl FnMut(&mut Conn) -> Result<T, crate::client::DbError>,
    ) -> Result<T, Failed> {
        // Every connection idle in the pool may have been lost at once (a server restart, an
        // administrator terminating sessions): each one found closed is dropped, and a read
        // that failed on a lost connection is tried again, up to once per pooled connection.
        let most = pool.max_size() + 1;
        let (mut skipped, mut tries) = (0u32, 0u32);
        loop {
            let mut conn = self.checkout(pool, watch)?;
            if conn.client().is_closed() && skipped < most {
                // Closed while idle in the pool; nothing was sent. The pool drops it.
                skipped += 1;
                continue;
            }
            tries += 1;
            match f(&mut conn) {
                Ok(v) => return Ok(v),
                Err(e) if tries <= most && call == Call::Read && is_connection_loss(&e) => {}
                Err(e) => {
                    let error = map_pg_error(e, call, self.lock_timeout);
                    let session = if error.is_outcome_unknown() {
                        conn.session.clone()
                    } else {
                        None
                    };
                    return Err(Failed { error, session });
                }
            }
        }
    }

    /// A pooled connection for a transaction of several calls (a view's), not known to be
    /// closed: one found closed while idle is dropped and another taken, once per pooled
    /// connection at most.
    pub(crate) fn connection(&self) -> Result<PooledConn, Failed> {
        let mut conn = self.checkout(&self.pool, &self.watch)?;
        for _ in 0..self.pool.max_size() {
            if !conn.client().is_closed() {
                break;
            }
            conn = self.checkout(&self.pool, &self.watch)?;
        }
        Ok(conn)
    }

    /// A connection from `pool`: waits up to the connect timeout while connections are busy,
    /// but only up to the outage timeout while the pool's attempts to open one fail, and then
    /// fails with why they fail.
    fn checkout(&self, pool: &Pool, watch: &Watch) -> Result<PooledConn, Failed> {
        const SLICE: Duration = Duration::from_millis(100);
        let started = Instant::now();
        loop {
            let outage = watch.failing(self.outage_timeout);
            let limit = if outage {
                self.outage_timeout.min(self.connect_timeout)
            } else {
                self.connect_timeout
            };
            let left = limit.saturating_sub(started.elapsed());
            match pool.get_timeout(left.min(SLICE).max(Duration::from_millis(1))) {
                Ok(conn) => return Ok(conn),
                Err(_) if started.elapsed() >= limit => {
                    return Err(Failed {
                        error: watch.pool_error(started.elapsed(), self.outage_timeout),
                        session: None,
                    });
                }
                Err(_) => {}
            }
        }
    }
}
