//! SQLite-specific behaviour: WAL, per-application tables, several processes on one file, busy
//! timeouts, missing tables, hostile names and out-of-range values.

use std::process::Command;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Env, EventQuery, NotificationQuery, StoredEvent,
    TimeoutKind, Uuid,
};
use es_sqlite::{SqliteApplicationRecorder, SqliteConfig, SqliteProcessRecorder};
use es_testkit::concurrent;
use es_testkit::support::{event, insert_times_out};

fn file_config(dir: &tempfile::TempDir) -> SqliteConfig {
    SqliteConfig::new(dir.path().join("events.db").to_str().unwrap())
}

#[test]
fn files_use_wal() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir);
    let _r = SqliteApplicationRecorder::new(&config, "DogSchool").unwrap();
    let raw = rusqlite::Connection::open(&config.dbname).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn two_applications_in_one_file_use_separate_tables() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir);
    let dogs = SqliteProcessRecorder::new(&config, "DogSchool").unwrap();
    let counters = SqliteProcessRecorder::new(&config, "Counters").unwrap();
    let id = Uuid::new_v4();
    assert_eq!(
        dogs.insert_events(&[event(id, 1, "Dog.Registered")])
            .unwrap(),
        [1]
    );
    // The same event in the other application is no conflict: another table.
    assert_eq!(
        counters
            .insert_events(&[event(id, 1, "Dog.Registered")])
            .unwrap(),
        [1]
    );
    let raw = rusqlite::Connection::open(&config.dbname).unwrap();
    let mut tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();
    assert_eq!(
        tables,
        [
            "counters_events",
            "counters_leases",
            "counters_tracking",
            "dogschool_events",
            "dogschool_leases",
            "dogschool_tracking"
        ]
    );
}

#[test]
fn a_held_lock_gives_a_busy_timeout_after_the_lock_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = file_config(&dir);
    config.lock_timeout = Duration::from_millis(600);
    let r = SqliteApplicationRecorder::new(&config, "app").unwrap();
    let holder = rusqlite::Connection::open(&config.dbname).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    insert_times_out(
        &r,
        TimeoutKind::Busy,
        Duration::from_millis(500),
        Duration::from_secs(5),
    );
    holder.execute_batch("ROLLBACK").unwrap();
    // Nothing was lost: the next insert succeeds and takes the first id.
    assert_eq!(
        r.insert_events(&[event(Uuid::new_v4(), 1, "t")]).unwrap(),
        [1]
    );
}

#[test]
fn a_missing_table_is_a_programming_error() {
    let mut config = SqliteConfig::new(":memory:");
    config.create_table = false;
    let r = SqliteApplicationRecorder::new(&config, "app").unwrap();
    let e = r
        .select_notifications(&NotificationQuery::new(1))
        .unwrap_err();
    assert!(e.is_programming(), "{e}");
}

#[test]
fn hostile_application_names_are_rejected() {
    let config = SqliteConfig::new(":memory:");
    for name in [
        "",
        "a\"; DROP TABLE x; --",
        "dogs school",
        "1dogs",
        &"x".repeat(60),
    ] {
        let e = SqliteApplicationRecorder::new(&config, name).unwrap_err();
        assert!(e.is_programming(), "{name:?}: {e}");
    }
}

#[test]
fn versions_beyond_sqlite_integers_are_data_errors_and_write_nothing() {
    let r = SqliteApplicationRecorder::new(&SqliteConfig::new(":memory:"), "app").unwrap();
    let id = Uuid::new_v4();
    let e = r
        .insert_events(&[
            event(id, 1, "t"),
            StoredEvent::new(id, u64::MAX, "t", Vec::new()),
        ])
        .unwrap_err();
    assert!(e.is_data(), "{e}");
    assert!(r.select_events(id, &EventQuery::new()).unwrap().is_empty());
    assert_eq!(r.max_notification_id().unwrap(), None);
}

#[test]
fn config_comes_from_the_app_prefixed_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dogs.db");
    let env = Env::new("DogSchool")
        .with("SQLITE_DBNAME", "/nonexistent/dir/never.db")
        .with("DOGSCHOOL_SQLITE_DBNAME", path.to_str().unwrap());
    let r = SqliteApplicationRecorder::from_env(&env).unwrap();
    r.insert_events(&[event(Uuid::new_v4(), 1, "t")]).unwrap();
    assert!(path.exists());
}

const CHILD_DB: &str = "ES_SQLITE_TEST_CHILD_DB";
const PER_WRITER: u64 = 300;

/// The body of the child process of `two_processes_write_and_tail_one_file`; a no-op otherwise.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn child_writer() {
    let Ok(dbname) = std::env::var(CHILD_DB) else {
        return;
    };
    let r = SqliteApplicationRecorder::new(&SqliteConfig::new(dbname), "shared").unwrap();
    concurrent::write_as_child(&r, PER_WRITER);
}

#[test]
fn two_processes_write_and_tail_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir);
    let r = SqliteApplicationRecorder::new(&config, "shared").unwrap();
    let child = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_writer", "--test-threads=1"])
            .env(CHILD_DB, &config.dbname)
            .spawn()
            .unwrap()
    };
    concurrent::tail_while_another_process_writes(&r, child, PER_WRITER, true);
}

/// A file that is not a database is named in the error, as the file the user configured.
#[test]
fn a_file_that_is_not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = file_config(&dir);
    std::fs::write(&config.dbname, vec![b'x'; 4096]).unwrap();
    let e = SqliteApplicationRecorder::new(&config, "app").unwrap_err();
    let text = e.report().to_string();
    assert!(
        text.contains(&config.dbname) && text.contains("not a database"),
        "{text}"
    );
}
