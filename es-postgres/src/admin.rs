//! Administration: dropping tables and schemas, for tests and tools.

use es_core::{Error, Result, TablePrefix};

use crate::config::PostgresConfig;
use crate::error::{Call, map_pg_error};
use crate::runtime::blocking;

fn run(config: &PostgresConfig, sql: &str) -> Result<()> {
    blocking(|| {
        config
            .connect()?
            .batch_execute(sql)
            .map_err(|e| map_pg_error(e.into(), Call::Write, config.lock_timeout))
    })
}

/// Drops `table` (for example `"dogschool_events"`) in `config.schema` if it exists, as the
/// Python library's `drop_postgres_table` did. The name is validated, never interpolated raw.
///
/// # Errors
///
/// [`Error::Programming`] for an invalid name; connection and server errors.
pub fn drop_postgres_table(config: &PostgresConfig, table: &str) -> Result<()> {
    let schema = TablePrefix::schema(&config.schema)?;
    let table = TablePrefix::new(table)?;
    run(
        config,
        &format!("DROP TABLE IF EXISTS \"{schema}\".\"{table}\" CASCADE"),
    )
}

/// Drops the schema `schema` and everything in it, if it exists.
///
/// # Errors
///
/// [`Error::Programming`] for an invalid name or for `public`; connection and server errors.
pub fn drop_postgres_schema(config: &PostgresConfig, schema: &str) -> Result<()> {
    let schema = TablePrefix::schema(schema)?;
    if schema.as_str() == "public" {
        return Err(Error::programming("refusing to drop the public schema"));
    }
    run(
        config,
        &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
    )
}
