//! C6 two follower instances at scale; C7 catch-up during a burst while the runner is stopped
//! and started; C13 a killed LISTEN connection.

use std::time::{Duration, Instant};

use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, drop_postgres_schema};
use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{App, MultiThreadedRunner};
use eventsourcing::{Env, Uuid};

use crate::tutorial::{self, Counters, DogSchool};

/// The backends whose stores outlive an application instance (two runners, or a runner and a
/// separate writer, share them): a SQLite file and PostgreSQL.
fn shared_backends() -> Vec<crate::common::Backend> {
    crate::common::backends()
        .into_iter()
        .filter(|b| matches!(b.name, "sqlite-file" | "postgres"))
        .collect()
}

fn school(b: &crate::common::Backend) -> DogSchool {
    DogSchool::from_application(b.app("DogSchool").build().unwrap()).unwrap()
}

fn env(b: &crate::common::Backend) -> Env {
    Env::new("").with_all(b.vars.iter().cloned())
}

fn last_id(school: &DogSchool) -> u64 {
    school
        .application()
        .recorder()
        .max_notification_id()
        .unwrap()
        .unwrap_or(0)
}

/// C7: a writer adds tricks in a burst while the follower's runner is stopped and started
/// again and again; at the end every trick is counted exactly once. SQLite file and PostgreSQL.
#[test]
fn c7_catch_up_during_a_burst_with_stop_and_start() {
    const TRICKS: u64 = 500;
    for b in shared_backends() {
        let school = school(&b);
        let runner = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env(&b));
        let mut restarts = 0;
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
                restarts += 1;
            }
            writer.join().unwrap();
        });
        runner.start().unwrap();
        runner
            .wait::<Counters>(DogSchool::NAME, last_id(&school), Duration::from_secs(30))
            .unwrap();
        let counted = runner
            .get::<Counters>()
            .unwrap()
            .get_count("burst")
            .unwrap();
        assert_eq!(counted, TRICKS, "{}", b.name);
        assert!(
            restarts > 1,
            "{}: the runner restarted during the burst",
            b.name
        );
        runner.stop().unwrap();
    }
}

/// C6: exactly once with two follower instances. Two multi-threaded runners of the tutorial's
/// system share one store while four threads add 2,000 tricks (500 in the fast profile) to
/// their own dogs: every trick is counted exactly once (a second processing would raise a
/// count), neither runner fails, and both end at the last notification.
#[test]
fn c6_two_follower_instances_at_scale() {
    let total: u64 = if super::full() { 2000 } else { 500 };
    for b in shared_backends() {
        let school = school(&b);
        let runners = [
            MultiThreadedRunner::with_env(tutorial::system().unwrap(), env(&b)),
            MultiThreadedRunner::with_env(tutorial::system().unwrap(), env(&b)),
        ];
        for r in &runners {
            r.start().unwrap();
        }
        std::thread::scope(|s| {
            for t in 0..4 {
                let school = &school;
                s.spawn(move || {
                    let dog = school.register_dog(&format!("dog {t}")).unwrap();
                    for i in 0..total / 4 {
                        school.add_trick(dog, &format!("trick {}", i % 5)).unwrap();
                    }
                });
            }
        });
        let last = last_id(&school);
        for r in &runners {
            r.wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(60))
                .unwrap();
            r.watch_for_errors(Duration::ZERO).unwrap();
        }
        for r in &runners {
            let counters = r.get::<Counters>().unwrap();
            let counts: Vec<u64> = (0..5)
                .map(|i| counters.get_count(&format!("trick {i}")).unwrap())
                .collect();
            assert_eq!(
                counts,
                vec![total / 5; 5],
                "{}: each trick counted once",
                b.name
            );
        }
        for r in &runners {
            r.stop().unwrap();
        }
    }
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
