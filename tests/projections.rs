//! Projections through the facade, as a user runs them: the Python library's resume test on
//! SQLite files (which the Python library cannot follow), and a PostgreSQL view whose server
//! closes its connections (the Python runner dies there; ours recovers).

#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::sync::Arc;
use std::time::Duration;

use eventsourcing::postgres::{PgTx, PostgresConfig, PostgresView, drop_postgres_schema};
use eventsourcing::sqlite::rusqlite::params;
use eventsourcing::sqlite::{SqliteConfig, SqliteTx, SqliteView};
use eventsourcing::system::{App, Projection, ProjectionRunner, Received};
use eventsourcing::{ApplicationBuilder, Env, Result, Uuid};
use tutorial::{DogEvent, DogSchool};

const DEADLINE: Duration = Duration::from_secs(30);

/// Counts registrations and tricks, as the Python kit's `EventCounters`.
struct EventCounters;

fn key(event: &Received<'_>) -> Result<Option<&'static str>> {
    Ok(match event.decode::<DogEvent>()? {
        Some(DogEvent::Registered { .. }) => Some("created"),
        Some(DogEvent::TrickAdded { .. }) => Some("subsequent"),
        None => None,
    })
}

impl Projection<SqliteView> for EventCounters {
    const NAME: &'static str = "eventcounters";

    fn create_view(&self, view: &mut SqliteTx<'_>) -> Result<()> {
        view.execute_batch(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL)",
        )
    }

    fn process(&self, event: &Received<'_>, view: &mut SqliteTx<'_>) -> Result<()> {
        if let Some(name) = key(event)? {
            view.execute(
                "INSERT INTO counters VALUES (?1, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1",
                params![name],
            )?;
        }
        Ok(())
    }
}

fn sqlite_counts(view: &SqliteView) -> (i64, i64) {
    let get = |name: &str| {
        view.read(|c| {
            c.query_row("SELECT n FROM counters WHERE name = ?1", [name], |r| {
                r.get(0)
            })
        })
        .unwrap_or(0)
    };
    (get("created"), get("subsequent"))
}

fn save_dog(school: &DogSchool, tricks: &[&str]) -> u64 {
    let id = school.register_dog("dog").unwrap();
    for t in tricks {
        school.add_trick(id, t).unwrap();
    }
    school.recorder().max_notification_id().unwrap().unwrap()
}

/// The Python PostgreSQL kit's resume extension, on SQLite files: a second runner over the
/// same view continues the counts (1/2, then 3/6 over three runs).
#[test]
fn resume_continues_counts_on_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let school = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .var("PERSISTENCE_MODULE", "sqlite")
        .var("SQLITE_DBNAME", db("school.db"))
        .build()
        .unwrap();
    let school = Arc::new(DogSchool::from_application(school).unwrap());
    let open = || SqliteView::new(&SqliteConfig::new(db("views.db")), EventCounters::NAME);
    for run in 1..=3 {
        let last = save_dog(&school, &["sit", "roll"]);
        let view = Arc::new(open().unwrap());
        let runner =
            ProjectionRunner::start(Arc::clone(&school), EventCounters, Arc::clone(&view)).unwrap();
        runner.wait(last, DEADLINE).unwrap();
        assert_eq!(sqlite_counts(&view), (run, 2 * run), "run {run}");
    }
}

/// [`EventCounters`] in table `counters` of a schema.
struct PgCounters {
    table: String,
}

impl Projection<PostgresView> for PgCounters {
    const NAME: &'static str = "eventcounters";

    fn create_view(&self, view: &mut PgTx<'_>) -> Result<()> {
        view.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, n bigint NOT NULL)",
            self.table
        ))
    }

    fn process(&self, event: &Received<'_>, view: &mut PgTx<'_>) -> Result<()> {
        if let Some(name) = key(event)? {
            view.execute(
                &format!(
                    "INSERT INTO {t} VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET n = {t}.n + 1",
                    t = self.table
                ),
                &[&name],
            )?;
        }
        Ok(())
    }
}

/// The server terminates every connection of the view's pool, idle or in a transaction,
/// while the runner applies events: the runner retries, and the view ends with every event
/// once (the Python runner stops with `OperationalError`).
#[test]
fn a_postgres_view_recovers_when_the_server_closes_its_connections() {
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("view_{}", Uuid::new_v4().simple());
    config.application_name = format!("view_{}", Uuid::new_v4().simple());
    let view = Arc::new(PostgresView::new(&config, "eventcounters").unwrap());
    let table = format!("\"{}\".counters", config.schema);
    let school = Arc::new(
        // In memory: the view follows an application of another backend.
        DogSchool::from_application(
            ApplicationBuilder::new("DogSchool")
                .without_process_env()
                .var("PERSISTENCE_MODULE", "popo")
                .build()
                .unwrap(),
        )
        .unwrap(),
    );
    let projection = PgCounters {
        table: table.clone(),
    };
    let runner =
        ProjectionRunner::start(Arc::clone(&school), projection, Arc::clone(&view)).unwrap();
    let mut admin = config.clone();
    admin.application_name = "es_test_admin".to_owned();
    let mut admin = admin.connect().unwrap();
    let mut tricks = 0;
    let mut last = 0;
    for round in 0..10 {
        for _ in 0..5 {
            last = save_dog(&school, &["sit", "roll"]);
            tricks += 2;
        }
        if round % 2 == 1 {
            runner.wait(last, DEADLINE).unwrap();
        }
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
                &[&config.application_name],
            )
            .unwrap();
    }
    runner.wait(last, DEADLINE).unwrap();
    let rows = view
        .query(&format!("SELECT name, n FROM {table} ORDER BY name"), &[])
        .unwrap();
    let counts: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        counts,
        vec![
            ("created".to_owned(), 50),
            ("subsequent".to_owned(), tricks)
        ]
    );
    drop(runner);
    drop_postgres_schema(&config, &config.schema).unwrap();
}
