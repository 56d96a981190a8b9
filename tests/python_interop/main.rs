//! Mixed-language systems with the real Python library (eventsourcing 9.5.6 from PyPI, in the
//! virtual environment `scripts/python-eventsourcing` makes; `ES_PYTHON` names its
//! interpreter) on PostgreSQL, in the Python stored format (`STORED_FORMAT=python`):
//!
//! - a Python `DogSchool` writes the tutorial's dogs; this library's `Counters` follows it and
//!   counts them, without changing the Python tables (`pg_dump` of them before and after);
//! - this library's `DogSchool` writes them; the Python `Counters` follows it and counts them,
//!   and the Python `DogSchool` loads the dogs.
//!
//! - DCB: each side reads, and decides over, what the other appended to the tt tables
//!   ([`dcb`]).
//!
//! The Python side is `tests/python/mixed.py` with the tutorial's Python code beside it, and
//! `tests/python/dcb_mixed.py`.

mod dcb;

#[path = "../../examples/tutorial/mod.rs"]
mod tutorial;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use eventsourcing::postgres::postgres::{Client, NoTls};
use eventsourcing::postgres::{PostgresConfig, drop_postgres_schema};
use eventsourcing::system::{App, RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::{ApplicationBuilder, Env, Uuid};
use serde_json::{Value, json};
use tutorial::{Counters, DogSchool};

const TRICKS: [&str; 3] = ["roll over", "fetch ball", "play dead"];

/// The settings of the process (from `scripts/postgres-setup`), on `schema`.
struct Store {
    env: Env,
    config: PostgresConfig,
    schema: String,
}

/// What selects PostgreSQL, the schema and the Python format, over the process environment.
fn vars(schema: &str) -> [(&'static str, String); 3] {
    [
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_SCHEMA", schema.to_owned()),
        ("STORED_FORMAT", "python".to_owned()),
    ]
}

impl Store {
    fn new(label: &str) -> Option<Self> {
        es_testkit::env_or_skip("POSTGRES_DBNAME")?;
        es_testkit::env_or_skip("ES_PYTHON")?;
        let schema = format!("{label}_{}", Uuid::new_v4().simple());
        let env = Env::from_process("").with_all(vars(&schema));
        let config = PostgresConfig::from_env(&env).unwrap();
        Some(Self {
            env,
            config,
            schema,
        })
    }

    fn admin(&self) -> Client {
        let c = &self.config;
        let password = std::env::var("POSTGRES_PASSWORD").unwrap_or_default();
        Client::connect(
            &format!(
                "host={} port={} user={} password={password} dbname={}",
                c.host, c.port, c.user, c.dbname
            ),
            NoTls,
        )
        .unwrap()
    }

    /// Runs `mixed.py` with `args`: the JSON of its last line.
    fn python(&self, args: &[&str]) -> Value {
        self.script("mixed.py", "eventsourcing.postgres", args)
    }

    /// Runs `tests/python/<script>` with `args` and the Python persistence module `module`
    /// on this store's schema: the JSON of its last line.
    fn script(&self, script: &str, module: &str, args: &[&str]) -> Value {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python");
        let out = Command::new(std::env::var("ES_PYTHON").unwrap())
            .arg(format!("{dir}/{script}"))
            .args(args)
            .env("PYTHONPATH", dir)
            .env("PERSISTENCE_MODULE", module)
            .env("POSTGRES_SCHEMA", &self.schema)
            // Python's DCB tables need their schema on the search path (its D4).
            .env(
                "PGOPTIONS",
                format!("-c search_path={},public", self.schema),
            )
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{script} {args:?}: {}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap()
    }

    /// `pg_dump --schema-only` of `table` in the schema.
    fn ddl(&self, table: &str) -> String {
        let c = &self.config;
        let out = Command::new("pg_dump")
            .args(["--schema-only", "--no-owner", "-h", &c.host, "-p"])
            .arg(c.port.to_string())
            .args([
                "-U",
                &c.user,
                "-t",
                &format!("{}.{table}", self.schema),
                &c.dbname,
            ])
            .env(
                "PGPASSWORD",
                std::env::var("POSTGRES_PASSWORD").unwrap_or_default(),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Without pg_dump's per-run `\restrict` key.
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn drop(self) {
        drop_postgres_schema(&self.config, &self.schema).unwrap();
    }
}

#[test]
fn a_rust_follower_counts_what_the_python_library_wrote() {
    let Some(store) = Store::new("py_leader") else {
        return;
    };
    store
        .admin()
        .batch_execute(&format!("CREATE SCHEMA \"{}\"", store.schema))
        .unwrap();
    store.python(&["write"]);
    let before = store.ddl("dogschool_events");
    assert!(
        before.contains("dogschool_events_notification_id_idx"),
        "{before}"
    );

    // The leader's tables are Python's: this library creates nothing there.
    let env = store.env.clone().with("DOGSCHOOL_CREATE_TABLE", "false");
    let runner = SingleThreadedRunner::with_env(tutorial::system().unwrap(), env);
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let last = school.recorder().max_notification_id().unwrap().unwrap();
    runner
        .wait::<Counters>("DogSchool", last, Duration::from_secs(30))
        .unwrap();
    let counters = runner.get::<Counters>().unwrap();
    let counts: Vec<u64> = TRICKS
        .iter()
        .map(|t| counters.get_count(t).unwrap())
        .collect();
    assert_eq!(counts, [3, 2, 1]);
    runner.stop().unwrap();
    let after = store.ddl("dogschool_events");
    let changed: Vec<&str> = after.lines().filter(|l| !before.contains(l)).collect();
    assert!(after == before, "the Python table changed: {changed:?}");
    store.drop();
}

#[test]
fn the_python_library_follows_and_loads_what_rust_wrote() {
    let Some(store) = Store::new("rs_leader") else {
        return;
    };
    let school = ApplicationBuilder::new("DogSchool")
        .vars(vars(&store.schema))
        .build()
        .unwrap();
    let school = Arc::new(DogSchool::from_application(school).unwrap());
    let dogs: Vec<Uuid> = ["Billy", "Milly", "Scrappy"]
        .iter()
        .map(|n| school.register_dog(n).unwrap())
        .collect();
    for (dog, n) in dogs.iter().zip([3, 2, 1]) {
        for trick in &TRICKS[..n] {
            school.add_trick(*dog, trick).unwrap();
        }
    }
    drop(school);
    let counts = store.python(&["follow"]);
    assert_eq!(
        counts,
        json!({"roll over": 3, "fetch ball": 2, "play dead": 1})
    );
    let ids: Vec<String> = dogs.iter().map(Uuid::to_string).collect();
    let mut args = vec!["dogs"];
    args.extend(ids.iter().map(String::as_str));
    assert_eq!(
        store.python(&args),
        json!([
            {"name": "Billy", "tricks": TRICKS},
            {"name": "Milly", "tricks": &TRICKS[..2]},
            {"name": "Scrappy", "tricks": &TRICKS[..1]},
        ])
    );
    store.drop();
}
