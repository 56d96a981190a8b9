//! Projections catching up: a `ProjectionRunner` applying a backlog of DogSchool notifications
//! to a view of counters (an upsert per event, as the Python library's `EventCounters`), per
//! view backend, with `PROCESSING_BATCH` 500 (the default) on 100,000 events and 1 (one commit
//! per event, like for like with the Python library) on 5,000; next to it, in the same run, the
//! leader's own rate of appending 100 events per save. The targets: catch-up into a
//! PostgreSQL view at least half the leader's append rate, and 50 x the Python library's
//! `ProjectionRunner` (`benches/python/projection_runner.py`, run in the same window).
//!
//! Each iteration starts a runner on a fresh view (new tables) and waits for the last
//! notification: start, the upsert per event, the tracking record per batch, and the wake.

mod support;
#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use eventsourcing::application::{Application, Pending};
use eventsourcing::domain::Root;
use eventsourcing::persistence::ViewStore;
use eventsourcing::popo::MemoryView;
use eventsourcing::postgres::{PgTx, PostgresView, drop_postgres_schema};
use eventsourcing::sqlite::rusqlite::params;
use eventsourcing::sqlite::{SqliteConfig, SqliteTx, SqliteView};
use eventsourcing::system::{Projection, ProjectionOptions, ProjectionRunner, Received};
use eventsourcing::{ApplicationBuilder, Result, Uuid};
use tutorial::DogEvent;

const LOG: usize = 100_000;
const ONE_AT_A_TIME: usize = 5_000;

/// Counts events by type, one upsert each.
struct EventCounters {
    table: String,
    /// The PostgreSQL upsert, built once.
    upsert: String,
}

fn name(event: &Received<'_>) -> Result<&'static str> {
    Ok(match event.decode::<DogEvent>()? {
        Some(DogEvent::Registered { .. }) => "Registered",
        Some(DogEvent::TrickAdded { .. }) => "TrickAdded",
        None => "other",
    })
}

impl Projection<PostgresView> for EventCounters {
    const NAME: &'static str = "eventcounters";

    fn create_view(&self, view: &mut PgTx<'_>) -> Result<()> {
        view.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, n bigint NOT NULL)",
            self.table
        ))
    }

    fn process(&self, event: &Received<'_>, view: &mut PgTx<'_>) -> Result<()> {
        let name = name(event)?;
        // Queued: a batch's upserts go in one round trip.
        view.queue(&self.upsert, vec![Box::new(name)])
    }
}

impl Projection<SqliteView> for EventCounters {
    const NAME: &'static str = "eventcounters";

    fn create_view(&self, view: &mut SqliteTx<'_>) -> Result<()> {
        view.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, n INTEGER NOT NULL)",
            self.table
        ))
    }

    fn process(&self, event: &Received<'_>, view: &mut SqliteTx<'_>) -> Result<()> {
        let name = name(event)?;
        view.execute(
            &format!(
                "INSERT INTO {} VALUES (?1, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
                self.table
            ),
            params![name],
        )
        .map(drop)
    }
}

type Counts = std::collections::BTreeMap<&'static str, u64>;

impl Projection<MemoryView<Counts>> for EventCounters {
    const NAME: &'static str = "eventcounters";

    fn process(&self, event: &Received<'_>, view: &mut Counts) -> Result<()> {
        *view.entry(name(event)?).or_default() += 1;
        Ok(())
    }
}

/// One save of 100 events: a dog registered with 99 tricks.
fn hundred(app: &Application, i: usize) {
    let mut dog = Root::<tutorial::Dog>::create(DogEvent::Registered {
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

/// A runner on the fresh view `store` with its counts in `table`: the time from start to the
/// last notification applied.
fn catch_up<S>(leader: &Arc<Application>, store: S, table: String, batch: usize) -> Duration
where
    S: ViewStore + Send + Sync,
    EventCounters: Projection<S>,
{
    let last = leader.recorder().max_notification_id().unwrap().unwrap();
    let started = Instant::now();
    let runner = ProjectionRunner::start_with(
        Arc::clone(leader),
        EventCounters {
            upsert: format!(
                "INSERT INTO {table} AS t VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET n = t.n + 1"
            ),
            table,
        },
        Arc::new(store),
        ProjectionOptions::default().batch(batch),
    )
    .unwrap();
    runner.wait(last, Duration::from_secs(600)).unwrap();
    started.elapsed()
}

/// A leader of `events` notifications on `vars`.
fn leader(vars: &[(String, String)], events: usize) -> Arc<Application> {
    let app = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .vars(vars.iter().cloned())
        .build()
        .unwrap();
    for i in 0..events / 100 {
        hundred(&app, i);
    }
    Arc::new(app)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("projection");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    let mut backends: Vec<(&str, Vec<(String, String)>)> = vec![
        ("popo", vec![("PERSISTENCE_MODULE".into(), "popo".into())]),
        (
            "sqlite-file",
            vec![
                ("PERSISTENCE_MODULE".into(), "sqlite".into()),
                (
                    "SQLITE_DBNAME".into(),
                    support::temp_db("projection-leader"),
                ),
            ],
        ),
    ];
    let pg = support::postgres_config();
    if pg.is_some() {
        let mut vars = vec![
            ("PERSISTENCE_MODULE".into(), "postgres".into()),
            (
                "POSTGRES_SCHEMA".into(),
                format!("projleader_{}", Uuid::new_v4().simple()),
            ),
        ];
        vars.extend(
            std::env::vars().filter(|(k, _)| k.starts_with("POSTGRES_") && k != "POSTGRES_SCHEMA"),
        );
        backends.push(("postgres", vars));
    }
    for (backend, vars) in &backends {
        let appender = ApplicationBuilder::new("Appender")
            .without_process_env()
            .vars(vars.iter().cloned())
            .build()
            .unwrap();
        let mut i = 0;
        group.throughput(Throughput::Elements(100));
        group.bench_function(BenchmarkId::new(*backend, "leader-append-100"), |b| {
            b.iter(|| {
                i += 1;
                hundred(&appender, i);
            });
        });
        for (events, batch) in [(LOG, 500), (ONE_AT_A_TIME, 1)] {
            let leader = leader(vars, events);
            group.throughput(Throughput::Elements(events as u64));
            let id = BenchmarkId::new(*backend, format!("view-batch-{batch}"));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| match *backend {
                            "popo" => catch_up(
                                &leader,
                                MemoryView::<Counts>::default(),
                                String::new(),
                                batch,
                            ),
                            "sqlite-file" => {
                                let config = SqliteConfig::new(support::temp_db("projection-view"));
                                let view = SqliteView::new(&config, "eventcounters").unwrap();
                                catch_up(&leader, view, "counts".to_owned(), batch)
                            }
                            _ => {
                                let mut config = pg.clone().unwrap();
                                config.schema = format!("projview_{}", Uuid::new_v4().simple());
                                let view = PostgresView::new(&config, "eventcounters").unwrap();
                                let table = format!("\"{}\".counts", config.schema);
                                let took = catch_up(&leader, view, table, batch);
                                drop_postgres_schema(&config, &config.schema).unwrap();
                                took
                            }
                        })
                        .sum()
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
