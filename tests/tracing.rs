//! Tracing: what a subscriber sees of saves, loads, inserts and runners names applications,
//! ids, versions and counts, never states or keys; the in-memory default chosen while another
//! backend is configured is an error naming the variable, not its value; a failed edge is an
//! error line with its leader, follower and notification id as fields.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{new_dog, tutorial};
use eventsourcing::ApplicationBuilder;
use eventsourcing::mapper::AesCipher;
use eventsourcing::system::{RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::{Env, Uuid};

/// Everything a subscriber at trace level writes while `f` runs.
fn captured(f: impl FnOnce()) -> String {
    #[derive(Clone)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Capture(Arc::default());
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = out.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn saves_loads_and_runners_show_ids_never_states_or_keys() {
    let key = AesCipher::create_key(32);
    let sentinel = format!("sentinel-{}", Uuid::new_v4());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.db").to_string_lossy().into_owned();
    let mut id = Uuid::nil();
    let text = captured(|| {
        let env = Env::new("").with_all([
            ("PERSISTENCE_MODULE", "sqlite"),
            ("SQLITE_DBNAME", file.as_str()),
            ("CIPHER_KEY", key.as_str()),
        ]);
        let runner = SingleThreadedRunner::with_env(tutorial::system().unwrap(), env);
        runner.start().unwrap();
        let school = runner.get::<tutorial::DogSchool>().unwrap();
        id = school.register_dog(&sentinel).unwrap();
        school.add_trick(id, &sentinel).unwrap();
        assert_eq!(school.get_dog(id).unwrap().name, sentinel);
        runner.stop().unwrap();
    });
    for expected in [
        "eventsourcing::application: saved",
        "application=\"DogSchool\"",
        &id.to_string(),
        "eventsourcing::recorder: insert",
        "backend=\"SqliteBackend\"",
        "eventsourcing::runner: processing",
        "eventsourcing::application: loaded",
        "runner=\"single-threaded\"",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(!text.contains(&sentinel), "a state is shown:\n{text}");
    assert!(!text.contains(&key), "the key is shown:\n{text}");
}

#[test]
fn the_in_memory_default_with_sqlite_settings_is_a_config_error() {
    let e = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .var("SQLITE_DBNAME", "/tmp/secret-name.db")
        .build()
        .unwrap_err();
    let text = e.report().to_string();
    assert!(
        e.is_config()
            && text.contains("PERSISTENCE_MODULE")
            && text.contains("SQLITE_DBNAME")
            && text.contains("PERSISTENCE_MODULE=sqlite"),
        "{text}"
    );
    assert!(!text.contains("secret-name"), "the value is shown: {text}");
    // App-prefixed settings count too; an explicit `popo` keeps memory on purpose.
    let e = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .var("DOGSCHOOL_POSTGRES_DBNAME", "school")
        .build()
        .unwrap_err();
    assert!(
        e.report().to_string().contains("DOGSCHOOL_POSTGRES_DBNAME"),
        "{}",
        e.report()
    );
    let app = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .var("SQLITE_DBNAME", "/tmp/secret-name.db")
        .var("PERSISTENCE_MODULE", "popo")
        .build()
        .unwrap();
    let mut dog = new_dog("Rex");
    app.save(&mut dog).unwrap();
    assert_eq!(app.get::<tutorial::Dog>(dog.id()).unwrap().name, "Rex");
}

/// The single-threaded runner processes in the caller's thread, where this test's subscriber
/// listens (the multi-threaded runner's edge threads log the same fields from `fail`).
#[test]
fn a_failed_edge_is_logged_at_error_level_with_its_names_as_fields() {
    use es_testkit::apps::domain::{DogSchool, POISON, Strict, system};
    let trick = format!("panic-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick.clone());
    let text = captured(|| {
        let runner = SingleThreadedRunner::with_env(system(), Env::new(""));
        runner.start().unwrap();
        let school = runner.get::<DogSchool>().unwrap();
        let dog = school.register_dog("Rex").unwrap();
        let e = school.add_trick(dog, &trick).unwrap_err();
        assert!(
            e.report().to_string().contains("panicked"),
            "{}",
            e.report()
        );
        let failed = runner.wait::<Strict>("DogSchool", school.last_id(), WAIT);
        assert!(failed.is_err());
        runner.stop().unwrap();
    });
    POISON.lock().unwrap().remove(&trick);
    let line = text
        .lines()
        .find(|l| l.contains("ERROR") && l.contains("processing failed"))
        .unwrap_or_else(|| panic!("no error line in:\n{text}"));
    for field in [
        "leader=\"DogSchool\"",
        "follower=\"Counters\"",
        "notification_id=2",
        "panicked",
    ] {
        assert!(line.contains(field), "no {field} in {line}");
    }
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);
