//! F5: the private cluster (`scripts/postgres-private`) is restarted, then stopped for 5 s,
//! under load; writers resume by themselves and nothing acknowledged is lost. Full profile only
//! (it stops a server).

use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, Env, EventQuery, StoredEvent, Uuid};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};

fn pg_ctl(cluster: &str, action: &str) {
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

#[derive(Default)]
struct Writer {
    acked: Vec<u64>,
    unknown: Vec<u64>,
    errors: usize,
    last_ok: Option<Instant>,
}

#[test]
fn f5_writers_resume_after_restart_and_outage() {
    if !super::full() {
        return;
    }
    let Some(port) = es_testkit::env_or_skip("ES_RELIABILITY_POSTGRES_PORT") else {
        return;
    };
    let cluster = std::env::var("ES_RELIABILITY_POSTGRES_CLUSTER").unwrap();
    let env = Env::from_process("").with_all([
        ("POSTGRES_PORT", port),
        ("POSTGRES_SCHEMA", format!("f5_{}", Uuid::new_v4().simple())),
        ("POSTGRES_CONNECT_TIMEOUT", "2".to_owned()),
        ("POSTGRES_POOL_SIZE", "3".to_owned()),
    ]);
    let config = PostgresConfig::from_env(&env).unwrap();
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let stop = AtomicBool::new(false);
    let writers: Vec<(Uuid, Mutex<Writer>)> =
        (0..3).map(|_| (Uuid::new_v4(), Mutex::default())).collect();
    let mut resume = Duration::ZERO;
    std::thread::scope(|s| {
        for (id, state) in &writers {
            let (r, stop) = (&r, &stop);
            s.spawn(move || {
                let mut v = 1;
                while !stop.load(Ordering::SeqCst) {
                    match r.insert_events(&[StoredEvent::new(*id, v, "F5", Vec::new())]) {
                        Ok(_) => {
                            let mut w = state.lock().unwrap();
                            w.acked.push(v);
                            w.last_ok = Some(Instant::now());
                            v += 1;
                        }
                        // A commit whose acknowledgement was lost: resolved below by the conflict.
                        Err(e) if e.is_outcome_unknown() => state.lock().unwrap().unknown.push(v),
                        // The earlier unknown outcome had committed: move on.
                        Err(e) if e.is_version_conflict() => v += 1,
                        Err(_) => {
                            state.lock().unwrap().errors += 1;
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(1));
        pg_ctl(&cluster, "restart");
        std::thread::sleep(Duration::from_secs(1));
        pg_ctl(&cluster, "stop");
        std::thread::sleep(Duration::from_secs(5));
        pg_ctl(&cluster, "start");
        let back = Instant::now();
        let deadline = back + Duration::from_secs(15);
        loop {
            let resumed = writers
                .iter()
                .all(|(_, w)| w.lock().unwrap().last_ok.is_some_and(|t| t > back));
            if resumed || Instant::now() > deadline {
                resume = back.elapsed();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::SeqCst);
    });
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
