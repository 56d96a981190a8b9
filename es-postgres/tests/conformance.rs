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
