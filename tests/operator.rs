//! The operator command `eventsourcing` (feature `cli`), run as a process on the tutorial's
//! stores: `status`, `tail` and `verify` on a real SQLite file and a PostgreSQL schema, with
//! `verify` finding a corrupted state and a wrong key; `drop` only with its confirmation flag.

mod common;

use std::process::{Command, Output};

use common::tutorial;
use eventsourcing::mapper::AesCipher;
use eventsourcing::system::{RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::{Env, Uuid};

/// Runs the command with exactly `vars` as its environment.
fn run(vars: &[(String, String)], args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_eventsourcing"))
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The tutorial once on `vars`: 3 dogs and 6 tricks in DogSchool (notifications 1 to 9),
/// counted by Counters.
fn tutorial_on(vars: &[(String, String)]) {
    let env = Env::new("").with_all(vars.iter().cloned());
    let runner = SingleThreadedRunner::with_env(tutorial::system().unwrap(), env);
    tutorial::test(&runner).unwrap();
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `status`, `tail` and a clean `verify` on a store the tutorial ran on; then `verify` with the
/// wrong key. Returns nothing; panics with the command's output on a mismatch.
fn inspect(store: &[(String, String)], key: &str) {
    let with_key = |key: &str| {
        let mut v = store.to_vec();
        v.push(("CIPHER_KEY".to_owned(), key.to_owned()));
        v
    };
    let good = with_key(key);
    let (code, out, err) = run(&good, &["status", "DogSchool", "Counters"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("DogSchool: highest notification id 9")
            && out.contains("Counters follows DogSchool: at 9, lag 0"),
        "{out}"
    );
    let (code, out, err) = run(
        &good,
        &[
            "tail",
            "DogSchool",
            "--after",
            "1",
            "--limit",
            "2",
            "--decode",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("2\t") && lines[0].contains("Milly"),
        "{out}"
    );
    assert!(
        lines[1].starts_with("3\t") && lines[1].contains("Scrappy"),
        "{out}"
    );
    let (code, out, _) = run(&good, &["tail", "DogSchool", "--after", "8"]);
    assert!(
        code == 0 && out.lines().count() == 1 && !out.contains("Billy"),
        "{out}"
    );
    let (code, out, err) = run(&good, &["verify", "DogSchool"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("9 notifications of 3 aggregates verified, 0 problems"),
        "{out}"
    );
    let (code, out, _) = run(
        &with_key(&AesCipher::create_key(32)),
        &["verify", "DogSchool"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("9 problems") && out.contains("does not decode"),
        "{out}"
    );
    assert!(!out.contains(key), "the key is shown: {out}");
    let (code, _, err) = run(&good, &["drop", "DogSchool"]);
    assert!(code == 2 && err.contains("--yes-drop-tables"), "{err}");
}

#[test]
fn on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("school.db").to_string_lossy().into_owned();
    let key = AesCipher::create_key(32);
    let store = vars(&[("PERSISTENCE_MODULE", "sqlite"), ("SQLITE_DBNAME", &file)]);
    let mut with_key = store.clone();
    with_key.push(("CIPHER_KEY".to_owned(), key.clone()));
    tutorial_on(&with_key);
    inspect(&store, &key);
    // A flipped byte in one sealed state, and a version skipped.
    let db = rusqlite::Connection::open(&file).unwrap();
    db.execute_batch(
        "UPDATE dogschool_events SET state = zeroblob(40) WHERE notification_id = 5;
         UPDATE dogschool_events SET originator_version = 7 WHERE notification_id = 9;",
    )
    .unwrap();
    let (code, out, _) = run(&with_key, &["verify", "DogSchool"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("2 problems")
            && out.contains("notification 5 (Dog.TrickAdded): the state does not decode")
            && out.contains("notification 9: aggregate")
            && out.contains("at version 7, expected 4"),
        "{out}"
    );
    let (code, _, err) = run(&with_key, &["drop", "DogSchool", "--yes-drop-tables"]);
    assert!(code == 1 && err.contains("PostgreSQL only"), "{err}");
}

#[test]
fn on_a_postgres_schema() {
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let schema = format!("operator_{}", Uuid::new_v4().simple());
    let key = AesCipher::create_key(32);
    let mut store: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("POSTGRES_"))
        .collect();
    store.extend(vars(&[
        ("PERSISTENCE_MODULE", "eventsourcing.postgres"),
        ("POSTGRES_SCHEMA", &schema),
    ]));
    let mut with_key = store.clone();
    with_key.push(("CIPHER_KEY".to_owned(), key.clone()));
    tutorial_on(&with_key);
    inspect(&store, &key);
    let config = eventsourcing::postgres::PostgresConfig::from_env(
        &Env::new("").with_all(store.iter().cloned()),
    )
    .unwrap();
    config
        .connect()
        .unwrap()
        .batch_execute(&format!(
            "UPDATE \"{schema}\".dogschool_events SET state = '\\x00ff' WHERE notification_id = 5"
        ))
        .unwrap();
    let (code, out, _) = run(&with_key, &["verify", "DogSchool"]);
    assert!(
        code == 1 && out.contains("1 problems") && out.contains("notification 5"),
        "{out}"
    );
    let (code, out, err) = run(&with_key, &["drop", "DogSchool", "--yes-drop-tables"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(&with_key, &["verify", "DogSchool"]);
    assert!(code == 1 && err.contains("error"), "after the drop: {err}");
    eventsourcing::postgres::drop_postgres_schema(&config, &schema).unwrap();
}
