//! A read model beside the tutorial's DogSchool: a projection of tricks per dog into a SQLite
//! view, kept by a `ProjectionRunner`, read with plain SQL after `wait` (read-your-writes).
//!
//! ```sh
//! cargo run --example dog_school_projection                         # DogSchool on POPO
//! PERSISTENCE_MODULE=sqlite SQLITE_DBNAME=/tmp/school.db \
//!   TRICKSPERDOG_SQLITE_DBNAME=/tmp/views.db cargo run --example dog_school_projection
//! ```
//!
//! The view's settings are named after the projection (`TRICKSPERDOG_SQLITE_DBNAME`, then
//! `SQLITE_DBNAME`, else a private in-memory database). Run it twice on files: the second run
//! resumes where the first stopped, and the counts go on from there.

#[path = "tutorial/mod.rs"]
mod tutorial;

use std::sync::Arc;
use std::time::Duration;

use eventsourcing::sqlite::rusqlite::params;
use eventsourcing::sqlite::{SqliteConfig, SqliteTx, SqliteView};
use eventsourcing::system::{App, Projection, ProjectionRunner, Received};
use eventsourcing::{ApplicationBuilder, Env, Error, Result};
use tutorial::DogEvent;

/// Tricks per dog: one row per dog, counted as tricks are added.
struct TricksPerDog;

impl Projection<SqliteView> for TricksPerDog {
    const NAME: &'static str = "tricksperdog";

    fn create_view(&self, view: &mut SqliteTx<'_>) -> Result<()> {
        view.execute_batch(
            "CREATE TABLE IF NOT EXISTS tricks_per_dog \
             (dog_id BLOB PRIMARY KEY, name TEXT NOT NULL, tricks INTEGER NOT NULL)",
        )
    }

    fn process(&self, event: &Received<'_>, view: &mut SqliteTx<'_>) -> Result<()> {
        let dog_id = event.notification.originator_id;
        match event.decode::<DogEvent>()? {
            Some(DogEvent::Registered { name }) => view.execute(
                "INSERT INTO tricks_per_dog (dog_id, name, tricks) VALUES (?1, ?2, 0)",
                params![dog_id.as_bytes(), name],
            ),
            Some(DogEvent::TrickAdded { .. }) => view.execute(
                "UPDATE tricks_per_dog SET tricks = tricks + 1 WHERE dog_id = ?1",
                params![dog_id.as_bytes()],
            ),
            None => Ok(0),
        }
        .map(drop)
    }
}

fn main() -> Result<()> {
    let school = ApplicationBuilder::new("DogSchool").build()?;
    let school = Arc::new(tutorial::DogSchool::from_application(school)?);
    let env = Env::from_process(TricksPerDog::NAME);
    let view = match env.get("SQLITE_DBNAME") {
        Some(_) => SqliteView::from_env(&env)?,
        None => SqliteView::new(&SqliteConfig::new(":memory:"), TricksPerDog::NAME)?,
    };
    let runner = ProjectionRunner::start(Arc::clone(&school), TricksPerDog, Arc::new(view))?;

    let billy = school.register_dog("Billy")?;
    let milly = school.register_dog("Milly")?;
    school.add_trick(billy, "roll over")?;
    school.add_trick(billy, "play dead")?;
    school.add_trick(milly, "sit")?;
    // Read-your-writes: wait until the view has processed the last save.
    let last = school.recorder().max_notification_id()?.unwrap_or(0);
    runner.wait(last, Duration::from_secs(10))?;

    let rows = runner.store().read(|conn| {
        let mut stmt =
            conn.prepare("SELECT name, tricks FROM tricks_per_dog ORDER BY tricks DESC, name")?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        });
        rows?.collect::<eventsourcing::sqlite::rusqlite::Result<Vec<_>>>()
    })?;
    for (name, tricks) in &rows {
        println!("{name}: {tricks} tricks");
    }
    let health = runner.health()?;
    println!(
        "view {} at notification {:?} of {} (lag {}, {:?})",
        health.projection, health.position, health.leader, health.lag, health.state
    );
    if rows.len() < 2 {
        return Err(Error::programming("the view is missing dogs"));
    }
    Ok(())
}
