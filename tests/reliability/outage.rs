//! F5: under load, the private cluster (`scripts/postgres-private`) is (a) restarted, (c) loses
//! a backend to SIGKILL (the postmaster then resets every session), and (b) is stopped for 5 s;
//! writers resume by themselves, nothing acknowledged is lost, and a follower tailing the log
//! throughout sees every stored event exactly once, in order. Full profile only (it stops a
//! server).

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, EventQuery, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::{Env, Uuid};

pub(super) fn pg_ctl(cluster: &str, action: &str) {
    let (version, name) = cluster.split_once('/').unwrap();
    let status = Command::new("pg_ctlcluster")
        .args([
            "--skip-systemctl-redirect",
            version,
            name,
            action,
            "-m",
            "fast",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctlcluster {action}");
}

/// What one writer of [`append_until`] saw.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) acked: Vec<u64>,
    pub(super) unknown: Vec<u64>,
    pub(super) errors: usize,
    pub(super) last_ok: Option<Instant>,
    /// Pauses of over 50 ms between acknowledged writes: (start, length).
    pub(super) pauses: Vec<(Instant, Duration)>,
}

#[test]
fn f5_writers_resume_after_restart_and_outage() {
    if !super::full() {
        return;
    }
    let Some(port) = es_testkit::env_or_skip("ES_RELIABILITY_POSTGRES_PORT") else {
        return;
    };
    let _cluster = super::private_cluster();
    let cluster = std::env::var("ES_RELIABILITY_POSTGRES_CLUSTER").unwrap();
    let env = Env::from_process("").with_all([
        ("POSTGRES_PORT", port),
        ("POSTGRES_SCHEMA", format!("f5_{}", Uuid::new_v4().simple())),
        ("POSTGRES_CONNECT_TIMEOUT", "2".to_owned()),
        ("POSTGRES_POOL_SIZE", "3".to_owned()),
    ]);
    let mut config = PostgresConfig::from_env(&env).unwrap();
    config.application_name = format!("f5-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut sub = r.subscribe(None, &[]).unwrap();
    let follower_stop = sub.stop_handle();
    let stop = AtomicBool::new(false);
    let writers: Vec<(Uuid, Mutex<Writer>)> =
        (0..3).map(|_| (Uuid::new_v4(), Mutex::default())).collect();
    let mut resume = Duration::ZERO;
    let mut resume_after_kill = Duration::ZERO;
    let (mut seen, mut follower_errors) = (Vec::new(), 0);
    let last_seen = AtomicU64::new(0);
    std::thread::scope(|s| {
        let follower = s.spawn(|| {
            let (mut ids, mut errors) = (Vec::<u64>::new(), 0);
            for n in sub.by_ref() {
                match n {
                    Ok(n) => {
                        ids.push(n.id);
                        last_seen.store(n.id, Ordering::SeqCst);
                    }
                    Err(_) => errors += 1,
                }
            }
            (ids, errors)
        });
        let mut handles = Vec::new();
        for (id, state) in &writers {
            let (r, stop) = (&r, &stop);
            handles.push(s.spawn(move || append_until(r, *id, "F5", state, stop)));
        }
        std::thread::sleep(Duration::from_secs(1));
        pg_ctl(&cluster, "restart");
        std::thread::sleep(Duration::from_secs(1));
        let killed = kill_one_backend(&config);
        std::thread::sleep(Duration::from_secs(2));
        // The longest pause of any writer that began around the kill.
        resume_after_kill = writers
            .iter()
            .flat_map(|(_, w)| w.lock().unwrap().pauses.clone())
            .filter(|(start, _)| *start + Duration::from_millis(100) >= killed)
            .map(|(_, length)| length)
            .max()
            .unwrap_or_default();
        pg_ctl(&cluster, "stop");
        std::thread::sleep(Duration::from_secs(5));
        pg_ctl(&cluster, "start");
        resume = wait_for_writers(&writers, Instant::now());
        stop.store(true, Ordering::SeqCst);
        for h in handles {
            h.join().unwrap();
        }
        // The follower catches up with everything stored, then stops.
        let max = loop {
            if let Ok(max) = r.max_notification_id() {
                break max;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while last_seen.load(Ordering::SeqCst) < max.unwrap_or(0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        follower_stop.stop();
        (seen, follower_errors) = follower.join().unwrap();
    });
    assert!(
        resume_after_kill <= Duration::from_secs(5),
        "writers paused {resume_after_kill:?} after a backend was killed"
    );
    assert!(
        follower_errors > 0 || resume_after_kill > Duration::ZERO,
        "the kill was felt"
    );
    let stored: Vec<u64> = es_testkit::support::read_all_after(&r, None)
        .iter()
        .map(|n| n.id)
        .collect();
    if seen != stored {
        let (a, b): (BTreeSet<u64>, BTreeSet<u64>) = (
            seen.iter().copied().collect(),
            stored.iter().copied().collect(),
        );
        panic!(
            "the follower saw {} events, {} stored; missed {:?}, not stored {:?}, repeated or out \
             of order: {}",
            seen.len(),
            stored.len(),
            b.difference(&a).take(20).collect::<Vec<_>>(),
            a.difference(&b).take(20).collect::<Vec<_>>(),
            seen.windows(2).filter(|w| w[1] <= w[0]).count()
        );
    }
    eprintln!(
        "F5 follower: {} events seen, missed 0, repeated 0, {follower_errors} read errors \
         retried; longest writer pause after the backend kill {resume_after_kill:?}",
        seen.len()
    );
    assert!(
        resume <= Duration::from_secs(5),
        "writers resumed {resume:?} after the server's return"
    );
    for (id, w) in &writers {
        let w = w.lock().unwrap();
        let stored: Vec<u64> = r
            .select_events(*id, &EventQuery::new())
            .unwrap()
            .iter()
            .map(|e| e.originator_version)
            .collect();
        for v in &w.acked {
            assert!(stored.contains(v), "acknowledged version {v} lost");
        }
        let expected: Vec<u64> = (1..=u64::try_from(stored.len()).unwrap()).collect();
        assert_eq!(
            stored, expected,
            "no gaps or duplicates in each writer's versions"
        );
        assert!(
            stored.len() <= w.acked.len() + w.unknown.len(),
            "only acknowledged or unknown writes stored"
        );
        eprintln!(
            "F5 writer: acked {}, unknown {}, errors {}, resumed after {resume:?}",
            w.acked.len(),
            w.unknown.len(),
            w.errors
        );
    }
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// SIGKILLs one server backend of our sessions: the postmaster resets all sessions.
fn kill_one_backend(config: &PostgresConfig) -> Instant {
    let mut admin = config.clone();
    admin.application_name = "f5-admin".to_owned();
    let pid: i32 = admin
        .connect()
        .unwrap()
        .query_one(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 LIMIT 1",
            &[&config.application_name],
        )
        .unwrap()
        .get(0);
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -9 of backend {pid}");
    Instant::now()
}

/// Appends version after version of aggregate `id` (each state the version's digits), until
/// `stop`, into `state`: after an unknown outcome the same version is sent again, and a version
/// conflict then means the earlier send had committed; other errors are counted and retried
/// after 20 ms.
pub(super) fn append_until(
    r: &impl AggregateRecorder,
    id: Uuid,
    topic: &str,
    state: &Mutex<Writer>,
    stop: &AtomicBool,
) {
    let mut v = 1;
    while !stop.load(Ordering::SeqCst) {
        let event = StoredEvent::new(id, v, topic, v.to_string().into_bytes());
        match r.insert_events(&[event]) {
            Ok(_) => {
                let mut w = state.lock().unwrap();
                w.acked.push(v);
                let now = Instant::now();
                if let Some(last) = w.last_ok
                    && now - last > Duration::from_millis(50)
                {
                    w.pauses.push((last, now - last));
                }
                w.last_ok = Some(now);
                v += 1;
            }
            Err(e) if e.is_outcome_unknown() => state.lock().unwrap().unknown.push(v),
            Err(e) if e.is_version_conflict() => v += 1,
            Err(_) => {
                state.lock().unwrap().errors += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// How long after `since` every writer had a write acknowledged (at most 15 s).
pub(super) fn wait_for_writers(writers: &[(Uuid, Mutex<Writer>)], since: Instant) -> Duration {
    let deadline = since + Duration::from_secs(15);
    loop {
        let resumed = writers
            .iter()
            .all(|(_, w)| w.lock().unwrap().last_ok.is_some_and(|t| t > since));
        if resumed || Instant::now() > deadline {
            return since.elapsed();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
