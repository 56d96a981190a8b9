//! Catching up: the tutorial's Counters processing a backlog of 100,000 DogSchool
//! notifications (trick added), per backend, in batches of `PROCESSING_BATCH` (500, the
//! default, and 100) and one at a time (on the first 5,000 only: the old path is slow); next to it,
//! in the same run, the leader's own rate of appending 100 events per save. The issue's
//! target: catch-up at least half the leader's batch append rate.
//!
//! The follower is driven as the single-threaded runner drives it (pages of the leader's
//! log, each processed in chunks of the batch size by `process_notifications`, which the
//! runners use), with a fresh follower (new tables) for every iteration and the aggregate
//! cache a runner gives followers.

mod support;
#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use eventsourcing::application::{Application, Pending};
use eventsourcing::domain::Root;
use eventsourcing::persistence::NotificationQuery;
use eventsourcing::system::{App, process_notifications};
use eventsourcing::{ApplicationBuilder, Uuid};
use tutorial::{Counters, Dog, DogEvent, DogSchool};

const LOG: usize = 100_000;
const ONE_AT_A_TIME: usize = 5_000;

/// The variables of a backend; `fresh` gives the follower new tables each time.
struct Backend {
    name: &'static str,
    vars: Vec<(String, String)>,
    fresh: fn() -> Vec<(String, String)>,
}

fn backends() -> Vec<Backend> {
    let mut out = vec![Backend {
        name: "popo",
        vars: Vec::new(),
        fresh: Vec::new,
    }];
    out.push(Backend {
        name: "sqlite-file",
        vars: vec![
            ("PERSISTENCE_MODULE".into(), "sqlite".into()),
            ("SQLITE_DBNAME".into(), support::temp_db("catch-up")),
        ],
        fresh: || {
            let file = support::temp_db("catch-up-follower");
            vec![("COUNTERS_SQLITE_DBNAME".into(), file)]
        },
    });
    if support::postgres_config().is_some() {
        let schema = format!("catchup_{}", Uuid::new_v4().simple());
        out.push(Backend {
            name: "postgres",
            vars: vec![
                ("PERSISTENCE_MODULE".into(), "postgres".into()),
                ("POSTGRES_SCHEMA".into(), schema),
                (
                    "POSTGRES_SSLMODE".into(),
                    std::env::var("POSTGRES_SSLMODE").unwrap_or_else(|_| "disable".into()),
                ),
            ],
            fresh: || {
                let schema = format!("catchup_{}", Uuid::new_v4().simple());
                vec![("COUNTERS_POSTGRES_SCHEMA".into(), schema)]
            },
        });
    }
    out
}

/// One save of 100 events: a dog registered with 99 tricks.
fn hundred(app: &Application, i: usize) {
    let mut dog = Root::<Dog>::create(DogEvent::Registered {
        name: format!("d{i}"),
    });
    for k in 0..99 {
        dog.trigger(DogEvent::TrickAdded {
            trick: support::TRICKS[(i + k) % support::TRICKS.len()].into(),
        });
    }
    let mut all: [&mut dyn Pending; 1] = [&mut dog];
    app.save_all(&mut all).unwrap();
}

/// Counters on fresh tables, processing `leader`'s first `count` notifications in chunks of
/// `batch`: the time it took.
fn catch_up(backend: &Backend, leader: &DogSchool, count: usize, batch: usize) -> Duration {
    let follower = Counters::from_application(
        ApplicationBuilder::new(Counters::NAME)
            .vars(backend.vars.iter().cloned())
            .vars((backend.fresh)())
            .var("AGGREGATE_CACHE_MAXSIZE", "1000")
            .build()
            .unwrap(),
    )
    .unwrap();
    let mapper = leader.application().mapper();
    let started = Instant::now();
    let mut position = None;
    let mut done = 0;
    while done < count {
        let mut query = NotificationQuery::new(500.min(count - done));
        if let Some(p) = position {
            query = query.after(p);
        }
        let page = leader
            .application()
            .recorder()
            .select_notifications(&query)
            .unwrap();
        let Some(last) = page.last() else { break };
        position = Some(last.id);
        done += page.len();
        for chunk in page.chunks(batch) {
            process_notifications(&follower, DogSchool::NAME, mapper, chunk).unwrap();
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(done, count);
    elapsed
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("catch-up");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    for backend in backends() {
        let appender = ApplicationBuilder::new("Appender")
            .vars(backend.vars.iter().cloned())
            .build()
            .unwrap();
        let mut i = 0;
        group.throughput(Throughput::Elements(100));
        group.bench_function(BenchmarkId::new(backend.name, "leader-append-100"), |b| {
            b.iter(|| {
                i += 1;
                hundred(&appender, i);
            });
        });
        let leader = DogSchool::from_application(
            ApplicationBuilder::new(DogSchool::NAME)
                .vars(backend.vars.iter().cloned())
                .build()
                .unwrap(),
        )
        .unwrap();
        for i in 0..LOG / 100 {
            hundred(leader.application(), i);
        }
        for (count, batch) in [(LOG, 100), (LOG, 500), (ONE_AT_A_TIME, 1)] {
            group.throughput(Throughput::Elements(count as u64));
            let id = BenchmarkId::new(backend.name, format!("follower-batch-{batch}"));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| catch_up(&backend, &leader, count, batch))
                        .sum()
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
