//! Systems beyond one server (full profile: they run their own servers).
//!
//! - R1: a follower reads its leader's log from a hot standby (`DOGSCHOOL_POSTGRES_READ_HOST`)
//!   while writes and tracking go to the primary. A writer adds tricks throughout; the
//!   standby's replay is paused (`pg_wal_replay_pause()`) for 3 s. While paused the follower
//!   processes nothing past what the standby shows and the health API's lag grows; after the
//!   resume it catches up. Every trick is counted exactly once: no skip, no duplicate.
//! - R2: a leader on one PostgreSQL cluster and its follower on another (`COUNTERS_POSTGRES_PORT`),
//!   the follower's cluster restarted mid-run: every trick counted once, processing resumes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{ApplicationRecorder, TrackingRecorder};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig};
use eventsourcing::system::{App, MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::{Env, Uuid};

use super::failover::{failover, servers};
use crate::tutorial::{self, Counters, DogSchool};

/// Adds a trick of a new name every 2 ms until `stop`; the names it added.
fn writer(school: Arc<DogSchool>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let dog = school.register_dog("Rex").unwrap();
        let mut added = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let trick = format!("trick {}", Uuid::new_v4());
            // An outage of the leader's server is not what these tests are about.
            if school.add_trick(dog, &trick).is_ok() {
                added.push(trick);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        added
    })
}

/// Every added trick counted once.
fn counted_once(label: &str, counters: &Counters, added: &[String]) {
    let wrong: Vec<(u64, &String)> = added
        .iter()
        .map(|t| (counters.get_count(t).unwrap(), t))
        .filter(|(c, _)| *c != 1)
        .collect();
    assert!(wrong.is_empty(), "{label}: counts other than 1: {wrong:?}");
}

fn leader_last(runner: &MultiThreadedRunner) -> u64 {
    let school = runner.get::<DogSchool>().unwrap();
    school
        .recorder()
        .max_notification_id()
        .unwrap()
        .unwrap_or(0)
}

#[test]
fn r1_followers_read_from_a_paused_standby_without_skipping() {
    if !super::full() {
        return;
    }
    let _servers = servers();
    failover(&["start", "async"]);
    let env = Env::new("").with_all([
        ("PERSISTENCE_MODULE", "postgres"),
        ("POSTGRES_DBNAME", "eventsourcing"),
        ("POSTGRES_HOST", "127.0.0.1:5435"),
        ("DOGSCHOOL_POSTGRES_READ_HOST", "127.0.0.1:5436"),
        ("POSTGRES_USER", "eventsourcing"),
        ("POSTGRES_PASSWORD", "eventsourcing"),
        ("POSTGRES_SSLMODE", "disable"),
    ]);
    let standby = PostgresApplicationRecorder::new(
        &PostgresConfig::from_env(
            &env.renamed("Standby")
                .with("POSTGRES_HOST", "127.0.0.1:5436")
                .with("CREATE_TABLE", "no"),
        )
        .unwrap(),
        DogSchool::NAME,
    )
    .unwrap();
    let runner = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
    runner.start().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(runner.get::<DogSchool>().unwrap(), Arc::clone(&stop));
    std::thread::sleep(Duration::from_secs(1));
    failover(&["pause-replay"]);
    let paused = Instant::now();
    // What the standby shows once its replay has stopped.
    std::thread::sleep(Duration::from_millis(200));
    let shown = standby.max_notification_id().unwrap().unwrap_or(0);
    let (mut max_lag, mut beyond) = (0, 0);
    while paused.elapsed() < Duration::from_secs(3) {
        let health = runner.health().unwrap();
        max_lag = max_lag.max(health[0].lag);
        let position = health[0].follower_position.unwrap_or(0);
        beyond = beyond.max(position.saturating_sub(shown));
        std::thread::sleep(Duration::from_millis(50));
    }
    failover(&["resume-replay"]);
    let resumed = Instant::now();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    let added = writing.join().unwrap();
    let last = leader_last(&runner);
    runner
        .wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(60))
        .unwrap();
    let caught_up = resumed.elapsed();
    counted_once("R1", &runner.get::<Counters>().unwrap(), &added);
    runner.stop().unwrap();
    eprintln!(
        "R1 standby paused 3 s: {} tricks; the follower went {beyond} past what the paused \
         standby showed (must be 0); max lag in health {max_lag}; caught up {caught_up:.2?} \
         after the resume (writes went on for 0.5 s of it); every trick counted once",
        added.len()
    );
    drop(standby);
    failover(&["stop"]);
    assert_eq!(
        beyond, 0,
        "the follower processed what the standby did not show"
    );
    assert!(
        max_lag > 100,
        "the paused standby's lag shows in health: {max_lag}"
    );
}

#[test]
fn r2_a_system_over_two_clusters_survives_a_restart_of_one() {
    if !super::full() {
        return;
    }
    let Some(port) = es_testkit::env_or_skip("ES_RELIABILITY_POSTGRES_PORT") else {
        return;
    };
    let _cluster = super::private_cluster();
    let cluster = std::env::var("ES_RELIABILITY_POSTGRES_CLUSTER").unwrap();
    let Some(leader) = super::postgres("r2") else {
        return;
    };
    let follower_schema = format!("r2f_{}", Uuid::new_v4().simple());
    let env = Env::from_process("").with_all([
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_SCHEMA", leader.schema.clone()),
        ("COUNTERS_POSTGRES_PORT", port),
        ("COUNTERS_POSTGRES_SCHEMA", follower_schema.clone()),
        ("COUNTERS_POSTGRES_CONNECT_TIMEOUT", "2".to_owned()),
    ]);
    let runner = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env.clone());
    runner.start().unwrap();
    let counters = runner.get::<Counters>().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(runner.get::<DogSchool>().unwrap(), Arc::clone(&stop));
    std::thread::sleep(Duration::from_secs(1));
    let before = counters
        .recorder()
        .max_tracking_id(DogSchool::NAME)
        .unwrap()
        .unwrap_or(0);
    let restarted = Instant::now();
    super::outage::pg_ctl(&cluster, "restart");
    let resumed = loop {
        let position = counters
            .recorder()
            .max_tracking_id(DogSchool::NAME)
            .ok()
            .flatten();
        if position.is_some_and(|p| p > before) {
            break restarted.elapsed();
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(60),
            "processing never resumed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    let added = writing.join().unwrap();
    let last = leader_last(&runner);
    runner
        .wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(60))
        .unwrap();
    counted_once("R2", &counters, &added);
    runner.watch_for_errors(Duration::ZERO).unwrap();
    runner.stop().unwrap();
    eprintln!(
        "R2 leader on port 5432, follower on {}: {} tricks, the follower's cluster restarted; \
         processing resumed {resumed:.2?} after the restart began; every trick counted once",
        env.get("COUNTERS_POSTGRES_PORT").unwrap_or_default(),
        added.len()
    );
    let mut follower = leader.clone();
    follower.port = env.get("COUNTERS_POSTGRES_PORT").unwrap().parse().unwrap();
    eventsourcing::postgres::drop_postgres_schema(&follower, &follower_schema).unwrap();
    eventsourcing::postgres::drop_postgres_schema(&leader, &leader.schema).unwrap();
}
