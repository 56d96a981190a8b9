//! The operator command `eventsourcing` (feature `cli`), run as a process on the tutorial's
//! stores: `status`, `tail` and `verify` on a real SQLite file and a PostgreSQL schema, with
//! `verify` finding a corrupted state and a wrong key; `drop` only with its confirmation flag;
//! `park`, `parked`, `retry` and `drop-parked` of a poison notification while a runner runs;
//! `dcb-tail` and `dcb-verify` on a DCB log.

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
    let (code, out, err) = run(&good, &["verify", "DogSchool", "--topics", "Cat,Dog"]);
    assert_eq!(code, 0, "every topic is under Dog: {out}{err}");
    let (code, out, _) = run(&good, &["verify", "DogSchool", "--topics", "Do,Cat"]);
    assert!(
        code == 1
            && out.contains("9 problems")
            && out.contains("topic Dog.Registered is under none of the prefixes Do,Cat"),
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

/// `park`, `parked`, `retry` and `drop-parked` as an operator uses them while a multi-threaded
/// runner of the kit's DogSchool and Counters (`Strict`) runs on `store`: the parked edge goes
/// on, the retry requested by the command is performed at the runner's next start and counts
/// the notification exactly once (also after another restart), a dropped one is never counted.
fn parking_through_the_command(store: &[(String, String)]) {
    use es_testkit::apps::domain::{DogSchool, POISON, Strict, system};
    use eventsourcing::system::MultiThreadedRunner;
    let wait = std::time::Duration::from_secs(20);
    let poison = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(poison.clone());
    let runner = MultiThreadedRunner::with_env(system(), Env::new("").with_all(store.to_vec()));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school.add_trick(dog, &poison).unwrap();
    let poisoned = school.last_id();
    school.add_trick(dog, "after").unwrap();
    let after = school.last_id();
    assert!(runner.wait::<Strict>("DogSchool", poisoned, wait).is_err());
    let (code, out, err) = run(
        store,
        &["park", "Counters", "DogSchool", "--reason", "cannot count"],
    );
    assert!(
        code == 0 && out.contains(&format!("parked notification {poisoned} of DogSchool")),
        "{out}{err}"
    );
    runner
        .wait::<Strict>("DogSchool", after, wait)
        .expect("the edge goes on once the command parked its notification");
    assert_eq!(runner.health().unwrap()[0].parked, 1);
    let listed = |status: &str| {
        let (code, out, err) = run(store, &["parked", "Counters"]);
        assert_eq!(code, 0, "{err}");
        let line = format!("DogSchool\t{poisoned}\tDog.TrickAdded\t{status}\tcannot count");
        assert!(out.contains(&line), "no {line:?} in {out}");
    };
    listed("Parked");
    POISON.lock().unwrap().remove(&poison);
    let (code, out, err) = run(
        store,
        &["retry", "Counters", "DogSchool", &poisoned.to_string()],
    );
    assert!(code == 0 && out.contains("requested"), "{out}{err}");
    listed("RetryRequested");
    let count = |runner: &MultiThreadedRunner| runner.get::<Strict>().unwrap().count(&poison);
    assert_eq!(
        count(&runner),
        0,
        "a requested retry waits for the next start"
    );
    runner.stop().unwrap();
    runner.start().unwrap();
    listed("Retried");
    assert_eq!(count(&runner), 1, "retried at the start");
    runner.stop().unwrap();
    runner.start().unwrap();
    assert_eq!(count(&runner), 1, "exactly once after another restart");
    assert_eq!(runner.health().unwrap()[0].parked, 0);

    let poison = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(poison.clone());
    let school = runner.get::<DogSchool>().unwrap();
    school.add_trick(dog, &poison).unwrap();
    let poisoned = school.last_id();
    assert!(runner.wait::<Strict>("DogSchool", poisoned, wait).is_err());
    let (code, _, err) = run(
        store,
        &["park", "Counters", "DogSchool", "--reason", "void"],
    );
    assert_eq!(code, 0, "{err}");
    let id = poisoned.to_string();
    let (code, _, err) = run(
        store,
        &[
            "drop-parked",
            "Counters",
            "DogSchool",
            &id,
            "--reason",
            "void",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(store, &["retry", "Counters", "DogSchool", &id]);
    assert!(code == 1 && err.contains("Dropped"), "{err}");
    POISON.lock().unwrap().remove(&poison);
    assert_eq!(runner.get::<Strict>().unwrap().count(&poison), 0);
    assert_eq!(runner.health().unwrap()[0].parked, 0);
    runner.stop().unwrap();
}

#[test]
fn parking_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("park.db").to_string_lossy().into_owned();
    parking_through_the_command(&vars(&[
        ("PERSISTENCE_MODULE", "sqlite"),
        ("SQLITE_DBNAME", &file),
    ]));
}

#[test]
fn parking_on_a_postgres_schema() {
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let schema = format!("parking_{}", Uuid::new_v4().simple());
    let mut store: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("POSTGRES_"))
        .collect();
    store.extend(vars(&[
        ("PERSISTENCE_MODULE", "postgres"),
        ("POSTGRES_SCHEMA", &schema),
    ]));
    parking_through_the_command(&store);
    let config = eventsourcing::postgres::PostgresConfig::from_env(
        &Env::new("").with_all(store.iter().cloned()),
    )
    .unwrap();
    eventsourcing::postgres::drop_postgres_schema(&config, &schema).unwrap();
}

/// `dcb-tail` and `dcb-verify` on a DCB log: the events with their tags, a tag filter, and a
/// `verify` that finds a tag the index lost.
fn dcb_through_the_command(store: &[(String, String)], lose_a_tag: impl FnOnce()) {
    use eventsourcing::dcb::{DcbAppendCondition, DcbEvent, DcbQueryItem, open_dcb_recorder};
    let env = Env::new("Booking").with_all(store.iter().cloned());
    let r = open_dcb_recorder(&env).unwrap();
    let joined =
        DcbEvent::new("Joined", b"{\"seat\":1}".to_vec()).tagged(["course-1", "student-1"]);
    r.append(
        &[DcbEvent::new("Registered", b"{}".to_vec()).tagged(["student-1"])],
        None,
    )
    .unwrap();
    let condition = DcbAppendCondition::new(DcbQueryItem::tags(["course-1", "student-1"]));
    r.append(&[joined], Some(&condition)).unwrap();
    let (code, out, err) = run(store, &["dcb-tail", "Booking", "--data"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "1\tRegistered\tstudent-1\t{}\n2\tJoined\tcourse-1,student-1\t{\"seat\":1}\n"
    );
    let (code, out, _) = run(store, &["dcb-tail", "Booking", "--tags", "course-1"]);
    assert!(
        code == 0 && out == "2\tJoined\tcourse-1,student-1\n",
        "{out}"
    );
    let (code, out, err) = run(store, &["dcb-verify", "Booking"]);
    assert!(
        code == 0 && out.contains("2 events, last position 2; 2 tags and 2 types"),
        "{out}{err}"
    );
    lose_a_tag();
    let (code, out, _) = run(store, &["dcb-verify", "Booking"]);
    assert!(
        code == 1 && out.contains("problem: tag \"course-1\": 0 events by its query, 1 in the log"),
        "{out}"
    );
}

#[test]
fn dcb_on_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("booking.db").to_string_lossy().into_owned();
    let store = vars(&[("PERSISTENCE_MODULE", "sqlite"), ("SQLITE_DBNAME", &file)]);
    dcb_through_the_command(&store, || {
        let db = rusqlite::Connection::open(&file).unwrap();
        db.execute_batch("DELETE FROM booking_dcb_tags WHERE tag = 'course-1'")
            .unwrap();
    });
}

#[test]
fn dcb_on_a_postgres_schema() {
    if es_testkit::env_or_skip("POSTGRES_DBNAME").is_none() {
        return;
    }
    let schema = format!("operator_{}", Uuid::new_v4().simple());
    let mut store: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("POSTGRES_"))
        .collect();
    store.extend(vars(&[
        ("PERSISTENCE_MODULE", "eventsourcing.dcb.postgres_tt"),
        ("POSTGRES_SCHEMA", &schema),
    ]));
    let config = eventsourcing::postgres::PostgresConfig::from_env(
        &Env::new("").with_all(store.iter().cloned()),
    )
    .unwrap();
    dcb_through_the_command(&store, || {
        config
            .connect()
            .unwrap()
            .batch_execute(&format!(
                "DELETE FROM \"{schema}\".booking_events_tt_tag WHERE tag = 'course-1'"
            ))
            .unwrap();
    });
    eventsourcing::postgres::drop_postgres_schema(&config, &schema).unwrap();
}
