//! The tutorial's `test()` for every combination of runner and backend, as the tutorial runs
//! them: POPO; SQLite `:memory:`, named shared-cache memory databases per application, and
//! temporary files; PostgreSQL with AES-GCM and zlib, dropping the tables between runs with
//! `drop_postgres_table` as the tutorial does.

#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use eventsourcing::mapper::AesCipher;
use eventsourcing::postgres::{PostgresConfig, drop_postgres_schema, drop_postgres_table};
use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{MultiThreadedRunner, SingleThreadedRunner};
use eventsourcing::{Env, Uuid};

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::new("").with_all(pairs.iter().copied())
}

fn run_both(label: &str, single: Env, multi: Env) {
    let system = tutorial::system().unwrap();
    let runner = SingleThreadedRunner::with_env(system.clone(), single);
    tutorial::test(&runner).unwrap_or_else(|e| panic!("{label}, single-threaded: {e}"));
    let runner = MultiThreadedRunner::with_env(system, multi);
    tutorial::test(&runner).unwrap_or_else(|e| panic!("{label}, multi-threaded: {e}"));
}

#[test]
fn popo() {
    run_both(
        "popo",
        env(&[]),
        env(&[("PERSISTENCE_MODULE", "eventsourcing.popo")]),
    );
}

#[test]
fn sqlite_in_memory() {
    let memory = env(&[
        ("PERSISTENCE_MODULE", "eventsourcing.sqlite"),
        ("SQLITE_DBNAME", ":memory:"),
    ]);
    run_both("sqlite :memory:", memory.clone(), memory);
}

#[test]
fn sqlite_named_shared_cache_per_application() {
    let tag = Uuid::new_v4().simple().to_string();
    let dogs = format!("file:dogschool_{tag}?mode=memory&cache=shared");
    let counters = format!("file:counters_{tag}?mode=memory&cache=shared");
    let shared = env(&[
        ("PERSISTENCE_MODULE", "eventsourcing.sqlite"),
        ("SQLITE_DBNAME", ":memory:"),
        ("DOGSCHOOL_SQLITE_DBNAME", &dogs),
        ("COUNTERS_SQLITE_DBNAME", &counters),
    ]);
    // The databases live while the runner's applications do, so each run starts empty.
    run_both("sqlite shared cache", shared.clone(), shared);
}

#[test]
fn sqlite_files() {
    for layout in ["one file", "a file per application"] {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let files = |run: &str| {
            let (d, c) = if layout == "one file" {
                (path(&format!("{run}.db")), path(&format!("{run}.db")))
            } else {
                (
                    path(&format!("{run}-dogs.db")),
                    path(&format!("{run}-counters.db")),
                )
            };
            env(&[
                ("PERSISTENCE_MODULE", "sqlite"),
                ("DOGSCHOOL_SQLITE_DBNAME", &d),
                ("COUNTERS_SQLITE_DBNAME", &c),
            ])
        };
        run_both(layout, files("single"), files("multi"));
    }
}

/// The process env on PostgreSQL in a fresh schema (returned too), encrypted with a new key.
fn postgres_env() -> (String, Env) {
    let schema = format!("tutorial_{}", Uuid::new_v4().simple());
    let key = AesCipher::create_key(32);
    let pg = Env::from_process("").with_all([
        ("PERSISTENCE_MODULE", "eventsourcing.postgres"),
        ("POSTGRES_SCHEMA", schema.as_str()),
        ("CIPHER_TOPIC", "eventsourcing.cipher:AESCipher"),
        ("CIPHER_KEY", key.as_str()),
    ]);
    (schema, pg)
}

#[test]
fn postgres_with_cipher_and_compression() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let (schema, pg) = postgres_env();
    let pg = pg.with(
        "COMPRESSOR_TOPIC",
        "eventsourcing.compressor:ZlibCompressor",
    );
    let config = PostgresConfig::from_env(&pg).unwrap();
    let system = tutorial::system().unwrap();
    let runner = SingleThreadedRunner::with_env(system.clone(), pg.clone());
    tutorial::test(&runner).unwrap_or_else(|e| panic!("postgres, single-threaded: {e}"));
    // The counts are durable: reset them as the tutorial does before running again.
    for table in [
        "dogschool_events",
        "counters_events",
        "counters_tracking",
        "dogschool_tracking",
    ] {
        drop_postgres_table(&config, table).unwrap();
    }
    let runner = MultiThreadedRunner::with_env(system, pg);
    tutorial::test(&runner).unwrap_or_else(|e| panic!("postgres, multi-threaded: {e}"));
    drop_postgres_schema(&config, &schema).unwrap();
}

