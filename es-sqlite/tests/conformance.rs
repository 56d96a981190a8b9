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
