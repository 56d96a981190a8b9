//! Scale-out: a system of DogSchool and three counting followers (three edges) run by 1, 2
//! and 3 multi-threaded runner instances with `RUNNER_LEASES=on`, sharing the edges out
//! through leases, on a SQLite file and on PostgreSQL; next to it, in the same run, one
//! instance without leases (the baseline). Each iteration: the leader saves 1,000 events
//! (ten saves of a dog with 99 tricks) and the time runs until all three followers have
//! processed them; throughput counts the 3,000 notifications processed.

mod support;

use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use es_testkit::apps::domain::{Dog, DogSchool, Strict};
use es_testkit::leased::{TallyB, TallyC, system};
use eventsourcing::system::{EdgeState, MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::{Env, Uuid};

const EVENTS: u64 = 1_000;

fn env(backend: &str) -> Option<Env> {
    let vars: Vec<(String, String)> = match backend {
        "sqlite-file" => vec![
            ("PERSISTENCE_MODULE".into(), "sqlite".into()),
            ("SQLITE_DBNAME".into(), support::temp_db("instances")),
        ],
        _ => {
            support::postgres_config()?;
            vec![
                ("PERSISTENCE_MODULE".into(), "postgres".into()),
                (
                    "POSTGRES_SCHEMA".into(),
                    format!("instances_{}", Uuid::new_v4().simple()),
                ),
                (
                    "POSTGRES_SSLMODE".into(),
                    std::env::var("POSTGRES_SSLMODE").unwrap_or_else(|_| "disable".into()),
                ),
            ]
        }
    };
    Some(Env::from_process("").with_all(vars))
}

/// `instances` started runners; with leases, once every edge is processed by exactly one.
fn start(env: &Env, instances: usize, leased: bool) -> Vec<MultiThreadedRunner> {
    let env = if leased {
        env.clone()
            .with_all([("RUNNER_LEASES", "on"), ("RUNNER_LEASE_TTL", "2")])
    } else {
        env.clone()
    };
    let runners: Vec<MultiThreadedRunner> = (0..instances)
        .map(|_| {
            let r = MultiThreadedRunner::with_env(system(), env.clone());
            r.start().unwrap();
            r
        })
        .collect();
    let started = Instant::now();
    while leased && started.elapsed() < Duration::from_secs(60) {
        let held: Vec<usize> = runners
            .iter()
            .map(|r| {
                let health = r.health().unwrap();
                health
                    .iter()
                    .filter(|h| h.state != EdgeState::StandingBy)
                    .count()
            })
            .collect();
        if held.iter().sum::<usize>() == 3 && held.iter().all(|&h| h >= 1) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "edges never spread: {held:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    runners
}

/// One round: 1,000 events saved, until all three followers have processed them.
fn round(runners: &[MultiThreadedRunner]) -> Duration {
    let school = runners[0].get::<DogSchool>().unwrap();
    let started = Instant::now();
    for i in 0..EVENTS / 100 {
        let mut dog = Dog::register(&format!("d{i}"));
        for t in 0..99 {
            let event = dog.add_trick(&format!("trick {}", t % 10));
            dog.trigger(event);
        }
        school.save(&mut dog).unwrap();
    }
    let last = school.last_id();
    // Polled every millisecond: a runner's `wait` is woken only by its own instance's
    // commits, and would poll the others' at up to 800 ms.
    let followers = [
        std::sync::Arc::clone(runners[0].get::<Strict>().unwrap().recorder()),
        std::sync::Arc::clone(runners[0].get::<TallyB>().unwrap().recorder()),
        std::sync::Arc::clone(runners[0].get::<TallyC>().unwrap().recorder()),
    ];
    for follower in &followers {
        while follower.max_tracking_id("DogSchool").unwrap().unwrap_or(0) < last {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "not caught up"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    started.elapsed()
}

fn instances(c: &mut Criterion) {
    let mut group = c.benchmark_group("instances");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(3 * EVENTS));
    for backend in ["sqlite-file", "postgres"] {
        let Some(env) = env(backend) else {
            continue;
        };
        for (label, count, leased) in [
            ("unleased", 1, false),
            ("leased", 1, true),
            ("leased", 2, true),
            ("leased", 3, true),
        ] {
            let runners = start(&env, count, leased);
            group.bench_function(BenchmarkId::new(format!("{backend}/{label}"), count), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| round(&runners)).sum());
            });
            for r in &runners {
                r.stop().unwrap();
            }
        }
    }
    group.finish();
}

criterion_group!(benches, instances);
criterion_main!(benches);
