//! Through pgbouncer (`scripts/pgbouncer`, Debian's 1.18, started by `scripts/test`) in
//! session mode: the whole recorder kit and the application and system suites pass. Skips
//! locally without `ES_PGBOUNCER_PORT`; fails in CI. Transaction mode is not supported: see
//! the es-postgres README.

use std::sync::Arc;

use es_core::{Env, Uuid};
use es_postgres::{PostgresConfig, PostgresProcessRecorder, drop_postgres_schema};
use es_testkit::Guarded;
use es_testkit::apps::Open;

/// Drops its schema when dropped.
#[derive(Debug)]
struct Schema(PostgresConfig);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = drop_postgres_schema(&self.0, &self.0.schema);
    }
}

fn through_pgbouncer() -> bool {
    es_testkit::env_or_skip("ES_PGBOUNCER_PORT").is_some()
}

/// The settings of the process environment, through pgbouncer's session-mode database, in a
/// fresh schema.
fn env() -> Env {
    let port = std::env::var("ES_PGBOUNCER_PORT").unwrap_or_default();
    Env::from_process("")
        .with("POSTGRES_PORT", port)
        .with(
            "POSTGRES_DBNAME",
            // `eventsourcing_transaction` runs the same tests in transaction mode (it fails).
            std::env::var("ES_PGBOUNCER_DBNAME").unwrap_or_else(|_| "eventsourcing_session".into()),
        )
        .with(
            "POSTGRES_SCHEMA",
            format!("bouncer_{}", Uuid::new_v4().simple()),
        )
        .with("POSTGRES_POOL_SIZE", "2")
        .with("POSTGRES_MAX_OVERFLOW", "2")
}

fn make() -> Guarded<PostgresProcessRecorder, Schema> {
    let config = PostgresConfig::from_env(&env()).unwrap();
    let recorder = PostgresProcessRecorder::new(&config, "app").unwrap();
    Guarded::new(recorder, Schema(config))
}

es_testkit::all_recorder_tests!(make; if through_pgbouncer());

fn storage() -> Open {
    let env = env();
    let schema = Arc::new(Schema(PostgresConfig::from_env(&env).unwrap()));
    Arc::new(move |app: &Env, snapshots: bool| {
        let _keep = &schema;
        let ours = ["POSTGRES_PORT", "POSTGRES_DBNAME", "POSTGRES_SCHEMA"];
        let vars: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("POSTGRES_") && !ours.contains(&k.as_str()))
            .chain(
                ours.iter()
                    .filter_map(|k| env.get(k).map(|v| ((*k).to_owned(), v.to_owned()))),
            )
            .collect();
        es_postgres::open(&app.clone().with_all(vars), snapshots)
    })
}

es_testkit::application_tests!(storage; if through_pgbouncer());
es_testkit::system_tests!(storage; if through_pgbouncer());

/// The DCB suite through pgbouncer in session mode.
mod dcb_log {
    use super::*;
    use es_postgres::PostgresDcbRecorder;

    fn make() -> Guarded<PostgresDcbRecorder, Schema> {
        let config = PostgresConfig::from_env(&env()).unwrap();
        let recorder = PostgresDcbRecorder::new(&config, "app").unwrap();
        Guarded::new(recorder, Schema(config))
    }

    es_testkit::dcb_tests!(make; if through_pgbouncer());
}