/// The tutorial three times in a row with both runners on one durable store (a SQLite file;
/// a PostgreSQL schema with one key): the counts of earlier runs stay, and each run checks what
/// it added.
#[test]
fn three_runs_on_one_durable_store_with_both_runners() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join("tutorial.db")
        .to_string_lossy()
        .into_owned();
    let sqlite = env(&[("PERSISTENCE_MODULE", "sqlite"), ("SQLITE_DBNAME", &file)]);
    for run in 1..=3 {
        run_both(
            &format!("sqlite file, run {run}"),
            sqlite.clone(),
            sqlite.clone(),
        );
    }
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let (schema, pg) = postgres_env();
    for run in 1..=3 {
        run_both(&format!("postgres, run {run}"), pg.clone(), pg.clone());
    }
    let config = PostgresConfig::from_env(&pg).unwrap();
    drop_postgres_schema(&config, &schema).unwrap();
}

/// The tutorial with `STORED_FORMAT=python` on a SQLite file and a PostgreSQL schema: it runs
/// as in the native format, and what is stored has the Python library's topics and state JSON.
#[test]
fn the_python_stored_format() {
    use eventsourcing::persistence::{ApplicationRecorder, NotificationQuery};
    let check = |label: &str, log: &dyn ApplicationRecorder, decrypt: &dyn Fn(&[u8]) -> Vec<u8>| {
        let page = log
            .select_notifications(&NotificationQuery::new(10))
            .unwrap();
        assert!(!page.is_empty(), "{label}");
        for n in &page {
            assert!(
                n.topic.starts_with("tutorial.domainmodel:Dog."),
                "{label}: {}",
                n.topic
            );
            let state = String::from_utf8(decrypt(&n.state)).unwrap();
            assert!(state.starts_with(r#"{"timestamp":{"_type_":"datetime_iso","_data_":""#));
            assert_eq!(
                state.contains(r#""originator_topic":"tutorial.domainmodel:Dog""#),
                n.originator_version == 1,
                "{label}: {state}"
            );
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("py.db").to_string_lossy().into_owned();
    let sqlite = env(&[
        ("PERSISTENCE_MODULE", "sqlite"),
        ("SQLITE_DBNAME", &file),
        ("STORED_FORMAT", "python"),
    ]);
    run_both("sqlite, python format", sqlite.clone(), sqlite);
    let log = eventsourcing::sqlite::SqliteApplicationRecorder::new(
        &eventsourcing::sqlite::SqliteConfig::new(&file),
        "DogSchool",
    )
    .unwrap();
    check("sqlite", &log, &|s| s.to_vec());

    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let (schema, pg) = postgres_env();
    let pg = pg.with("STORED_FORMAT", "python");
    let config = PostgresConfig::from_env(&pg).unwrap();
    let system = tutorial::system().unwrap();
    let runner = SingleThreadedRunner::with_env(system, pg.clone());
    tutorial::test(&runner).unwrap_or_else(|e| panic!("postgres, python format: {e}"));
    let mapper = eventsourcing::mapper::Mapper::from_env(&pg).unwrap();
    let log =
        eventsourcing::postgres::PostgresApplicationRecorder::new(&config, "DogSchool").unwrap();
    check("postgres", &log, &|s| mapper.decode_state(s).unwrap());
    drop(runner);
    drop_postgres_schema(&config, &schema).unwrap();
}

/// An application opened in one stored format on a log of the other fails at once, naming
/// `STORED_FORMAT`, and writes nothing.
#[test]
fn a_store_of_the_other_format_fails_at_open() {
    use eventsourcing::system::App;
    use eventsourcing::{ApplicationBuilder, Error};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.db").to_string_lossy().into_owned();
    let open = |format: &str| {
        ApplicationBuilder::new("DogSchool")
            .without_process_env()
            .vars([
                ("PERSISTENCE_MODULE", "sqlite"),
                ("SQLITE_DBNAME", file.as_str()),
                ("STORED_FORMAT", format),
            ])
            .build()
    };
    let python = tutorial::DogSchool::from_application(open("python").unwrap()).unwrap();
    python.register_dog("Rex").unwrap();
    let e = open("native").unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e}");
    let text = e.report().to_string();
    assert!(
        text.contains("STORED_FORMAT") && text.contains("tutorial.domainmodel:Dog.Registered"),
        "{text}"
    );
    let other = dir.path().join("g.db").to_string_lossy().into_owned();
    let native = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .vars([
            ("PERSISTENCE_MODULE", "sqlite"),
            ("SQLITE_DBNAME", other.as_str()),
        ])
        .build()
        .unwrap();
    tutorial::DogSchool::from_application(native)
        .unwrap()
        .register_dog("Rex")
        .unwrap();
    let e = ApplicationBuilder::new("DogSchool")
        .without_process_env()
        .vars([
            ("PERSISTENCE_MODULE", "sqlite"),
            ("SQLITE_DBNAME", other.as_str()),
            ("STORED_FORMAT", "python"),
        ])
        .build()
        .unwrap_err();
    assert!(
        e.report().to_string().contains("Dog.Registered"),
        "{}",
        e.report()
    );
}
