//! The tutorial's aggregates (from `examples/tutorial`) and the backends the facade's tests run on.

#![allow(dead_code, missing_docs, unreachable_pub)]

use eventsourcing::domain::Root;
use eventsourcing::{ApplicationBuilder, Uuid};

#[path = "../../examples/tutorial/mod.rs"]
pub mod tutorial;

#[allow(unused_imports)] // Not every test crate uses every type.
pub use tutorial::{Counter, CounterEvent, Dog, DogEvent};

/// A new dog named `name`.
pub fn new_dog(name: &str) -> Root<Dog> {
    Root::create(DogEvent::Registered { name: name.into() })
}

/// The event of adding `trick` to a dog.
pub fn trick(trick: &str) -> DogEvent {
    DogEvent::TrickAdded {
        trick: trick.into(),
    }
}

/// A backend to run on, and what must live as long as the applications on it.
pub struct Backend {
    pub name: &'static str,
    pub vars: Vec<(String, String)>,
    _dir: Option<tempfile::TempDir>,
    schema: Option<es_postgres::PostgresConfig>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(config) = &self.schema {
            let _ = es_postgres::drop_postgres_schema(config, &config.schema);
        }
    }
}

impl Backend {
    /// An application builder on this backend, named `name`, without the process env.
    pub fn app(&self, name: &str) -> ApplicationBuilder {
        ApplicationBuilder::new(name)
            .without_process_env()
            .vars(self.vars.iter().cloned())
    }
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// POPO, SQLite in memory, SQLite in a file, and PostgreSQL when configured (required in CI).
pub fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apps.db").to_string_lossy().into_owned();
    let mut out = vec![
        Backend {
            name: "popo",
            vars: vars(&[("PERSISTENCE_MODULE", "popo")]),
            _dir: None,
            schema: None,
        },
        Backend {
            name: "sqlite-memory",
            vars: vars(&[
                ("PERSISTENCE_MODULE", "sqlite"),
                ("SQLITE_DBNAME", ":memory:"),
            ]),
            _dir: None,
            schema: None,
        },
        Backend {
            name: "sqlite-file",
            vars: vars(&[
                ("PERSISTENCE_MODULE", "eventsourcing.sqlite"),
                ("SQLITE_DBNAME", &file),
            ]),
            _dir: Some(dir),
            schema: None,
        },
    ];
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_some() {
        let schema = format!("apps_{}", Uuid::new_v4().simple());
        let mut v: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("POSTGRES_"))
            .collect();
        v.push(("PERSISTENCE_MODULE".into(), "postgres".into()));
        v.push(("POSTGRES_SCHEMA".into(), schema.clone()));
        v.push(("POSTGRES_POOL_SIZE".into(), "2".into()));
        v.push(("POSTGRES_MAX_OVERFLOW".into(), "2".into()));
        let env = eventsourcing::Env::new("x").with_all(v.iter().cloned());
        let config = es_postgres::PostgresConfig::from_env(&env).unwrap();
        out.push(Backend {
            name: "postgres",
            vars: v,
            _dir: None,
            schema: Some(config),
        });
    }
    out
}

/// A plain PostgreSQL connection under its own `application_name`, so tests that terminate a
/// recorder's connections by name spare it.
pub fn admin(config: &es_postgres::PostgresConfig) -> postgres::Client {
    let mut admin = config.clone();
    admin.application_name = "es_test_admin".to_owned();
    admin.connect().unwrap()
}
