//! Safe inside tokio: constructing, using and dropping PostgreSQL recorders and an application
//! from a runtime thread (both flavours) never panics. The control shows the hazard: the
//! driver itself, called the same way, panics ("Cannot start a runtime from within a runtime").

use std::panic::{AssertUnwindSafe, catch_unwind};

use es_core::application::Application;
use es_core::domain::Root;
use es_core::{AggregateRecorder, ApplicationRecorder, EventQuery, TrackingRecorder, Uuid};
use es_core::{Env, ProcessRecorder, Tracking};
use es_postgres::{PostgresConfig, PostgresProcessRecorder, drop_postgres_schema};
use es_testkit::apps::domain::Dog;
use es_testkit::support::event;

fn config() -> Option<PostgresConfig> {
    es_testkit::env_or_skip("POSTGRES_DBNAME")?;
    let mut c = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    c.schema = format!("tokio_{}", Uuid::new_v4().simple());
    Some(c)
}

/// Everything a service does with the sync API, on the current (runtime) thread.
fn build_use_and_drop(config: &PostgresConfig) {
    let recorder = PostgresProcessRecorder::new(config, "app").unwrap();
    let id = Uuid::new_v4();
    let ids = recorder
        .insert_events_with_tracking(&[event(id, 1, "Tokio.Ran")], &Tracking::new("up", 1))
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        recorder
            .select_events(id, &EventQuery::new())
            .unwrap()
            .len(),
        1
    );
    assert_eq!(recorder.max_tracking_id("up").unwrap(), Some(1));
    assert!(recorder.max_notification_id().unwrap().is_some());
    assert_eq!(
        recorder.backend().session_setting("lock_timeout").unwrap(),
        "0"
    );
    drop(recorder);

    let env = Env::from_process("TokioSchool").with("POSTGRES_SCHEMA", config.schema.clone());
    let app = Application::new(env.clone(), es_postgres::open(&env, true).unwrap()).unwrap();
    let mut dog = Dog::register("Async");
    dog.trigger(dog.add_trick("await"));
    app.save(&mut dog).unwrap();
    let copy: Root<Dog> = app.get(dog.id()).unwrap();
    assert_eq!(copy.tricks, ["await"]);
    drop(app);
    drop_postgres_schema(config, &config.schema).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime() {
    let Some(config) = config() else { return };
    build_use_and_drop(&config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime() {
    let Some(config) = config() else { return };
    build_use_and_drop(&config);
}

#[tokio::test(flavor = "current_thread")]
async fn control_the_bare_driver_panics_here() {
    let Some(config) = config() else { return };
    let panicked = catch_unwind(AssertUnwindSafe(|| config.connect().map(drop))).is_err();
    assert!(
        panicked,
        "the driver blocks on its runtime inside ours: the hazard this avoids"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn on_the_blocking_pool_the_driver_blocks_in_place() {
    let Some(config) = config() else { return };
    // A marked thread of the blocking pool has the runtime's context and drives no tasks: the
    // bare driver blocks there without panicking, so the recorders call it directly.
    let thread = tokio::task::spawn_blocking(move || {
        es_core::backend::on_blocking_thread(|| {
            assert!(tokio::runtime::Handle::try_current().is_ok());
            config.connect().map(drop).unwrap();
            build_use_and_drop(&config);
            std::thread::current().id()
        })
    });
    assert_ne!(thread.await.unwrap(), std::thread::current().id());
}
