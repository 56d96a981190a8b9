//! B2 hostile names, B9 undecodable states, C11 gaps wider than a page, F10 pool exhaustion and
//! leaks,
//! S5 secrets kept out of errors and Debug output.

use std::time::{Duration, Instant};

use eventsourcing::application::{Application, Stores};
use eventsourcing::domain::Aggregate;
use eventsourcing::mapper::AesCipher;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, Env, Error, NotificationQuery, StoredEvent,
    TimeoutKind, Uuid,
};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};
use eventsourcing::system::{App, MultiThreadedRunner};
use eventsourcing::{ApplicationBuilder, RunnerFromEnv};

use crate::common::Dog;
use crate::tutorial;

fn postgres() -> Option<PostgresConfig> {
    let mut c = crate::postgres("rel")?;
    c.pool_size = 2;
    c.max_overflow = 0;
    Some(c)
}

/// B2: hostile schema names are rejected before any SQL; odd file names are just file names.
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
            assert!(e.is_programming(), "{schema:?}: {e}");
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
        e.to_string().contains("cannot decode"),
        "restarting meets it again: {e}"
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
        Stores::new(std::sync::Arc::new(
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

/// F10: with every pooled connection busy, a call waits the connect timeout and fails with a
/// pool timeout; the pool recovers once the connection is released (no leak).
#[test]
fn f10_pool_exhaustion_is_a_typed_timeout() {
    let Some(mut config) = postgres() else { return };
    config.pool_size = 1;
    config.max_overflow = 0;
    config.connect_timeout = Duration::from_secs(1);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut holder = crate::common::admin(&config);
    let tx = crate::lock_events(&mut holder, &config.schema);
    std::thread::scope(|s| {
        // This insert takes the only connection and waits for the lock.
        let blocked =
            s.spawn(|| r.insert_events(&[StoredEvent::new(Uuid::new_v4(), 1, "T", Vec::new())]));
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let e = r.max_notification_id().unwrap_err();
        let waited = started.elapsed();
        assert!(
            matches!(
                e,
                Error::Timeout {
                    kind: TimeoutKind::Pool,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
        tx.rollback().unwrap();
        assert_eq!(blocked.join().unwrap().unwrap().len(), 1);
    });
    for _ in 0..5 {
        r.max_notification_id().unwrap();
    }
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// F10, part two: a thousand failing operations (version conflicts, lock timeouts) on a pool of
/// two leak nothing: the server never sees more than two sessions of ours, none is left idle in
/// a transaction, and the pool works afterwards.
#[test]
fn f10_failing_operations_leak_nothing() {
    let Some(mut config) = postgres() else { return };
    config.application_name = format!("f10-{}", &Uuid::new_v4().simple().to_string()[..12]);
    config.lock_timeout = Duration::from_millis(100);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let id = Uuid::new_v4();
    r.insert_events(&[StoredEvent::new(id, 1, "T", Vec::new())])
        .unwrap();
    let mut admin = crate::common::admin(&config);
    let sessions = |admin: &mut postgres::Client, state: &str| -> i64 {
        admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
                 AND state LIKE $2",
                &[&config.application_name, &state],
            )
            .unwrap()
            .get(0)
    };
    let done = std::sync::atomic::AtomicBool::new(false);
    let (mut conflicts, mut lock_timeouts) = (0, 0);
    let most = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut watch = crate::common::admin(&config);
            let mut most = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                most = most.max(sessions(&mut watch, "%"));
                std::thread::sleep(Duration::from_millis(2));
            }
            most
        });
        std::thread::scope(|t| {
            for _ in 0..4 {
                t.spawn(|| {
                    for _ in 0..250 {
                        let e = r
                            .insert_events(&[StoredEvent::new(id, 1, "T", Vec::new())])
                            .unwrap_err();
                        assert!(e.is_version_conflict(), "{e}");
                    }
                });
            }
        });
        conflicts += 1000;
        let mut holder = crate::common::admin(&config);
        let tx = crate::lock_events(&mut holder, &config.schema);
        for v in 2..12 {
            let e = r
                .insert_events(&[StoredEvent::new(id, v, "T", Vec::new())])
                .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Timeout {
                        kind: TimeoutKind::Lock,
                        ..
                    }
                ),
                "{e}"
            );
            lock_timeouts += 1;
        }
        tx.rollback().unwrap();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        watcher.join().unwrap()
    });
    r.insert_events(&[StoredEvent::new(id, 2, "T", Vec::new())])
        .unwrap();
    let idle_in_tx = sessions(&mut admin, "idle in transaction%");
    eprintln!(
        "F10: {conflicts} version conflicts and {lock_timeouts} lock timeouts on a pool of 2: \
         most server sessions {most}, idle in transaction {idle_in_tx}"
    );
    assert!(most <= 2, "{most} sessions for a pool of 2");
    assert_eq!(idle_in_tx, 0);
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// S5: keys and passwords appear in no error and no Debug output.
#[test]
fn s5_no_secrets_in_errors_or_debug() {
    let key = AesCipher::create_key(32);
    let app = ApplicationBuilder::new("Secretive")
        .without_process_env()
        .var("CIPHER_KEY", key.clone())
        .build()
        .unwrap();
    let texts = [
        format!("{app:?}"),
        format!("{:?}", app.env()),
        format!("{:?}", app.mapper()),
    ];
    for t in &texts {
        assert!(!t.contains(&key), "key in {t}");
    }
    let mut dog = Dog::new("Max");
    app.save(&mut dog).unwrap();
    let other = Application::new(
        Env::new("Secretive").with("CIPHER_KEY", AesCipher::create_key(32)),
        Stores::new(std::sync::Arc::clone(app.recorder())),
    )
    .unwrap();
    let e = other.get::<Dog>(dog.id()).unwrap_err();
    assert!(!format!("{e} {e:?}").contains(&key));
    let password = "pw-that-must-not-leak-42";
    let env = Env::new("x").with_all([
        ("POSTGRES_DBNAME", "d"),
        ("POSTGRES_HOST", "127.0.0.1"),
        ("POSTGRES_PORT", "1"),
        ("POSTGRES_USER", "u"),
        ("POSTGRES_PASSWORD", password),
        ("POSTGRES_CONNECT_TIMEOUT", "1"),
    ]);
    let config = PostgresConfig::from_env(&env).unwrap();
    assert!(!format!("{config:?}").contains(password));
    let e = PostgresApplicationRecorder::new(&config, "app").unwrap_err();
    assert!(!format!("{e} {e:?}").contains(password), "{e:?}");
    let e = eventsourcing::postgres::drop_postgres_table(&config, "t").unwrap_err();
    assert!(!format!("{e} {e:?}").contains(password), "{e:?}");
}
