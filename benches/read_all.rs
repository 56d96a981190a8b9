//! Reading an application's whole notification log: 100,000 events of about 150 bytes, on
//! every backend, as rows, as typed events (the read-all API), and through the notification
//! log in sections of 1,000; the raw driver's paged `SELECT` of the same rows in the same run
//! is the ceiling. Plus the cost of encoding and decoding one event where no I/O hides it.

mod support;
#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsourcing::application::Application;
use eventsourcing::domain::{Envelope, Timestamp};
use eventsourcing::mapper::Mapper;
use eventsourcing::persistence::{ProcessRecorder, Recorders, StoredEvent};
use eventsourcing::{Env, Uuid};
use support::{RawPostgres, RawSqlite, backends, postgres_config, temp_db};
use tutorial::DogEvent;

const LOG: usize = 100_000;
const PAGE: usize = 1_000;

/// A trick event whose stored state is about 150 bytes.
fn event(i: usize) -> Envelope<DogEvent> {
    Envelope {
        originator_id: Uuid::new_v4(),
        originator_version: 1,
        timestamp: Timestamp::now(),
        event: DogEvent::TrickAdded {
            trick: format!(
                "{i:08} roll over, fetch the ball and play dead, then sit and stay for a treat, good dog!!"
            ),
        },
    }
}

fn stored(mapper: &Mapper, n: usize) -> Vec<StoredEvent> {
    (0..n)
        .map(|i| mapper.to_stored(&event(i)).unwrap())
        .collect()
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Elements(1));
    let mapper = Mapper::new();
    let envelope = event(1);
    let stored = mapper.to_stored(&envelope).unwrap();
    assert!(
        (140..170).contains(&stored.state.len()),
        "{}",
        stored.state.len()
    );
    group.bench_function("encode", |b| {
        b.iter(|| black_box(mapper.to_stored(black_box(&envelope)).unwrap()))
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(mapper.decode::<DogEvent>(black_box(&stored)).unwrap()))
    });
    group.finish();
}

fn read_all(c: &mut Criterion) {
    let mut group = c.benchmark_group("read-all");
    group.throughput(Throughput::Elements(LOG as u64));
    group.sample_size(10);
    let events = stored(&Mapper::new(), LOG);
    for (name, recorder) in backends() {
        if name == "sqlite-memory" {
            continue;
        }
        for chunk in events.chunks(PAGE) {
            recorder.insert_events(chunk).unwrap();
        }
        let recorder: Arc<dyn ProcessRecorder> = Arc::from(recorder);
        let env = Env::new("Bench").with("LOG_SECTION_SIZE", PAGE.to_string());
        let app = Application::new(env, Recorders::new(recorder)).unwrap();
        group.bench_function(BenchmarkId::new(name, "rows"), |b| {
            b.iter(|| black_box(app.read_all().page_size(PAGE).count()))
        });
        group.bench_function(BenchmarkId::new(name, "typed"), |b| {
            b.iter(|| {
                let events = app.read_all().page_size(PAGE).events::<DogEvent>();
                let count = events.fold(0, |n, e| n + usize::from(e.unwrap().0 > 0));
                black_box(count)
            })
        });
        for (label, prefetch) in [("typed/prefetch", true), ("typed/in-turn", false)] {
            group.bench_function(BenchmarkId::new(name, label), |b| {
                b.iter(|| {
                    let read = app.read_all().page_size(PAGE).prefetch(prefetch);
                    let events = read.events::<DogEvent>();
                    black_box(events.fold(0, |n, e| n + usize::from(e.unwrap().0 > 0)))
                })
            });
        }
        group.bench_function(BenchmarkId::new(name, "sections/1000"), |b| {
            b.iter(|| {
                let log = app.notification_log();
                let (mut id, mut count) = (Some(format!("1,{PAGE}")), 0);
                while let Some(section) = id.take() {
                    let section = log.section(&section).unwrap();
                    count += section.items.len();
                    id = section.next_id;
                }
                black_box(count)
            })
        });
    }
    let page = i64::try_from(PAGE).unwrap();
    let raw_sqlite = RawSqlite::new(&temp_db("readall"));
    for chunk in events.chunks(PAGE) {
        raw_sqlite.insert(chunk);
    }
    group.bench_function(BenchmarkId::new("raw-sqlite-file", "rows"), |b| {
        b.iter(|| {
            let (mut after, mut count) = (0, 0);
            while let n @ 1.. = raw_sqlite.select_page(after, page) {
                (after, count) = (after + i64::try_from(n).unwrap(), count + n);
            }
            black_box(count)
        })
    });
    if let Some(config) = postgres_config() {
        let mut raw = RawPostgres::new(&config);
        for chunk in events.chunks(PAGE) {
            raw.copy(chunk);
        }
        group.bench_function(BenchmarkId::new("raw-postgres", "rows/streamed"), |b| {
            b.iter(|| black_box(raw.select_streamed(0)))
        });
        group.bench_function(BenchmarkId::new("raw-postgres", "bytes/copy-binary"), |b| {
            b.iter(|| black_box(raw.copy_out()))
        });
        group.bench_function(BenchmarkId::new("raw-postgres", "rows"), |b| {
            b.iter(|| {
                let (mut after, mut count) = (0, 0);
                while let n @ 1.. = raw.select_page(after, page) {
                    (after, count) = (after + i64::try_from(n).unwrap(), count + n);
                }
                black_box(count)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, codec, read_all);
criterion_main!(benches);
