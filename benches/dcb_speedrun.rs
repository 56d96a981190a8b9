//! The enrolment speedrun (the Python library's `tests/benchmark/dcb_speedrun.py`, on the
//! recorder as the reference's condensed `speedrun_tt.py`): each iteration registers 10
//! courses and 10 students, each with the condition "nothing with my tag yet", then joins every
//! student to every course: a read of the two-item boundary (the student's registration and
//! joinings, the course's), the checks, and a conditional append after the read's head. 120
//! operations per iteration, one client, on each backend. `benches/python/dcb_speedrun.py`
//! runs the same workload on the Python library's `postgres_tt` and in-memory recorders, in the
//! same window.
//!
//! `DCB_PRELOAD=N` first fills the PostgreSQL log with N events of other tags (by SQL, in one
//! statement, then vacuumed and, when the role may, checkpointed), to see whether the rates
//! hold as the log grows.
//!
//! `clients/N`: N threads at once, each registering 2 courses and 2 students and joining them
//! (8 operations each), on a log of their own per backend: how appends scale with clients.

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use eventsourcing::Uuid;
use eventsourcing::dcb::{DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder};
use eventsourcing::popo::PopoDcbRecorder;
use eventsourcing::postgres::{PostgresDcbRecorder, drop_postgres_schema};
use eventsourcing::sqlite::{SqliteConfig, SqliteDcbRecorder};

const PER_ITERATION: u64 = 120;

fn register(r: &dyn DcbRecorder, t: &str, id: &str, data: &[u8]) {
    let event = DcbEvent::new(t, data.to_vec()).tagged([id]);
    let condition = DcbAppendCondition::new(DcbQueryItem::tags([id]));
    r.append(&[event], Some(&condition)).unwrap();
}

/// Joins a student to a course as the example does: read the boundary, check, append.
fn join(r: &dyn DcbRecorder, student: &str, course: &str) {
    let boundary = DcbQuery::items([
        DcbQueryItem::types(["StudentRegistered", "StudentJoinedCourse"]).and_tags([student]),
        DcbQueryItem::types(["CourseRegistered", "StudentJoinedCourse"]).and_tags([course]),
    ]);
    let read = r.read(&boundary, None, None).unwrap();
    let (mut student_ok, mut course_ok, mut taken, mut joined) = (false, false, 0, 0);
    for e in &read.events {
        let tags = &e.event.tags;
        match e.event.r#type.as_str() {
            "StudentRegistered" => student_ok = true,
            "CourseRegistered" => course_ok = true,
            _ => {
                taken += usize::from(tags.iter().any(|t| t == student));
                joined += usize::from(tags.iter().any(|t| t == course));
            }
        }
    }
    assert!(student_ok && course_ok && taken < 10 && joined < 10);
    let event = DcbEvent::new("StudentJoinedCourse", b"{}".to_vec()).tagged([course, student]);
    let condition = DcbAppendCondition::new(boundary).after(read.head);
    r.append(&[event], Some(&condition)).unwrap();
}

/// One client's `courses` courses and `students` students, registered and all joined.
fn enrol(r: &dyn DcbRecorder, courses: usize, students: usize) {
    let run = Uuid::new_v4().simple().to_string();
    let cs: Vec<String> = (0..courses).map(|n| format!("course-{run}-{n}")).collect();
    let ss: Vec<String> = (0..students)
        .map(|n| format!("student-{run}-{n}"))
        .collect();
    for c in &cs {
        register(
            r,
            "CourseRegistered",
            c,
            br#"{"name":"Course","places":10}"#,
        );
    }
    for s in &ss {
        register(
            r,
            "StudentRegistered",
            s,
            br#"{"name":"Student","max_courses":10}"#,
        );
    }
    for s in &ss {
        for c in &cs {
            join(r, s, c);
        }
    }
}

/// The backends, each a fresh log: in memory, a SQLite file, PostgreSQL when configured (and
/// the schema to drop).
fn backends() -> Vec<(
    &'static str,
    Arc<dyn DcbRecorder>,
    Option<eventsourcing::postgres::PostgresConfig>,
)> {
    let app = format!("speedrun_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let mut out: Vec<(&'static str, Arc<dyn DcbRecorder>, _)> =
        vec![("popo", Arc::new(PopoDcbRecorder::default()), None)];
    let sqlite = SqliteDcbRecorder::new(&SqliteConfig::new(support::temp_db("dcb")), &app);
    if let Ok(r) = sqlite {
        out.push(("sqlite-file", Arc::new(r), None));
    }
    if let Some(mut config) = support::postgres_config() {
        config.schema = app.clone();
        config.pool_size = 64;
        if let Ok(r) = PostgresDcbRecorder::new(&config, &app) {
            preload(&config, &app);
            out.push(("postgres", Arc::new(r), Some(config)));
        }
    }
    out
}

/// `DCB_PRELOAD` events of other tags in `app`'s PostgreSQL log.
fn preload(config: &eventsourcing::postgres::PostgresConfig, app: &str) {
    let n: i64 = std::env::var("DCB_PRELOAD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if n == 0 {
        return;
    }
    let (s, main, tag) = (
        &config.schema,
        format!("{app}_events_tt_main"),
        format!("{app}_events_tt_tag"),
    );
    let sql = format!(
        "INSERT INTO \"{s}\".\"{main}\" (type, data, tags) SELECT 'Filler', '\\x7b7d', \
         ARRAY['filler-' || g, 'group-' || (g % 1000)] FROM generate_series(1, {n}) g; \
         INSERT INTO \"{s}\".\"{tag}\" (tag, main_id) SELECT unnest(tags), id FROM \"{s}\".\"{main}\"; \
         ANALYZE \"{s}\".\"{main}\"; ANALYZE \"{s}\".\"{tag}\""
    );
    let mut client = config.connect().unwrap();
    client.batch_execute(&sql).unwrap();
    // As a log that grew over time would be: vacuumed (VACUUM cannot run in the batch above).
    client
        .batch_execute(&format!(
            "VACUUM ANALYZE \"{s}\".\"{main}\", \"{s}\".\"{tag}\""
        ))
        .unwrap();
}

fn bench(c: &mut Criterion) {
    let backends = backends();
    let mut g = c.benchmark_group("dcb_speedrun");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(PER_ITERATION));
    for (name, r, _) in &backends {
        g.bench_function(BenchmarkId::new("one_client", name), |b| {
            b.iter(|| enrol(r.as_ref(), 10, 10));
        });
    }
    g.finish();
    let mut g = c.benchmark_group("dcb_clients");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for (name, r, _) in backends.iter().filter(|(n, ..)| *n != "popo") {
        for clients in [1_usize, 16, 64] {
            g.throughput(Throughput::Elements(8 * clients as u64));
            g.bench_function(BenchmarkId::new(*name, clients), |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 0..clients {
                            s.spawn(|| enrol(r.as_ref(), 2, 2));
                        }
                    });
                });
            });
        }
    }
    g.finish();
    for (_, r, config) in backends {
        drop(r);
        if let Some(config) = config {
            let _ = drop_postgres_schema(&config, &config.schema);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
