//! F8: lock order on every write path. Two instances of one process application (separate
//! pools, as two processes would have) record events with tracking for the same upstream
//! from four threads each, while a third instance appends plain events and a fourth records
//! tracking alone. Every write path runs at once: the single-caller insert, the group insert
//! (concurrent callers of one instance), plain appends and tracking-only records. If two paths
//! took the table lock and the tracking row in different orders, PostgreSQL would find
//! deadlocks (40P01) and fail one side. Oracles: no error other than the expected conflicts;
//! tracking never moves backwards; every acknowledged record is stored once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::Uuid;
use eventsourcing::persistence::{
    AggregateRecorder, ProcessRecorder, StoredEvent, Tracking, TrackingRecorder,
};
use eventsourcing::postgres::{PostgresProcessRecorder, drop_postgres_schema};

#[test]
fn f8_no_deadlock_between_write_paths() {
    let Some(mut config) = crate::postgres("f8") else {
        return;
    };
    config.pool_size = 4;
    let instances: Vec<PostgresProcessRecorder> = (0..4)
        .map(|_| PostgresProcessRecorder::new(&config, "proc").unwrap())
        .collect();
    let seconds = if super::full() { 6 } else { 2 };
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let next = AtomicU64::new(1);
    let acked = Mutex::new(Vec::new());
    let (conflicts, other) = (AtomicU64::new(0), Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for instance in &instances[..2] {
            for _ in 0..4 {
                s.spawn(|| {
                    while Instant::now() < deadline {
                        let k = next.fetch_add(1, Ordering::SeqCst);
                        let e = StoredEvent::new(Uuid::new_v4(), 1, "F8", k.to_be_bytes().to_vec());
                        match instance.insert_events_with_tracking(&[e], &Tracking::new("up", k)) {
                            Ok(_) => acked.lock().unwrap().push(k),
                            Err(e) if e.is_tracking_conflict() => {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => other.lock().unwrap().push(format!("{e:?}")),
                        }
                    }
                });
            }
        }
        s.spawn(|| {
            let id = Uuid::new_v4();
            let mut v = 1;
            while Instant::now() < deadline {
                match instances[2].insert_events(&[StoredEvent::new(id, v, "Plain", Vec::new())]) {
                    Ok(_) => v += 1,
                    Err(e) => other.lock().unwrap().push(format!("{e:?}")),
                }
            }
        });
        s.spawn(|| {
            let mut k = 1;
            while Instant::now() < deadline {
                match instances[3].insert_tracking(&Tracking::new("side", k)) {
                    Ok(()) => k += 1,
                    Err(e) => other.lock().unwrap().push(format!("{e:?}")),
                }
                // The same upstream as the process records: tracking alone, racing them.
                let _ =
                    instances[3].insert_tracking(&Tracking::new("up", next.load(Ordering::SeqCst)));
            }
        });
    });
    let other = other.into_inner().unwrap();
    let acked = acked.into_inner().unwrap();
    let groups: u64 = instances[..2]
        .iter()
        .map(|r| r.backend().group_commits())
        .sum();
    eprintln!(
        "F8: {} process records acknowledged, {} tracking conflicts, {} group inserts, other errors {}",
        acked.len(),
        conflicts.load(Ordering::Relaxed),
        groups,
        other.len()
    );
    assert!(
        other.is_empty(),
        "unexpected errors (deadlocks?): {:?}",
        &other[..other.len().min(3)]
    );
    assert!(groups > 0, "the group path ran");
    // Every acknowledged record is stored once.
    let stored: Vec<u64> = es_testkit::support::read_all_after(&instances[0], None)
        .iter()
        .filter(|n| n.topic == "F8")
        .map(|n| u64::from_be_bytes(n.state.clone().try_into().unwrap()))
        .collect();
    let mut sorted = stored.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), stored.len(), "no position recorded twice");
    let mut acked_sorted = acked;
    acked_sorted.sort_unstable();
    assert_eq!(sorted, acked_sorted, "stored = acknowledged");
    drop(instances);
    drop_postgres_schema(&config, &config.schema).unwrap();
}
