//! B2 hostile schema and file names, B9 undecodable states, C11 gaps wider than a page.

use std::time::Duration;

use eventsourcing::application::Application;
use eventsourcing::persistence::Recorders;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, NotificationQuery, StoredEvent,
};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};
use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{App, MultiThreadedRunner};
use eventsourcing::{Env, Error, Uuid};

use crate::tutorial;

/// The PostgreSQL settings with a pool of two connections and no overflow, or `None`.
fn postgres() -> Option<PostgresConfig> {
    let mut c = crate::postgres("rel")?;
    c.pool_size = 2;
    c.max_overflow = 0;
    Some(c)
}

/// B2: hostile schema names are rejected before any SQL, as invalid `POSTGRES_SCHEMA` values;
/// odd file names are just file names.
#[test]
fn b2_hostile_schema_and_file_names() {
    if let Some(config) = postgres() {
        for schema in [
            "public; DROP TABLE x",
            "a\"b",
            "",
            "x-y",
            &"s".repeat(64),
            "pg_catalog\u{0}",
        ] {
            let mut c = config.clone();
            c.schema = schema.to_owned();
            let e = PostgresApplicationRecorder::new(&c, "app").unwrap_err();
            let text = e.report().to_string();
            assert!(
                e.is_config()
                    && text.contains("POSTGRES_SCHEMA")
                    && text.contains("invalid schema name")
                    && !text.contains("application")
                    && !text.contains("sqlite"),
                "{schema:?}: {e}"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "events; DROP TABLE x.db",
        "spaces and 'quotes'.db",
        "ünïcode-🐈.db",
    ] {
        let path = dir.path().join(name);
        let r = SqliteApplicationRecorder::new(&SqliteConfig::new(path.to_string_lossy()), "app")
            .unwrap();
        r.insert_events(&[StoredEvent::new(Uuid::new_v4(), 1, "T", Vec::new())])
            .unwrap();
        assert!(path.exists(), "{name}: exactly that file");
    }
}

/// B9: a stored event of a known topic whose state does not decode stops the follower at that
/// notification: it is never skipped, and nothing after it is processed.
#[test]
fn b9_undecodable_states_stop_the_follower() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b9.db").to_string_lossy().into_owned();
    let env = Env::new("").with_all([
        ("PERSISTENCE_MODULE", "sqlite"),
        ("SQLITE_DBNAME", db.as_str()),
    ]);
    let runner = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
    runner.start().unwrap();
    let school = runner.get::<tutorial::DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let bad = StoredEvent::new(dog, 2, "Dog.TrickAdded", b"{not json".to_vec());
    let bad_id = school
        .application()
        .recorder()
        .insert_events(&[bad])
        .unwrap()[0];
    let e = runner
        .watch_for_errors(Duration::from_secs(20))
        .unwrap_err();
    assert!(
        matches!(e, Error::Processing { notification_id, ref source, .. } if notification_id == bad_id && source.is_decode()),
        "{e}"
    );
    runner.start().unwrap();
    let counters = runner.get::<tutorial::Counters>().unwrap();
    let tracked = counters
        .application()
        .recorder()
        .max_tracking_id("DogSchool")
        .unwrap();
    assert_eq!(
        tracked,
        Some(bad_id - 1),
        "tracking stops before the undecodable event"
    );
    let e = runner
        .watch_for_errors(Duration::from_secs(20))
        .unwrap_err();
    assert!(
        e.report().to_string().contains("cannot decode"),
        "restarting meets it again: {}",
        e.report()
    );
}

/// C11: readers cross gaps in the ids wider than their page (PostgreSQL burns ids on rollback).
#[test]
fn c11_gaps_wider_than_a_page() {
    let Some(config) = postgres() else { return };
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let id = Uuid::new_v4();
    let first = r
        .insert_events(&[StoredEvent::new(id, 1, "T", Vec::new())])
        .unwrap()[0];
    let burn: Vec<StoredEvent> = (2..=700)
        .map(|v| StoredEvent::new(id, v, "T", Vec::new()))
        .chain([StoredEvent::new(id, 1, "T", Vec::new())])
        .collect();
    assert!(r.insert_events(&burn).unwrap_err().is_version_conflict());
    let after = r
        .insert_events(&[StoredEvent::new(id, 2, "T", Vec::new())])
        .unwrap()[0];
    assert!(after > first + 600, "a gap of {} ids", after - first);
    let page = r
        .select_notifications(&NotificationQuery::new(10).after(first))
        .unwrap();
    assert_eq!(
        page.iter().map(|n| n.id).collect::<Vec<_>>(),
        [after],
        "a page crosses the gap"
    );
    let mut sub = r.subscribe(None, &[]).unwrap();
    let seen: Vec<u64> = sub.by_ref().take(2).map(|n| n.unwrap().id).collect();
    sub.stop();
    assert_eq!(seen, [first, after]);
    let app = Application::new(
        Env::new("app"),
        Recorders::new(std::sync::Arc::new(
            eventsourcing::postgres::PostgresProcessRecorder::new(&config, "app").unwrap(),
        )),
    )
    .unwrap();
    let read: Vec<u64> = app
        .notification_log()
        .read(None, &[])
        .map(|n| n.unwrap().id)
        .collect();
    assert_eq!(
        read,
        [first, after],
        "the log reader (sections of 10) crosses it too"
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}
