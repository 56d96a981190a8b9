//! P1: a projection runner in a worker process, killed with SIGKILL again and again while it
//! applies batches into a view (a SQLite file, or a PostgreSQL schema), until it has caught up
//! with a leader (a SQLite file) pre-filled with N events; then every event is in the view
//! exactly once. On PostgreSQL the next worker starts at once, while the killed worker's last
//! transaction may still be committing on the server: the tracking record's conflict decides.
//!
//! The view is one row per upstream notification id, written `INSERT … ON CONFLICT DO UPDATE SET
//! n = n + 1`: an event applied twice shows as `n = 2`, a lost one as a missing row. Each event
//! takes a little time inside the view's transaction (batches of 40 take tens of ms), so the
//! kills land mid-batch, between the view's writes and their commit with the tracking record.
//! The worker is this test binary started again (`p1_child`).

use std::sync::Arc;
use std::time::Duration;

use eventsourcing::application::Application;
use eventsourcing::persistence::{TrackingRecorder, ViewStore};
use eventsourcing::postgres::{PgTx, PostgresConfig, PostgresView, drop_postgres_schema};
use eventsourcing::sqlite::rusqlite::params;
use eventsourcing::sqlite::{SqliteConfig, SqliteTx, SqliteView};
use eventsourcing::system::{Projection, ProjectionOptions, ProjectionRunner, Received};
use eventsourcing::{ApplicationBuilder, Env, Result, Uuid};

use super::{Rng, Worker, sessions_left};
use crate::common::{new_dog, trick};

const CHILD: &str = "ES_CRASH_P1_CHILD";
const LAST: &str = "ES_CRASH_P1_LAST";
/// Set: the view is in this PostgreSQL schema (and its sessions are named after it).
const SCHEMA: &str = "ES_CRASH_P1_SCHEMA";
/// Events in the leader.
const EVENTS: u64 = 2_000;
/// Notifications per view transaction.
const BATCH: usize = 40;
/// Time each event takes inside the transaction.
const WORK: Duration = Duration::from_millis(1);

/// One row per notification applied, counting applications, in `table`.
struct Applied {
    table: String,
}

impl Projection<SqliteView> for Applied {
    const NAME: &'static str = "applied";

    fn create_view(&self, view: &mut SqliteTx<'_>) -> Result<()> {
        view.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {} (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
            self.table
        ))
    }

    fn process(&self, event: &Received<'_>, view: &mut SqliteTx<'_>) -> Result<()> {
        let id = i64::try_from(event.notification.id).unwrap();
        view.execute(
            &format!(
                "INSERT INTO {t} VALUES (?1, 1) ON CONFLICT (id) DO UPDATE SET n = {t}.n + 1",
                t = self.table
            ),
            params![id],
        )?;
        std::thread::sleep(WORK);
        Ok(())
    }
}

impl Projection<PostgresView> for Applied {
    const NAME: &'static str = "applied";

    fn create_view(&self, view: &mut PgTx<'_>) -> Result<()> {
        view.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (id bigint PRIMARY KEY, n bigint NOT NULL)",
            self.table
        ))
    }

    fn process(&self, event: &Received<'_>, view: &mut PgTx<'_>) -> Result<()> {
        let id = i64::try_from(event.notification.id).unwrap();
        view.execute(
            &format!(
                "INSERT INTO {t} VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET n = {t}.n + 1",
                t = self.table
            ),
            &[&id],
        )?;
        std::thread::sleep(WORK);
        Ok(())
    }
}

/// Where the view is.
enum Store {
    Sqlite(SqliteView),
    /// The view and its schema.
    Postgres(PostgresView, String),
}

impl Store {
    /// The view of `dir` or `schema`; on PostgreSQL its sessions are named `session`.
    fn open(dir: &str, schema: Option<&str>, session: &str) -> Self {
        match schema {
            None => Self::Sqlite(
                SqliteView::new(&SqliteConfig::new(format!("{dir}/view.db")), "applied").unwrap(),
            ),
            Some(schema) => {
                let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
                config.schema = schema.to_owned();
                config.application_name = session.to_owned();
                Self::Postgres(
                    PostgresView::new(&config, "applied").unwrap(),
                    config.schema,
                )
            }
        }
    }

    fn table(&self) -> String {
        match self {
            Self::Sqlite(_) => "applied".to_owned(),
            Self::Postgres(_, schema) => format!("\"{schema}\".applied"),
        }
    }

    fn position(&self) -> u64 {
        let tracking: &dyn TrackingRecorder = match self {
            Self::Sqlite(v) => v,
            Self::Postgres(v, _) => v,
        };
        tracking.max_tracking_id("DogSchool").unwrap().unwrap_or(0)
    }

