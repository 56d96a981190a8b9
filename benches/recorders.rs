//! Criterion benches of the recorder paths, one body per path over `&dyn` recorders, for every
//! backend available. Run with `cargo bench`; see BENCHMARKS.md when it lands with the backend
//! benches. Throughput is reported in elements (events) per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use eventsourcing::persistence::{
    ApplicationRecorder, NotificationQuery, ProcessRecorder, StoredEvent, Tracking, Uuid,
};
use eventsourcing::popo::PopoProcessRecorder;
use eventsourcing::postgres::{PostgresConfig, PostgresProcessRecorder};
use eventsourcing::sqlite::{SqliteConfig, SqliteProcessRecorder};

/// A state of about 150 bytes, like a small JSON event.
fn state() -> Vec<u8> {
    let mut s = br#"{"name":"Fido","trick":"roll over","at":"2026-11-26T14:00:00.000000+00:00","by":"trainer"}"#.to_vec();
    s.resize(150, b' ');
    s
}

fn batch(n: u64) -> Vec<StoredEvent> {
    let id = Uuid::new_v4();
    (1..=n)
        .map(|v| StoredEvent::new(id, v, "Dog.TrickAdded", state()))
        .collect()
}

/// Every backend available: in-memory, SQLite (a WAL file and `:memory:`), and PostgreSQL when
/// the `POSTGRES_*` variables are set. Each bench run uses fresh tables.
fn backends() -> Vec<(&'static str, Box<dyn ProcessRecorder>)> {
    let app = format!("bench_{}", Uuid::new_v4().simple());
    let mut out: Vec<(&'static str, Box<dyn ProcessRecorder>)> =
        vec![("popo", Box::new(PopoProcessRecorder::new()))];
    let file = std::env::temp_dir().join(format!("{app}.db"));
    let file = SqliteConfig::new(file.to_string_lossy());
    if let Ok(r) = SqliteProcessRecorder::new(&file, &app) {
        out.push(("sqlite-file", Box::new(r)));
    }
    if let Ok(r) = SqliteProcessRecorder::new(&SqliteConfig::new(":memory:"), &app) {
        out.push(("sqlite-memory", Box::new(r)));
    }
    let env = eventsourcing::persistence::Env::from_process("");
    if env.get("POSTGRES_DBNAME").is_some()
        && let Ok(config) = PostgresConfig::from_env(&env)
        && let Ok(r) = PostgresProcessRecorder::new(&config, &app)
    {
        out.push(("postgres", Box::new(r)));
    }
    out
}

fn insert_events(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_events");
    for (name, recorder) in backends() {
        for n in [1_u64, 10, 100] {
            group.throughput(Throughput::Elements(n));
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter_batched(
                    || batch(n),
                    |events| black_box(recorder.insert_events(&events).map(|ids| ids.len())),
                    criterion::BatchSize::SmallInput,
                );
            });
        }
    }
    group.finish();
}

fn insert_with_tracking(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_events_with_tracking");
    group.throughput(Throughput::Elements(1));
    for (name, recorder) in backends() {
        let mut position = 0;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    position += 1;
                    (batch(1), Tracking::new("upstream", position))
                },
                |(events, t)| black_box(recorder.insert_events_with_tracking(&events, &t)),
                criterion::BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

fn select_notifications(c: &mut Criterion) {
    let mut group = c.benchmark_group("select_notifications");
    group.throughput(Throughput::Elements(500));
    for (name, recorder) in backends() {
        for _ in 0..1_000 {
            recorder.insert_events(&batch(100)).ok();
        }
        let max = recorder.max_notification_id().ok().flatten().unwrap_or(0);
        let mut start = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                start = (start + 500) % max.max(1);
                let q = NotificationQuery::new(500).after(start);
                black_box(recorder.select_notifications(&q).map(|p| p.len()))
            });
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    insert_events,
    insert_with_tracking,
    select_notifications
);
criterion_main!(benches);
