//! C7 catch-up during a burst while the runner is stopped and started; C13 a killed LISTEN
//! connection.

use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, Env, StoredEvent, Uuid};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::system::{App, MultiThreadedRunner};
use eventsourcing::{ApplicationBuilder, RunnerFromEnv};

use crate::tutorial::{self, Counters, DogSchool};

/// C7: a writer adds tricks in a burst while the follower's runner is stopped and started
/// again and again; at the end every trick is counted exactly once.
#[test]
fn c7_catch_up_during_a_burst_with_stop_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c7.db").to_string_lossy().into_owned();
    let pairs = [
        ("PERSISTENCE_MODULE", "sqlite"),
        ("SQLITE_DBNAME", db.as_str()),
    ];
    let school = DogSchool::from_application(
        ApplicationBuilder::new("DogSchool")
            .without_process_env()
            .vars(pairs)
            .build()
            .unwrap(),
    )
    .unwrap();
    let runner =
        MultiThreadedRunner::with_env(tutorial::system().unwrap(), Env::new("").with_all(pairs));
    const TRICKS: usize = 500;
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let dog = school.register_dog("Burst").unwrap();
            for _ in 0..TRICKS {
                school.add_trick(dog, "burst").unwrap();
            }
        });
        while !writer.is_finished() {
            runner.start().unwrap();
            std::thread::sleep(Duration::from_millis(15));
            runner.stop().unwrap();
        }
        writer.join().unwrap();
    });
    runner.start().unwrap();
    let last = school
        .application()
        .recorder()
        .max_notification_id()
        .unwrap()
        .unwrap();
    runner
        .wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(30))
        .unwrap();
    assert_eq!(
        runner
            .get::<Counters>()
            .unwrap()
            .get_count("burst")
            .unwrap(),
        TRICKS as u64
    );
    runner.stop().unwrap();
}

/// C13: the server kills the connection a subscription's LISTEN thread holds; events recorded
/// afterwards by another writer (whose inserts do not wake this process) still arrive.
#[test]
fn c13_a_killed_listen_connection() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("c13_{}", Uuid::new_v4().simple());
    config.application_name = format!("c13_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let reader = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut other_config = config.clone();
    other_config.application_name = "c13_writer".to_owned();
    let writer = PostgresApplicationRecorder::new(&other_config, "app").unwrap();
    let mut sub = reader.subscribe(None, &[]).unwrap();
    let id = Uuid::new_v4();
    writer
        .insert_events(&[StoredEvent::new(id, 1, "T", Vec::new())])
        .unwrap();
    assert_eq!(sub.next().unwrap().unwrap().originator_version, 1);
    let mut admin = crate::common::admin(&config);
    // The LISTEN thread connects in the background: wait until its connection is visible.
    let deadline = Instant::now() + Duration::from_secs(10);
    let killed = loop {
        let killed: i64 = admin
            .query_one("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'", &[&config.application_name])
            .unwrap()
            .get(0);
        if killed > 0 || Instant::now() > deadline {
            break killed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(killed, 1, "the LISTEN connection was found and killed");
    for v in 2..=5 {
        writer
            .insert_events(&[StoredEvent::new(id, v, "T", Vec::new())])
            .unwrap();
    }
    let started = Instant::now();
    let versions: Vec<u64> = sub
        .by_ref()
        .take(4)
        .map(|n| n.unwrap().originator_version)
        .collect();
    assert_eq!(versions, [2, 3, 4, 5], "nothing missed or repeated");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "resumed within {:?}",
        started.elapsed()
    );
    sub.stop();
    drop_postgres_schema(&config, &config.schema).unwrap();
}
