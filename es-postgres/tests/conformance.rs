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

/// The kit's view suite: each view in a fresh schema (dropped with it), following applications
/// in another schema.
mod views {
    use std::sync::Arc;

    use es_core::{Env, Result, Uuid};
    use es_postgres::{PgTx, PostgresConfig, PostgresView};
    use es_testkit::views::{CounterView, Counts};

    use super::{Schema, server, storage};

    /// Counters in table `tally_counts` of the view's schema.
    struct Counters {
        view: Arc<PostgresView>,
        table: String,
        _schema: Schema,
    }

    impl CounterView for Counters {
        type Store = PostgresView;

        fn store(&self) -> Arc<PostgresView> {
            Arc::clone(&self.view)
        }

        fn create(&self, tx: &mut PgTx<'_>) -> Result<()> {
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (key text PRIMARY KEY, n bigint NOT NULL)",
                self.table
            ))
        }

        fn add(&self, tx: &mut PgTx<'_>, key: &str, by: u64) -> Result<()> {
            // Queued, so the suite runs the pipelined path (the facade's tests run `execute`).
            let by = i64::try_from(by).unwrap();
            tx.queue(
                &format!(
                    "INSERT INTO {} (key, n) VALUES ($1, $2) \
                     ON CONFLICT (key) DO UPDATE SET n = {}.n + excluded.n",
                    self.table, self.table
                ),
                vec![Box::new(key.to_owned()), Box::new(by)],
            )
        }

        fn counts(&self) -> Result<Counts> {
            let rows = self
                .view
                .query(&format!("SELECT key, n FROM {}", self.table), &[])?;
            Ok(rows
                .iter()
                .map(|r| {
                    (
                        r.get::<_, String>(0),
                        u64::try_from(r.get::<_, i64>(1)).unwrap(),
                    )
                })
                .collect())
        }
    }

    fn view() -> Counters {
        let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
        config.schema = format!("view_{}", Uuid::new_v4().simple());
        config.pool_size = 3;
        config.max_overflow = 2;
        let view = PostgresView::new(&config, "tally").unwrap();
        Counters {
            view: Arc::new(view),
            table: format!("\"{}\".tally_counts", config.schema),
            _schema: Schema { config },
        }
    }

    es_testkit::view_tests!(view, storage; if server());
}

/// The DCB suite, each log in a schema of its own.
mod dcb_log {
    use super::*;
    use es_postgres::PostgresDcbRecorder;

    fn make() -> Guarded<PostgresDcbRecorder, Schema> {
        let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
        config.schema = format!("dcb_{}", Uuid::new_v4().simple());
        config.pool_size = 2;
        config.max_overflow = 4;
        let recorder = PostgresDcbRecorder::new(&config, "app").unwrap();
        Guarded::new(recorder, Schema { config })
    }

    es_testkit::dcb_tests!(make; if server());
}
