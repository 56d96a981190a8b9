//! Leases in the application's `<app>_leases` table, by the server's clock: one clock for
//! every machine, whatever theirs say.

use std::time::Duration;

use es_core::{Lease, Result};
use postgres::types::{ToSql, Type};

use super::{PostgresBackend, get};
use crate::error::Call;

impl PostgresBackend {
    pub(super) fn acquire_lease_here(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool> {
        let seconds = ttl.as_secs_f64();
        let params: [(&(dyn ToSql + Sync), Type); 3] = [
            (&name, Type::TEXT),
            (&holder, Type::TEXT),
            (&seconds, Type::FLOAT8),
        ];
        let sql = &self.sql.tracking.acquire_lease;
        let rows = self.with(Call::Write, |c| c.query(sql, &params))?;
        Ok(!rows.is_empty())
    }

    pub(super) fn release_lease_here(&self, name: &str, holder: &str) -> Result<()> {
        let params: [(&(dyn ToSql + Sync), Type); 2] = [(&name, Type::TEXT), (&holder, Type::TEXT)];
        let sql = &self.sql.tracking.release_lease;
        self.with(Call::Write, |c| c.query(sql, &params)).map(drop)
    }

    pub(super) fn leases_here(&self, prefix: &str) -> Result<Vec<Lease>> {
        let params: [(&(dyn ToSql + Sync), Type); 1] = [(&prefix, Type::TEXT)];
        let sql = &self.sql.tracking.leases;
        let rows = self.with(Call::Read, |c| c.query(sql, &params))?;
        rows.iter()
            .map(|row| {
                Ok(Lease {
                    name: get(row, 0)?,
                    holder: get(row, 1)?,
                })
            })
            .collect()
    }
}
