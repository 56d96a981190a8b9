//! Criterion benches of the recorder paths, each body written once against `&dyn` recorders and
//! run on every backend, with raw-driver baselines (rusqlite, `postgres`) in the same groups so
//! every figure has a ratio measured in the same run. Throughput is in events per second. See
//! BENCHMARKS.md.

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsourcing::Uuid;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, NotificationQuery, ProcessRecorder,
    StoredEvent, Tracking, TrackingRecorder,
};
use support::{RawPostgres, RawSqlite, backends, batch, postgres_config, temp_db};

const BATCHES: [u64; 3] = [1, 10, 100];
const LOG: u64 = 100_000;
const PAGE: usize = 500;

fn configure(c: &mut Criterion) -> Criterion {
    std::mem::take(c)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    for (name, recorder) in backends() {
        for n in BATCHES {
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_batched(
                    || batch(n),
                    |e| black_box(recorder.insert_events(&e).map(|i| i.len())),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    for (name, path) in [
        ("raw-sqlite-file", temp_db("raw")),
        ("raw-sqlite-memory", ":memory:".to_owned()),
    ] {
        let raw = RawSqlite::new(&path);
        for n in BATCHES {
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_batched(
                    || batch(n),
                    |e| black_box(raw.insert(&e).len()),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    if let Some(config) = postgres_config() {
        let mut raw = RawPostgres::new(&config);
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::new("raw-postgres-single-insert", 1), |b| {
            b.iter_batched(
                || batch(1),
                |e| black_box(raw.insert_single(&e[0])),
                BatchSize::SmallInput,
            );
        });
        for n in BATCHES {
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new("raw-postgres-multirow", n), &n, |b, &n| {
                b.iter_batched(
                    || batch(n),
                    |e| black_box(raw.insert_multi(&e)),
                    BatchSize::SmallInput,
                );
            });
            group.bench_with_input(BenchmarkId::new("raw-postgres-copy", n), &n, |b, &n| {
                b.iter_batched(
                    || batch(n),
                    |e| black_box(raw.copy(&e)),
                    BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

/// Single-event appends from several threads at once; `iters` appends in all.
fn append_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("append-threads");
    group.throughput(Throughput::Elements(1));
    for (name, recorder) in backends() {
        let counts: &[u64] = if name == "postgres" {
            &[1, 2, 4, 16, 64]
        } else {
            &[1, 2, 4]
        };
        for &threads in counts {
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, &threads| {
                b.iter_custom(|iters| {
                    let per = iters.div_ceil(threads);
                    let batches: Vec<Vec<Vec<StoredEvent>>> = (0..threads)
                        .map(|_| (0..per).map(|_| batch(1)).collect())
                        .collect();
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for events in &batches {
                            let r = &recorder;
                            s.spawn(move || {
                                for e in events {
                                    r.insert_events(e).unwrap();
                                }
                            });
                        }
                    });
                    start.elapsed()
                });
            });
        }
    }
    group.finish();
}

/// The raw baseline of `append-threads` on PostgreSQL: as many connections as threads, each
/// making plain autocommit `INSERT`s into one table, with no ordering lock.
fn raw_append_threads(c: &mut Criterion) {
    let Some(config) = postgres_config() else {
        return;
    };
    let mut group = c.benchmark_group("append-threads");
    group.throughput(Throughput::Elements(1));
    let first = RawPostgres::new(&config);
    for threads in [1_usize, 2, 4, 16, 64] {
        let mut connections: Vec<RawPostgres> =
            (0..threads).map(|_| first.another(&config)).collect();
        let id = BenchmarkId::new("raw-postgres-autocommit", threads);
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(u64::try_from(threads).unwrap());
                let batches: Vec<Vec<Vec<StoredEvent>>> = (0..threads)
                    .map(|_| (0..per).map(|_| batch(1)).collect())
                    .collect();
                let start = Instant::now();
                std::thread::scope(|s| {
                    for (conn, events) in connections.iter_mut().zip(&batches) {
                        s.spawn(move || {
                            for e in events {
                                conn.insert_single(&e[0]);
                            }
                        });
                    }
                });
                start.elapsed()
            });
        });
    }
    group.finish();
}

fn tracking(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracking");
    group.throughput(Throughput::Elements(1));
    for (name, recorder) in backends() {
        let upstream = format!("up_{}", Uuid::new_v4().simple());
        let mut position = 0;
        group.bench_function(BenchmarkId::new(name, "event+tracking"), |b| {
            b.iter_batched(
                || {
                    position += 1;
                    (batch(1), Tracking::new(upstream.clone(), position))
                },
                |(e, t)| {
                    black_box(
                        recorder
                            .insert_events_with_tracking(&e, &t)
                            .map(|i| i.len()),
                    )
                },
                BatchSize::SmallInput,
            );
        });
        group.bench_function(BenchmarkId::new(name, "max_tracking_id"), |b| {
            b.iter(|| black_box(recorder.max_tracking_id(&upstream).ok()));
        });
    }
    if let Some(config) = postgres_config() {
        let mut raw = RawPostgres::new(&config);
        group.bench_function(
            BenchmarkId::new("raw-postgres-single-insert", "event"),
            |b| {
                b.iter_batched(
                    || batch(1),
                    |e| black_box(raw.insert_single(&e[0])),
                    BatchSize::SmallInput,
                );
            },
        );
    }
    let raw = RawSqlite::new(&temp_db("rawtracking"));
    group.bench_function(BenchmarkId::new("raw-sqlite-file", "event"), |b| {
        b.iter_batched(
            || batch(1),
            |e| black_box(raw.insert(&e).len()),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn fill(recorder: &dyn ProcessRecorder) {
    for _ in 0..LOG / 1000 {
        recorder.insert_events(&batch(1000)).unwrap();
    }
}

fn read(c: &mut Criterion) {
    let mut group = c.benchmark_group("read");
    let pages = LOG / PAGE as u64;
    group.throughput(Throughput::Elements(PAGE as u64));
    for (name, recorder) in backends() {
        fill(recorder.as_ref());
        let mut page = 0;
        group.bench_function(BenchmarkId::new(name, "select_notifications/500"), |b| {
            b.iter(|| {
                page = (page + 1) % pages;
                let q = NotificationQuery::new(PAGE).after(page * PAGE as u64);
                black_box(recorder.select_notifications(&q).map(|p| p.len()))
            });
        });
    }
    let limit = i64::try_from(PAGE).unwrap();
    for (name, path) in [
        ("raw-sqlite-file", temp_db("rawread")),
        ("raw-sqlite-memory", ":memory:".to_owned()),
    ] {
        let raw = RawSqlite::new(&path);
        for _ in 0..LOG / 1000 {
            raw.insert(&batch(1000));
        }
        let mut page = 0;
        group.bench_function(BenchmarkId::new(name, "select/500"), |b| {
            b.iter(|| {
                page = (page + 1) % i64::try_from(pages).unwrap();
                black_box(raw.select_page(page * limit, limit))
            });
        });
    }
    if let Some(config) = postgres_config() {
        let mut raw = RawPostgres::new(&config);
        for _ in 0..LOG / 1000 {
            raw.copy(&batch(1000));
        }
        let mut page = 0;
        group.bench_function(BenchmarkId::new("raw-postgres", "select/500"), |b| {
            b.iter(|| {
                page = (page + 1) % i64::try_from(pages).unwrap();
                black_box(raw.select_page(page * limit, limit))
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("read-aggregate");
    group.throughput(Throughput::Elements(1000));
    for (name, recorder) in backends() {
        let events = batch(1000);
        let id = events[0].originator_id;
        recorder.insert_events(&events).unwrap();
        group.bench_function(BenchmarkId::new(name, "select_events/1000"), |b| {
            b.iter(|| {
                black_box(
                    recorder
                        .select_events(id, &EventQuery::new())
                        .map(|e| e.len()),
                )
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("subscribe");
    group.throughput(Throughput::Elements(LOG));
    group.sample_size(10);
    for (name, recorder) in backends() {
        fill(recorder.as_ref());
        let count = usize::try_from(LOG).unwrap();
        group.bench_function(BenchmarkId::new(name, "catch-up/100000"), |b| {
            b.iter(|| {
                let mut sub = recorder.subscribe(None, &[]).unwrap();
                let n = sub.by_ref().take(count).count();
                sub.stop();
                black_box(n)
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = configure(&mut Criterion::default());
    targets = append, append_threads, raw_append_threads, tracking, read
}
criterion_main!(benches);
