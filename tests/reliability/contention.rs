//! C2 lost updates with retries, C8 snapshots and cache under contention, C10 pool pressure, F4 a connection terminated while its
//! insert waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventsourcing::application::Application;
use eventsourcing::domain::Root;
use eventsourcing::persistence::Recorders;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, NotificationQuery, StoredEvent,
};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::sqlite::SqliteApplicationRecorder;
use eventsourcing::{Env, Uuid};

use crate::common::{Counter, CounterEvent, backends};

const THREADS: u64 = 4;
const EACH: u64 = 25;

/// `THREADS` threads each increment counter `id` `EACH` times by load-modify-save, all loading
/// the same version before anyone saves (one wins, the others conflict, reload and retry).
/// Returns how many version conflicts were met.
fn increment_concurrently(app: &Application, id: Uuid, backend: &str) -> u64 {
    let conflicts = AtomicU64::new(0);
    let barrier = std::sync::Barrier::new(usize::try_from(THREADS).unwrap());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    let mut c: Root<Counter> = app.get(id).unwrap();
                    barrier.wait();
                    loop {
                        c.trigger(CounterEvent::Incremented);
                        match app.save(&mut c) {
                            Ok(_) => break,
                            Err(e) if e.is_version_conflict() => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                                c = app.get(id).unwrap();
                            }
                            Err(e) => panic!("{backend}: {e}"),
                        }
                    }
                }
            });
        }
    });
    conflicts.into_inner()
}

/// C2: threads increment one counter aggregate by load-modify-save, retrying on version
/// conflicts: no increment is lost, and conflicts really happened.
#[test]
fn c2_no_lost_updates_with_retries() {
    for b in backends() {
        let app = b
            .app(&format!("c2_{}", &Uuid::new_v4().simple().to_string()[..8]))
            .build()
            .unwrap();
        let mut counter = Counter::new("shared");
        app.save(&mut counter).unwrap();
        let conflicts = increment_concurrently(&app, counter.id(), b.name);
        let c: Root<Counter> = app.get(counter.id()).unwrap();
        assert_eq!(c.count, THREADS * EACH, "{}: no lost update", b.name);
        assert!(conflicts > 0, "{}: contention happened", b.name);
    }
}

/// C8: snapshots every 10 events and the aggregate cache on, four threads incrementing one
/// counter with retries, on every backend: the count is exact (a stale cached aggregate never
/// commits at an old version: it conflicts), snapshots were taken, and the state loaded from the
/// latest snapshot plus later events equals a full replay by an application without snapshots
/// or cache on the same events.
#[test]
fn c8_snapshots_and_cache_under_contention() {
    for b in backends() {
        let name = format!("c8_{}", &Uuid::new_v4().simple().to_string()[..8]);
        let app = b
            .app(&name)
            .var("IS_SNAPSHOTTING_ENABLED", "y")
            .var("AGGREGATE_CACHE_MAXSIZE", "100")
            .snapshotting_interval::<Counter>(10)
            .build()
            .unwrap();
        let mut counter = Counter::new("c8");
        app.save(&mut counter).unwrap();
        let conflicts = increment_concurrently(&app, counter.id(), b.name);
        let loaded: Root<Counter> = app.get(counter.id()).unwrap();
        assert_eq!(loaded.count, THREADS * EACH, "{}: no lost update", b.name);
        let snapshots = app
            .snapshot_recorder()
            .unwrap()
            .select_events(counter.id(), &EventQuery::new())
            .unwrap();
        assert!(
            snapshots.len() >= 9,
            "{}: {} snapshots",
            b.name,
            snapshots.len()
        );
        let replay = Application::new(
            Env::new(&name),
            Recorders::new(std::sync::Arc::clone(app.recorder())),
        )
        .unwrap();
        let replayed: Root<Counter> = replay.get(counter.id()).unwrap();
        assert_eq!(replayed.count, loaded.count, "{}", b.name);
        assert_eq!(replayed.version(), loaded.version(), "{}", b.name);
        assert_eq!(replayed.modified_on(), loaded.modified_on(), "{}", b.name);
        assert!(conflicts > 0, "{}: contention", b.name);
    }
}

