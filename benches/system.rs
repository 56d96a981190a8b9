//! The tutorial's system end to end, as the Python baseline measures it: commands on DogSchool
//! (register a dog, add a trick to it) until Counters has processed them, with both runners, on
//! POPO, a SQLite file and PostgreSQL (when configured). Throughput is in commands (leader
//! events) per second. Both applications use the aggregate cache, as a deployment would.

mod support;
#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsourcing::domain::Root;
use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{App, MultiThreadedRunner, SingleThreadedRunner};
use eventsourcing::{Env, Uuid};
use tutorial::{Counters, Dog, DogEvent, DogSchool};

fn envs() -> Vec<(&'static str, Env)> {
    let cache = [("AGGREGATE_CACHE_MAXSIZE", "10000")];
    let mut out = vec![("popo", Env::new("").with_all(cache))];
    out.push((
        "sqlite-file",
        Env::new("").with_all(cache).with_all([
            ("PERSISTENCE_MODULE", "sqlite".to_owned()),
            ("SQLITE_DBNAME", support::temp_db("system")),
        ]),
    ));
    if support::postgres_config().is_some() {
        let schema = format!("sysbench_{}", Uuid::new_v4().simple());
        out.push((
            "postgres",
            Env::from_process("").with_all(cache).with_all([
                ("PERSISTENCE_MODULE", "postgres".to_owned()),
                ("POSTGRES_SCHEMA", schema),
                // As the recorder benches: plain TCP, the path of earlier figures.
                (
                    "POSTGRES_SSLMODE",
                    std::env::var("POSTGRES_SSLMODE").unwrap_or_else(|_| "disable".to_owned()),
                ),
            ]),
        ));
    }
    out
}

/// Two commands: register a dog, then load it, add a trick and save; then wait until Counters
/// has processed both events.
fn commands(school: &DogSchool, i: usize, wait: &dyn Fn(u64)) {
    wait(pair(school, i));
}

/// Register a dog, add a trick to it: the notification id of the trick.
fn pair(school: &DogSchool, i: usize) -> u64 {
    let app = school.application();
    let id = school.register_dog("Fido").unwrap();
    let mut dog: Root<Dog> = app.get(id).unwrap();
    dog.trigger(DogEvent::TrickAdded {
        trick: support::TRICKS[i % support::TRICKS.len()].into(),
    });
    let recordings = app.save(&mut dog).unwrap();
    recordings[0].notification_id
}

fn system(c: &mut Criterion) {
    let mut group = c.benchmark_group("system");
    group.throughput(Throughput::Elements(2));
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(20);
    for (name, env) in envs() {
        let single = SingleThreadedRunner::with_env(tutorial::system().unwrap(), env.clone());
        single.start().unwrap();
        let school = single.get::<DogSchool>().unwrap();
        let mut i = 0;
        group.bench_function(BenchmarkId::new(name, "single-threaded"), |b| {
            b.iter(|| {
                i += 1;
                commands(&school, i, &|_| {});
                black_box(i)
            });
        });
        single.stop().unwrap();

        let multi = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
        multi.start().unwrap();
        let school = multi.get::<DogSchool>().unwrap();
        let wait = |n: u64| {
            multi
                .wait::<Counters>(DogSchool::NAME, n, Duration::from_secs(30))
                .unwrap()
        };
        group.bench_function(BenchmarkId::new(name, "multi-threaded"), |b| {
            b.iter(|| {
                i += 1;
                commands(&school, i, &wait);
                black_box(i)
            });
        });
        multi.stop().unwrap();
    }
    group.finish();
}

/// Bursts: 100 command pairs, then one wait for Counters to process the last. The follower
/// finds a backlog and processes it in batches (`PROCESSING_BATCH`), one transaction each;
/// the single-threaded runner processes each save as it returns, so it has no backlog.
fn system_burst(c: &mut Criterion) {
    const BURST: usize = 100;
    let mut group = c.benchmark_group("system-burst");
    group.throughput(Throughput::Elements(2 * BURST as u64));
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(10);
    for (name, env) in envs() {
        for batch in ["1", "500"] {
            let env = env.clone().with("COUNTERS_PROCESSING_BATCH", batch);
            let multi = MultiThreadedRunner::with_env(tutorial::system().unwrap(), env);
            multi.start().unwrap();
            let school = multi.get::<DogSchool>().unwrap();
            let mut i = 0;
            let id = BenchmarkId::new(name, format!("multi-threaded/batch-{batch}"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let mut last = 0;
                    for _ in 0..BURST {
                        i += 1;
                        last = pair(&school, i);
                    }
                    multi
                        .wait::<Counters>(DogSchool::NAME, last, Duration::from_secs(60))
                        .unwrap();
                    black_box(i)
                });
            });
            multi.stop().unwrap();
        }
    }
    group.finish();
}

criterion_group!(benches, system, system_burst);
criterion_main!(benches);
