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

    pub(super) fn on(dbname: String, keep: Option<tempfile::TempDir>) -> Open {
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

/// The kit's view suite: views in a temporary file and in a named shared-cache memory database,
/// following applications in another database.
mod views {
    use std::sync::Arc;

    use es_core::Result;
    use es_sqlite::rusqlite::params;
    use es_sqlite::{SqliteConfig, SqliteTx, SqliteView};
    use es_testkit::views::{CounterView, Counts};

    /// Counters in table `tally_counts` of the view's database.
    struct Counters {
        view: Arc<SqliteView>,
        _dir: Option<tempfile::TempDir>,
    }

    impl CounterView for Counters {
        type Store = SqliteView;

        fn store(&self) -> Arc<SqliteView> {
            Arc::clone(&self.view)
        }

        fn create(&self, tx: &mut SqliteTx<'_>) -> Result<()> {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS tally_counts \
                 (key TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            )
        }

        fn add(&self, tx: &mut SqliteTx<'_>, key: &str, by: u64) -> Result<()> {
            tx.execute(
                "INSERT INTO tally_counts (key, n) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET n = n + excluded.n",
                params![key, i64::try_from(by).unwrap()],
            )
            .map(drop)
        }

        fn counts(&self) -> Result<Counts> {
            self.view.read(|conn| {
                let mut stmt = conn.prepare("SELECT key, n FROM tally_counts")?;
                let rows = stmt.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?;
                rows.map(|r| r.map(|(k, n)| (k, u64::try_from(n).unwrap())))
                    .collect()
            })
        }
    }

    fn storage() -> es_testkit::apps::Open {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("apps.db").to_string_lossy().into_owned();
        super::applications_and_systems::on(path, Some(dir))
    }

    mod file {
        use super::*;
        fn view() -> Counters {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("view.db");
            let config = SqliteConfig::new(path.to_str().unwrap());
            Counters {
                view: Arc::new(SqliteView::new(&config, "tally").unwrap()),
                _dir: Some(dir),
            }
        }
        es_testkit::view_tests!(view, storage);
    }

    mod shared_memory {
        use super::*;
        fn view() -> Counters {
            let name = format!("file:{}?mode=memory&cache=shared", crate::app());
            Counters {
                view: Arc::new(SqliteView::new(&SqliteConfig::new(name), "tally").unwrap()),
                _dir: None,
            }
        }
        es_testkit::view_tests!(view, storage);
    }
}

/// The DCB suite on a temporary file, `:memory:` and a named shared-cache memory database.
mod dcb_log {
    use super::*;
    use es_sqlite::SqliteDcbRecorder;

    mod file {
        use super::*;
        fn make() -> Guarded<SqliteDcbRecorder, TempDir> {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("dcb.db");
            let config = SqliteConfig::new(path.to_str().unwrap());
            Guarded::new(SqliteDcbRecorder::new(&config, &app()).unwrap(), dir)
        }
        es_testkit::dcb_tests!(make, gap_free);
    }

    mod memory {
        use super::*;
        fn make() -> SqliteDcbRecorder {
            SqliteDcbRecorder::new(&SqliteConfig::new(":memory:"), &app()).unwrap()
        }
        es_testkit::dcb_tests!(make, gap_free);
    }

    mod shared_memory {
        use super::*;
        fn make() -> SqliteDcbRecorder {
            let name = format!("file:{}?mode=memory&cache=shared", app());
            SqliteDcbRecorder::new(&SqliteConfig::new(name), &app()).unwrap()
        }
        es_testkit::dcb_tests!(make, gap_free);
    }
}
