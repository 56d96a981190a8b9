//! O1: the server refuses connections while a system runs. A loopback proxy in front of
//! PostgreSQL closes its listener and every connection through it: each request fails within
//! `POSTGRES_OUTAGE_TIMEOUT` (1 s here) plus a margin with a classified error, instead of
//! waiting `POSTGRES_CONNECT_TIMEOUT` (30 s here); `health()` stays readable and shows the edge
//! retrying; each pool logs the outage once when it starts and once when it ends (not a line
//! per attempt); when the proxy listens again, saves succeed and the follower catches up.

use std::thread;
use std::time::{Duration, Instant};

use es_testkit::apps::domain::{DogSchool, Strict, system};
use eventsourcing::postgres::drop_postgres_schema;
use eventsourcing::system::{EdgeState, MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::{Env, Uuid};

use super::proxy::{Proxy, pool_log};

#[test]
fn o1_requests_fail_fast_while_the_server_refuses() {
    let Some(config) = super::postgres("o1") else {
        return;
    };
    let log = pool_log();
    let mut proxy = Proxy::start(0, config.port);
    let env = Env::from_process("").with_all([
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_PORT", proxy.port.to_string()),
        ("POSTGRES_SCHEMA", config.schema.clone()),
        // The proxy carries plain TCP.
        ("POSTGRES_SSLMODE", "disable".to_owned()),
        ("POSTGRES_CONNECT_TIMEOUT", "30".to_owned()),
        ("POSTGRES_OUTAGE_TIMEOUT", "1".to_owned()),
    ]);
    let runner = MultiThreadedRunner::with_env(system(), env);
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    school.register_dog("Rex").unwrap();
    let wait = Duration::from_secs(30);
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();

    proxy.refuse();
    let bound = Duration::from_secs(1) + Duration::from_secs(3);
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let e = school.register_dog("Max").unwrap_err();
        took.push(started.elapsed());
        assert!(
            e.is_connect() || e.is_operational(),
            "a classified error: {}",
            e.report()
        );
        assert!(
            started.elapsed() < bound,
            "failed after {:?}, not within {bound:?}: {}",
            started.elapsed(),
            e.report()
        );
    }
    let started = Instant::now();
    let health = runner
        .health()
        .expect("health is readable during the outage");
    let health_took = started.elapsed();
    assert!(
        health.iter().all(|h| matches!(
            &h.state,
            EdgeState::Retrying { .. } | EdgeState::Failed { .. }
        )),
        "{health:?}"
    );
    eprintln!("O1: requests failed after {took:?}; health answered in {health_took:?}");

    let _proxy = Proxy::start(proxy.port, config.port);
    let deadline = Instant::now() + wait;
    let saved = loop {
        match school.register_dog("Back") {
            Ok(id) => break id,
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_connect() || e.is_operational(), "{}", e.report());
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!(
                "no save within {wait:?} of the server's return: {}",
                e.report()
            ),
        }
    };
    assert_ne!(saved, Uuid::nil());
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();
    runner.stop().unwrap();
    let port = format!("port={}", proxy.port);
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&port)).collect();
    let starts = lines.iter().filter(|l| l.contains("ERROR")).count();
    let ends = lines.iter().filter(|l| l.contains("open again")).count();
    // Two pools (DogSchool's and Counters'): at most one line each per outage and its end.
    assert!(
        (1..=2).contains(&starts) && ends == starts,
        "{starts} start and {ends} end lines:\n{}",
        lines.join("\n")
    );
    eprintln!("O1: {starts} outage lines and {ends} end lines for 2 pools");
    drop_postgres_schema(&config, &config.schema).unwrap();
}
