//! F15: a primary failover. A primary and a streaming standby (`scripts/postgres-failover`);
//! writers append throughout through `POSTGRES_HOST=primary,standby` and a follower tails the
//! log; the primary's WAL sender is stopped (the standby falls behind), the primary is killed
//! with SIGKILL half a second later, and the standby is promoted. With synchronous replication
//! nothing acknowledged is lost and the follower sees every stored event once; the control, with
//! asynchronous replication, loses what the standby had not received, and its follower has seen
//! ids the new primary never had. Full profile only (it runs its own servers).

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, EventQuery};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig};
use eventsourcing::{Env, Uuid};

use super::outage::{Writer, append_until, wait_for_writers};

const WRITERS: usize = 4;

/// Held by every test that runs the primary and standby of `scripts/postgres-failover`.
pub(super) fn servers() -> std::sync::MutexGuard<'static, ()> {
    static SERVERS: Mutex<()> = Mutex::new(());
    SERVERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(super) fn failover(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres-failover");
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "postgres-failover {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What one run measured.
#[derive(Debug)]
struct Figures {
    acked: usize,
    lost: usize,
    duplicated: usize,
    /// Writes the library returned as `OutcomeUnknown` (it could not settle them within the
    /// connect timeout); the writer resends the same version, which settles each.
    unknown: usize,
    stored: usize,
    /// From the kill, and from the promotion, until every writer had a write acknowledged.
    resume_after_kill: Duration,
    resume_after_promote: Duration,
    /// Events the follower saw that the new primary does not have, and stored events it never
    /// saw (given ids below its position: an asynchronous failover reissues the ids of lost
    /// events).
    seen_not_stored: usize,
    stored_not_seen: usize,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "acknowledged {}, lost {}, duplicated {}, stored {}; left unsettled {}; \
             writes resumed {:?} after the kill, {:?} after the promotion; the follower saw {} \
             events the new primary lacks and never saw {} it has",
            self.acked,
            self.lost,
            self.duplicated,
            self.stored,
            self.unknown,
            self.resume_after_kill,
            self.resume_after_promote,
            self.seen_not_stored,
            self.stored_not_seen
        )
    }
}

fn run(mode: &str) -> Figures {
    failover(&["start", mode]);
    let env = Env::new("").with_all([
        ("POSTGRES_DBNAME", "eventsourcing"),
        ("POSTGRES_HOST", "127.0.0.1:5435,127.0.0.1:5436"),
        ("POSTGRES_USER", "eventsourcing"),
        ("POSTGRES_PASSWORD", "eventsourcing"),
        ("POSTGRES_SSLMODE", "disable"),
        ("POSTGRES_POOL_SIZE", "5"),
    ]);
    let mut config = PostgresConfig::from_env(&env).unwrap();
    config.schema = format!("f15_{mode}");
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut sub = r.subscribe(None, &[]).unwrap();
    let follower_stop = sub.stop_handle();
    let stop = AtomicBool::new(false);
    let writers: Vec<(Uuid, Mutex<Writer>)> = (0..WRITERS)
        .map(|_| (Uuid::new_v4(), Mutex::default()))
        .collect();
    let mut killed = Instant::now();
    let (mut resume_after_kill, mut resume_after_promote) = (Duration::ZERO, Duration::ZERO);
    let mut seen = Vec::new();
    let last_seen = AtomicU64::new(0);
    std::thread::scope(|s| {
        let follower = s.spawn(|| {
            let mut ids = Vec::new();
            for n in sub.by_ref().flatten() {
                ids.push((n.id, n.originator_id, n.originator_version));
                last_seen.store(n.id, Ordering::SeqCst);
            }
            ids
        });
        let handles: Vec<_> = writers
            .iter()
            .map(|(id, state)| s.spawn(|| append_until(&r, *id, "F15", state, &stop)))
            .collect();
        std::thread::sleep(Duration::from_secs(1));
        failover(&["pause-replication"]);
        std::thread::sleep(Duration::from_millis(500));
        failover(&["kill-primary"]);
        killed = Instant::now();
        // A failover manager notices and promotes.
        std::thread::sleep(Duration::from_millis(500));
        failover(&["promote"]);
        let promoted = Instant::now();
        resume_after_promote = wait_for_writers(&writers, promoted);
        resume_after_kill = promoted + resume_after_promote - killed;
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::SeqCst);
        for h in handles {
            h.join().unwrap();
        }
        let max = r.max_notification_id().unwrap().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while last_seen.load(Ordering::SeqCst) < max && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        follower_stop.stop();
        seen = follower.join().unwrap();
    });
    // By id and event: after an asynchronous failover, the new primary gives the ids of lost
    // events to new ones.
    let stored_ids: BTreeSet<(u64, Uuid, u64)> = es_testkit::support::read_all_after(&r, None)
        .iter()
        .map(|n| (n.id, n.originator_id, n.originator_version))
        .collect();
    let seen_set: BTreeSet<(u64, Uuid, u64)> = seen.iter().copied().collect();
    let (mut acked, mut lost, mut duplicated, mut unknown) = (0, 0, 0, 0);
    for (id, w) in &writers {
        let w = w.lock().unwrap();
        let events = r.select_events(*id, &EventQuery::new()).unwrap();
        let versions: BTreeSet<u64> = events.iter().map(|e| e.originator_version).collect();
        let states: BTreeSet<&[u8]> = events.iter().map(|e| e.state.as_slice()).collect();
        duplicated += events.len() - states.len();
        acked += w.acked.len();
        lost += w.acked.iter().filter(|v| !versions.contains(v)).count();
        unknown += w.unknown.len();
    }
    Figures {
        acked,
        lost,
        duplicated: duplicated + seen.len() - seen_set.len(),
        unknown,
        stored: stored_ids.len(),
        resume_after_kill,
        resume_after_promote,
        seen_not_stored: seen_set.difference(&stored_ids).count(),
        stored_not_seen: stored_ids.difference(&seen_set).count(),
    }
}

#[test]
fn f15_failover_with_synchronous_replication_loses_nothing() {
    if !super::full() {
        return;
    }
    let _servers = servers();
    let sync = run("sync");
    eprintln!("F15 synchronous: {sync}");
    let control = run("async");
    eprintln!("F15 asynchronous (control): {control}");
    failover(&["stop"]);
    assert_eq!(sync.lost, 0, "acknowledged events lost: {sync}");
    assert_eq!(sync.duplicated, 0, "{sync}");
    assert_eq!(sync.seen_not_stored, 0, "{sync}");
    assert_eq!(sync.stored_not_seen, 0, "{sync}");
    assert!(sync.acked > 0 && sync.stored >= sync.acked, "{sync}");
    assert!(
        sync.resume_after_promote <= Duration::from_secs(5),
        "writers resumed {:?} after the promotion",
        sync.resume_after_promote
    );
    // The control shows that the test can fail: without synchronous replication, what the
    // standby had not received is gone.
    assert!(
        control.lost > 0,
        "asynchronous replication lost nothing: {control}"
    );
    assert_eq!(control.duplicated, 0, "{control}");
}
