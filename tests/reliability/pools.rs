//! F10: pool exhaustion is a typed timeout, and failing operations leak no connection.

use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::{Error, TimeoutKind, Uuid};

/// The PostgreSQL settings with a pool of two connections and no overflow, or `None`.
fn postgres() -> Option<PostgresConfig> {
    let mut c = crate::postgres("rel")?;
    c.pool_size = 2;
    c.max_overflow = 0;
    Some(c)
}

/// F10: with every pooled connection busy, a call waits the connect timeout and fails with a
/// pool timeout; the pool recovers once the connection is released (no leak).
#[test]
fn f10_pool_exhaustion_is_a_typed_timeout() {
    let Some(mut config) = postgres() else { return };
    config.pool_size = 1;
    config.max_overflow = 0;
    config.connect_timeout = Duration::from_secs(1);
    // This test's sessions, apart from those of the tests running beside it.
    config.application_name.clone_from(&config.schema);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut holder = crate::common::admin(&config);
    let mut watcher = crate::common::admin(&config);
    let tx = crate::lock_events(&mut holder, &config.schema);
    std::thread::scope(|s| {
        // This insert takes the only connection and waits for the lock.
        let blocked =
            s.spawn(|| r.insert_events(&[StoredEvent::new(Uuid::new_v4(), 1, "T", Vec::new())]));
        // Wait until the server shows it waiting (not a sleep: a busy machine is slow).
        let deadline = Instant::now() + Duration::from_secs(60);
        while watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND application_name = $1",
                &[&config.application_name],
            )
            .unwrap()
            .get::<_, i64>(0)
            == 0
        {
            assert!(
                Instant::now() < deadline,
                "the insert never waited for the lock"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
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