/// C10: sixteen threads share a pool of two connections: everyone waits their turn, nobody
/// fails, and everything written is read back.
#[test]
fn c10_pool_pressure() {
    let Some(mut config) = crate::postgres("c10") else {
        return;
    };
    config.pool_size = 2;
    config.max_overflow = 0;
    config.connect_timeout = Duration::from_secs(30);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                let id = Uuid::new_v4();
                for v in 1..=20 {
                    r.insert_events(&[StoredEvent::new(id, v, "P", Vec::new())])
                        .unwrap();
                    r.select_notifications(&NotificationQuery::new(50)).unwrap();
                    assert_eq!(
                        r.select_events(id, &EventQuery::new()).unwrap().len(),
                        usize::try_from(v).unwrap()
                    );
                }
            });
        }
    });
    assert_eq!(es_testkit::support::read_all_after(&r, None).len(), 16 * 20);
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// F4: the server terminates a connection whose insert waits for the table lock. The library
/// settles the lost write (the session is gone and the event absent, so it sends it again on a
/// fresh connection): the caller gets success, never a false version conflict, and the event
/// is recorded exactly once.
#[test]
fn f4_connection_terminated_mid_transaction() {
    let Some(mut config) = crate::postgres("f4") else {
        return;
    };
    config.application_name = format!("f4_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut holder = crate::common::admin(&config);
    let mut admin = crate::common::admin(&config);
    let tx = crate::lock_events(&mut holder, &config.schema);
    let id = Uuid::new_v4();
    std::thread::scope(|s| {
        let writer = s.spawn(|| r.insert_events(&[StoredEvent::new(id, 1, "F4", Vec::new())]));
        // Wait until the insert is waiting for the lock, then terminate its connection.
        let mut killed = 0_i64;
        for _ in 0..200 {
            killed = admin
                .query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", &[&config.application_name])
                .unwrap()
                .get(0);
            if killed > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(killed, 1, "the waiting insert's connection was terminated");
        tx.rollback().unwrap();
        let ids = writer.join().unwrap().unwrap();
        assert_eq!(ids.len(), 1, "settled and sent again on a fresh connection");
    });
    assert_eq!(
        r.select_events(id, &EventQuery::new()).unwrap().len(),
        1,
        "recorded exactly once"
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// F13: the configured lock and idle-in-transaction timeouts are what the server applies on
/// the recorder's pooled connections.
#[test]
fn f13_configured_timeouts_reach_the_server() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let env = Env::from_process("").with_all([
        (
            "POSTGRES_SCHEMA",
            format!("f13_{}", Uuid::new_v4().simple()),
        ),
        ("POSTGRES_LOCK_TIMEOUT", "7".to_owned()),
        ("POSTGRES_KEEPALIVES_IDLE", "7".to_owned()),
        (
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT",
            "11".to_owned(),
        ),
    ]);
    let mut config = PostgresConfig::from_env(&env).unwrap();
    config.application_name = format!("f13_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    assert_eq!(r.backend().session_setting("lock_timeout").unwrap(), "7s");
    assert_eq!(
        r.backend()
            .session_setting("idle_in_transaction_session_timeout")
            .unwrap(),
        "11s"
    );
    assert_eq!(
        r.backend().session_setting("synchronous_commit").unwrap(),
        "on"
    );
    assert_tcp_keepalive(&config, Duration::from_secs(7));
    assert!(
        r.backend()
            .session_setting("lock_timeout; DROP TABLE x")
            .unwrap_err()
            .is_programming()
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// The recorder's pooled connections (found by `application_name`) have a TCP keepalive timer
/// of at most `idle` (`ss` shows the client socket's timers): `POSTGRES_KEEPALIVES_IDLE`
/// reaches the socket, instead of the OS's two hours.
fn assert_tcp_keepalive(config: &PostgresConfig, idle: Duration) {
    let ports: Vec<i32> = crate::common::admin(config)
        .query(
            "SELECT client_port FROM pg_stat_activity WHERE application_name = $1 \
             AND client_port > 0",
            &[&config.application_name],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        !ports.is_empty(),
        "a pooled TCP connection (POSTGRES_HOST must be an address)"
    );
    for port in ports {
        let out = std::process::Command::new("ss")
            .args([
                "-tnoH",
                "state",
                "established",
                &format!("( sport = :{port} )"),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let timer = text
            .split("timer:(keepalive,")
            .nth(1)
            .and_then(|t| t.split(',').next())
            .unwrap_or_else(|| panic!("no keepalive timer on port {port}: {text}"));
        let left = if let Some(ms) = timer.strip_suffix("ms") {
            Duration::from_secs_f64(ms.parse::<f64>().unwrap() / 1000.0)
        } else if let Some(sec) = timer.strip_suffix("sec").filter(|s| !s.contains("min")) {
            Duration::from_secs_f64(sec.parse().unwrap())
        } else {
            panic!("keepalive timer {timer} on port {port}: longer than a minute");
        };
        assert!(
            left <= idle,
            "keepalive timer {left:?} > {idle:?} on port {port}"
        );
    }
}

/// F13 on SQLite: a file database is in WAL mode with `synchronous = FULL` (2, SQLite's
/// default, kept: durable commits) and the configured busy timeout, on the writer connection.
#[test]
fn f13_sqlite_settings_reach_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let env = Env::new("f13").with_all([
        (
            "SQLITE_DBNAME",
            dir.path().join("f13.db").to_string_lossy().into_owned(),
        ),
        ("SQLITE_LOCK_TIMEOUT", "3".to_owned()),
    ]);
    let r = SqliteApplicationRecorder::from_env(&env).unwrap();
    assert_eq!(r.backend().pragma("journal_mode").unwrap(), "wal");
    assert_eq!(r.backend().pragma("synchronous").unwrap(), "2");
    assert_eq!(r.backend().pragma("busy_timeout").unwrap(), "3000");
    assert!(
        r.backend()
            .pragma("user_version; DROP TABLE x")
            .unwrap_err()
            .is_programming()
    );
}
