//! The whole conformance kit on PostgreSQL. Each recorder gets its own schema, dropped when the
//! recorder is. Skips locally (with a message) when `POSTGRES_DBNAME` is unset; fails in CI.

use es_core::{Env, Uuid};
use es_postgres::{PostgresConfig, PostgresProcessRecorder, drop_postgres_schema};
use es_testkit::Guarded;

/// Drops its schema when dropped.
#[derive(Debug)]
struct Schema {
    config: PostgresConfig,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = drop_postgres_schema(&self.config, &self.config.schema);
    }
}

fn server() -> bool {
    es_testkit::env_or_skip("POSTGRES_DBNAME").is_some()
}

fn make() -> Guarded<PostgresProcessRecorder, Schema> {
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("test_{}", Uuid::new_v4().simple());
    config.pool_size = 2;
    config.max_overflow = 2;
    let recorder = PostgresProcessRecorder::new(&config, "app").unwrap();
    Guarded::new(recorder, Schema { config })
}

es_testkit::all_recorder_tests!(make; if server());

mod boxed {
    use super::*;
    fn make_boxed() -> Box<dyn es_core::ProcessRecorder> {
        Box::new(make())
    }
    es_testkit::application_recorder_tests!(make_boxed; if server());
}

/// A fresh schema per storage, left for the kit's application and system suites to fill; it is
/// dropped with the last application on it (the opener holds the guard).
fn storage() -> es_testkit::apps::Open {
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("apps_{}", Uuid::new_v4().simple());
    let schema = std::sync::Arc::new(Schema {
        config: config.clone(),
    });
    std::sync::Arc::new(move |env: &Env, snapshots: bool| {
        let _keep = &schema;
        let env = env
            .clone()
            .with("POSTGRES_SCHEMA", schema.config.schema.clone())
            .with("POSTGRES_POOL_SIZE", "2")
            .with("POSTGRES_MAX_OVERFLOW", "2");
        es_postgres::open(&env.with_all(process_postgres_vars()), snapshots)
    })
}

/// The `POSTGRES_*` settings of the process environment, except the schema and pool sizes.
fn process_postgres_vars() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("POSTGRES_")
                && !matches!(
                    k.as_str(),
                    "POSTGRES_SCHEMA" | "POSTGRES_POOL_SIZE" | "POSTGRES_MAX_OVERFLOW"
                )
        })
        .collect()
}

es_testkit::application_tests!(storage; if server());
es_testkit::system_tests!(storage; if server());
