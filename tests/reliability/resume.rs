//! C7 catch-up during a burst while the runner is stopped and started; C13 a killed LISTEN
//! connection.

use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, Env, StoredEvent, Uuid};
use eventsourcing::postgres::{PostgresApplicationRecorder, drop_postgres_schema};
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

/// C13 (b): the server kills the connection a subscription's LISTEN thread holds, before and
/// again in the middle of 500 events recorded by another writer (whose inserts do not wake
/// this process): every event arrives once, in order.
#[test]
fn c13_a_killed_listen_connection() {
    let Some(mut config) = crate::postgres("c13") else {
        return;
    };
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
    assert_eq!(
        kill_listener(&mut admin, &config.application_name),
        1,
        "killed"
    );
    // 500 events by the other writer, while the reader's LISTEN connection is killed again
    // in the middle of them.
    const EVENTS: u64 = 500;
    let started = Instant::now();
    let (versions, killed_again) = std::thread::scope(|s| {
        let reading = s.spawn(|| {
            sub.by_ref()
                .take(usize::try_from(EVENTS).unwrap())
                .map(|n| n.unwrap().originator_version)
                .collect::<Vec<u64>>()
        });
        let mut killed_again = 0;
        for v in 2..=EVENTS + 1 {
            writer
                .insert_events(&[StoredEvent::new(id, v, "T", Vec::new())])
                .unwrap();
            if v == EVENTS / 2 {
                killed_again = kill_listener(&mut admin, &config.application_name);
            }
        }
        (reading.join().unwrap(), killed_again)
    });
    assert_eq!(
        killed_again, 1,
        "the reconnected LISTEN connection was killed too"
    );
    assert_eq!(
        versions,
        (2..=EVENTS + 1).collect::<Vec<_>>(),
        "nothing missed or repeated, in order"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "received within {:?}",
        started.elapsed()
    );
    sub.stop();
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// Terminates the LISTEN connection of `application_name`, waiting up to 10 s for it to
/// (re)connect; returns how many were terminated.
fn kill_listener(admin: &mut postgres::Client, application_name: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let killed: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE application_name = $1 AND query LIKE 'LISTEN%'",
                &[&application_name],
            )
            .unwrap()
            .get(0);
        if killed > 0 || Instant::now() > deadline {
            return killed;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
