//! F6: stuck lock holders on PostgreSQL.
//!
//! (a) A library writer process frozen with SIGSTOP at random moments holds no lock: each
//! write is one statement that the server runs and commits by itself, so nothing waits for a
//! stopped client. Other writers see no error and no stall near the lock timeout, even with the
//! writer stopped for longer than that timeout.
//! (b) A foreign session that takes the table lock and goes idle in its transaction: library
//! writers fail with a lock timeout after the configured second, and succeed once the server
//! ends the idle session (`idle_in_transaction_session_timeout`); the longest stall is bounded
//! by that timeout plus the lock timeout.

use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, EventQuery, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::{Env, Error, TimeoutKind, Uuid};

const CHILD: &str = "ES_F6_CHILD_SCHEMA";

fn config(schema: &str) -> PostgresConfig {
    let mut c = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    c.schema = schema.to_owned();
    c.lock_timeout = Duration::from_secs(1);
    c
}

/// The child: appends to its own aggregate until killed.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn f6_child() {
    let Ok(schema) = std::env::var(CHILD) else {
        return;
    };
    let r = PostgresApplicationRecorder::new(&config(&schema), "app").unwrap();
    let id = Uuid::new_v4();
    for v in 1.. {
        r.insert_events(&[StoredEvent::new(id, v, "Child", vec![1; 512])])
            .unwrap();
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig}");
}

#[test]
fn f6_a_stopped_writer_holds_no_lock() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let config = config(&format!("f6a_{}", Uuid::new_v4().simple()));
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "stalls::f6_child",
            "--test-threads=1",
        ])
        .env(CHILD, &config.schema)
        .spawn()
        .unwrap();
    let (stops, stopped_for) = if super::full() {
        (8, Duration::from_millis(1500))
    } else {
        (3, Duration::from_millis(1200))
    };
    let done = AtomicBool::new(false);
    let worst = Mutex::new(Duration::ZERO);
    let finished = Mutex::new(Vec::new());
    let mut windows = Vec::new();
    let mut written = 0;
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let id = Uuid::new_v4();
            let mut v = 1;
            while !done.load(Ordering::SeqCst) {
                let started = Instant::now();
                r.insert_events(&[StoredEvent::new(id, v, "Parent", Vec::new())])
                    .unwrap_or_else(|e| {
                        panic!("a parent write failed while the child was stopped: {e}")
                    });
                let took = started.elapsed();
                finished.lock().unwrap().push(Instant::now());
                let mut w = worst.lock().unwrap();
                *w = (*w).max(took);
                v += 1;
            }
            v - 1
        });
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..stops {
            signal(&child, "-STOP");
            let stopped = Instant::now();
            std::thread::sleep(stopped_for);
            windows.push((stopped, Instant::now()));
            signal(&child, "-CONT");
            std::thread::sleep(Duration::from_millis(150));
        }
        done.store(true, Ordering::SeqCst);
        written = writer.join().unwrap();
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "the child kept running after each stop"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let worst = *worst.lock().unwrap();
    eprintln!(
        "F6a: child stopped {stops} × {stopped_for:?}; parent wrote {written}, errors 0, \
         longest parent write {worst:?}"
    );
    assert!(written > 0);
    // A stopped writer that held the table's lock would stop the parent for its whole stop.
    // The parent must finish writes in every stop; a single slow write (the disk's fsync on a
    // shared machine once took 1.8 s here) is reported above but is not the library's stall.
    let finished = finished.lock().unwrap();
    for (i, (from, to)) in windows.iter().enumerate() {
        let during = finished.iter().filter(|t| *t > from && *t < to).count();
        assert!(
            during > 0,
            "the parent wrote nothing during stop {i}: {worst:?}"
        );
    }
    drop(r);
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn f6_a_foreign_idle_lock_holder_is_bounded() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let config = config(&format!("f6b_{}", Uuid::new_v4().simple()));
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut holder = config.connect().unwrap();
    holder
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = '3s'; BEGIN; \
             LOCK TABLE \"{}\".app_events IN EXCLUSIVE MODE",
            config.schema
        ))
        .unwrap();
    let locked = Instant::now();
    let id = Uuid::new_v4();
    let mut timeouts = Vec::new();
    let resumed = loop {
        let started = Instant::now();
        match r.insert_events(&[StoredEvent::new(id, 1, "T", Vec::new())]) {
            Ok(_) => break locked.elapsed(),
            Err(Error::Timeout {
                kind: TimeoutKind::Lock,
                ..
            }) => timeouts.push(started.elapsed()),
            Err(e) => panic!("{e}"),
        }
        assert!(locked.elapsed() < Duration::from_secs(10), "never resumed");
    };
    let holder_error = holder.simple_query("SELECT 1").unwrap_err();
    eprintln!(
        "F6b: lock timeouts {timeouts:?}, writes resumed {resumed:?} after the lock was taken, \
         holder then got: {holder_error}"
    );
    assert!(!timeouts.is_empty());
    for t in &timeouts {
        assert!(
            *t >= Duration::from_millis(900) && *t < Duration::from_secs(2),
            "a lock timeout took {t:?}"
        );
    }
    assert!(
        resumed >= Duration::from_millis(2900)
            && resumed < Duration::from_secs(4) + Duration::from_millis(500),
        "resumed after {resumed:?}"
    );
    assert_eq!(
        r.select_events(id, &EventQuery::default()).unwrap().len(),
        1
    );
    drop(r);
    drop_postgres_schema(&config, &config.schema).unwrap();
}