    /// `(id, n)` of every row, by id.
    fn rows(&self) -> Vec<(u64, i64)> {
        let sql = format!("SELECT id, n FROM {} ORDER BY id", self.table());
        let rows: Vec<(i64, i64)> = match self {
            Self::Sqlite(v) => v
                .read(|c| {
                    let mut s = c.prepare(&sql)?;
                    let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect()
                })
                .unwrap(),
            Self::Postgres(v, _) => v
                .query(&sql, &[])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect(),
        };
        rows.into_iter()
            .map(|(id, n)| (u64::try_from(id).unwrap(), n))
            .collect()
    }
}

/// Runs [`Applied`] into `view` until it has caught up with `last`.
fn run<S: ViewStore>(dir: &str, view: S, table: String, last: u64)
where
    Applied: Projection<S>,
{
    let runner = ProjectionRunner::start_with(
        Arc::new(leader(dir)),
        Applied { table },
        Arc::new(view),
        ProjectionOptions::default().batch(BATCH),
    )
    .unwrap();
    // On a line of its own: the test harness's "test crash::p1_child ... " has no newline.
    println!("\nSTARTED");
    runner.wait(last, Duration::from_secs(120)).unwrap();
    runner.stop().unwrap();
    println!("CAUGHT_UP");
}

fn leader(dir: &str) -> Application {
    ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .var("PERSISTENCE_MODULE", "sqlite")
        .var("SQLITE_DBNAME", format!("{dir}/leader.db"))
        .build()
        .unwrap()
}

/// The worker: runs the projection until the view has caught up with `LAST`, then says so.
pub(super) fn child() {
    let Ok(dir) = std::env::var(CHILD) else {
        return;
    };
    let last: u64 = std::env::var(LAST).unwrap().parse().unwrap();
    let schema = std::env::var(SCHEMA).ok();
    let store = Store::open(&dir, schema.as_deref(), schema.as_deref().unwrap_or(""));
    let table = store.table();
    match store {
        Store::Sqlite(view) => run(&dir, view, table, last),
        Store::Postgres(view, _) => run(&dir, view, table, last),
    }
}

/// P1 on a SQLite view.
pub(super) fn test_sqlite() {
    test(None);
}

/// P1 on a PostgreSQL view, when a server is configured.
pub(super) fn test_postgres() {
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let schema = format!("p1_{}", Uuid::new_v4().simple());
    test(Some(&schema));
    let config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    drop_postgres_schema(&config, &schema).unwrap();
}

/// Kills workers until one catches up, then checks the view row by row.
fn test(schema: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let leader = leader(&path);
    let mut dog = new_dog("Rex");
    while leader
        .recorder()
        .max_notification_id()
        .unwrap()
        .unwrap_or(0)
        < EVENTS
    {
        for _ in 0..50 {
            dog.trigger(trick("sit"));
        }
        leader.save(&mut dog).unwrap();
    }
    let last = leader.recorder().max_notification_id().unwrap().unwrap();
    // The workers' sessions are named after the schema; the parent's apart.
    let store = Store::open(&path, schema, "p1_parent");
    let position = || store.position();
    let mut rng = Rng::seeded("P1");
    let (mut kills, mut killed_at) = (0, Vec::new());
    let mut vars = vec![(CHILD, path.clone()), (LAST, last.to_string())];
    if let Some(schema) = schema {
        vars.push((SCHEMA, schema.to_owned()));
    }
    loop {
        let before = position();
        let mut worker = Worker::spawn("crash::p1_child", &vars);
        if !worker.wait_for("STARTED", 1, Duration::from_secs(60)) {
            let status = worker.kill_after(Duration::ZERO);
            panic!("a worker did not start ({status}): {:?}", worker.lines());
        }
        let status = worker.kill_after(Duration::from_millis(20 + rng.below(180)));
        if worker.lines().iter().any(|l| l == "CAUGHT_UP") {
            assert!(status.success() || position() == last, "{status}");
            break;
        }
        kills += 1;
        killed_at.push(position() - before);
        assert!(kills < 400, "no worker caught up in 400 runs");
    }
    if let (Store::Postgres(..), Some(schema)) = (&store, schema) {
        // A killed worker's last statement may still be running on the server.
        let config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
        let mut admin = crate::common::admin(&config);
        let (left, _) = sessions_left(&mut admin, schema);
        assert_eq!(left, 0, "sessions of killed workers still open");
    }
    let rows = store.rows();
    let twice: Vec<u64> = rows.iter().filter(|r| r.1 != 1).map(|r| r.0).collect();
    let ids: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let missing = (1..=last)
        .filter(|id| ids.binary_search(id).is_err())
        .count();
    println!(
        "P1 ({}): {last} events, {kills} workers killed (advanced by {:?} notifications each), \
         {missing} lost, {} applied more than once",
        if schema.is_some() {
            "PostgreSQL view"
        } else {
            "SQLite view"
        },
        killed_at,
        twice.len()
    );
    assert!(kills >= 3, "at least three kills: {kills}");
    assert_eq!(missing, 0, "events missing from the view");
    assert!(
        twice.is_empty(),
        "applied more than once: {:?}",
        &twice[..twice.len().min(10)]
    );
    assert_eq!(position(), last);
}
