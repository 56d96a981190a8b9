//! The whole conformance kit on SQLite, three ways: a temporary file (WAL), `:memory:`, and a
//! named shared-cache memory database.

use es_sqlite::{SqliteConfig, SqliteProcessRecorder};
use es_testkit::Guarded;
use tempfile::TempDir;

/// A fresh application name, so cases never share tables.
fn app() -> String {
    format!("app_{}", es_core::Uuid::new_v4().simple())
}

mod file {
    use super::*;

    fn make() -> Guarded<SqliteProcessRecorder, TempDir> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let config = SqliteConfig::new(path.to_str().unwrap());
        Guarded::new(SqliteProcessRecorder::new(&config, &app()).unwrap(), dir)
    }

    es_testkit::all_recorder_tests!(make, gap_free);
}

mod memory {
    use super::*;

    fn make() -> SqliteProcessRecorder {
        SqliteProcessRecorder::new(&SqliteConfig::new(":memory:"), &app()).unwrap()
    }

    es_testkit::all_recorder_tests!(make, gap_free);
}

mod shared_memory {
    use super::*;

    fn make() -> SqliteProcessRecorder {
        let name = format!("file:{}?mode=memory&cache=shared", app());
        SqliteProcessRecorder::new(&SqliteConfig::new(name), &app()).unwrap()
    }

    es_testkit::all_recorder_tests!(make, gap_free);
}

mod by_type {
    use super::*;
    use es_sqlite::{SqliteAggregateRecorder, SqliteApplicationRecorder, SqliteTrackingRecorder};

    fn memory() -> SqliteConfig {
        SqliteConfig::new(":memory:")
    }

    mod aggregate {
        use super::*;
        fn make() -> SqliteAggregateRecorder {
            SqliteAggregateRecorder::new(&memory(), &app()).unwrap()
        }
        es_testkit::aggregate_recorder_tests!(make);
    }

    mod application {
        use super::*;
        fn make() -> SqliteApplicationRecorder {
            SqliteApplicationRecorder::new(&memory(), &app()).unwrap()
        }
        es_testkit::application_recorder_tests!(make, gap_free);
    }

    mod tracking {
        use super::*;
        fn make() -> SqliteTrackingRecorder {
            SqliteTrackingRecorder::new(&memory(), &app()).unwrap()
        }
        es_testkit::tracking_recorder_tests!(make);
    }
}

/// The kit's application and system suites on a temporary file, and on a named shared-cache
/// memory database (the system suite needs a database that several openings share, so not on
/// `:memory:`, which is private to each opening).
mod applications_and_systems {
    use std::sync::Arc;

    use es_core::Env;
    use es_testkit::apps::Open;

    fn on(dbname: String, keep: Option<tempfile::TempDir>) -> Open {
        Arc::new(move |env: &Env, snapshots: bool| {
            let _keep = &keep;
            es_sqlite::open(
                &env.clone().with("SQLITE_DBNAME", dbname.clone()),
                snapshots,
            )
        })
    }

    mod file {
        use super::*;
        fn storage() -> Open {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("apps.db").to_string_lossy().into_owned();
            on(path, Some(dir))
        }
        es_testkit::application_tests!(storage);
        es_testkit::system_tests!(storage);
    }

    mod shared_memory {
        use super::*;
        fn storage() -> Open {
            on(
                format!("file:{}?mode=memory&cache=shared", super::super::app()),
                None,
            )
        }
        es_testkit::application_tests!(storage);
        es_testkit::system_tests!(storage);
    }

    mod memory {
        use super::*;
        fn storage() -> Open {
            on(":memory:".to_owned(), None)
        }
        es_testkit::application_tests!(storage);
    }
}
