//! PostgreSQL-specific behaviour: the lock timeout really reaches the server, missing tables,
//! identifier limits, gaps after rollbacks, secrets kept out of errors, the seed's helper.

use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Env, Error, NotificationQuery, StoredEvent,
    TimeoutKind, Uuid,
};
use es_postgres::{
    PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema, drop_postgres_table,
};
use es_testkit::support::{event, insert_times_out};

fn config() -> Option<PostgresConfig> {
    es_testkit::env_or_skip("POSTGRES_DBNAME")?;
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("test_{}", Uuid::new_v4().simple());
    config.pool_size = 2;
    config.max_overflow = 1;
    Some(config)
}

/// A plain connection, under its own `application_name` so tests that terminate the
/// recorder's connections by name spare it.
fn raw(config: &PostgresConfig) -> postgres::Client {
    let mut admin = config.clone();
    admin.application_name = "es_test_admin".to_owned();
    admin.connect().unwrap()
}

#[test]
fn a_held_table_lock_gives_a_lock_timeout_after_the_configured_time() {
    let Some(mut config) = config() else { return };
    config.lock_timeout = Duration::from_secs(1);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut holder = raw(&config);
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute(&format!(
        "LOCK TABLE \"{}\".app_events IN EXCLUSIVE MODE",
        config.schema
    ))
    .unwrap();
    insert_times_out(
        &r,
        TimeoutKind::Lock,
        Duration::from_millis(900),
        Duration::from_secs(10),
    );
    tx.rollback().unwrap();
    assert_eq!(
        r.insert_events(&[event(Uuid::new_v4(), 1, "t")])
            .unwrap()
            .len(),
        1
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn failed_inserts_leave_gaps_that_readers_cross() {
    let Some(config) = config() else { return };
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let id = Uuid::new_v4();
    let first = r.insert_events(&[event(id, 1, "t")]).unwrap();
    let e = r
        .insert_events(&[event(id, 2, "t"), event(id, 1, "t")])
        .unwrap_err();
    assert!(e.is_version_conflict(), "{e}");
    let next = r.insert_events(&[event(id, 2, "t")]).unwrap();
    assert!(next[0] > first[0]);
    let all = r.select_notifications(&NotificationQuery::new(10)).unwrap();
    assert_eq!(all.len(), 2, "both committed events, across the gap");
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn a_missing_table_is_a_programming_error_and_the_seed_helper_drops_tables() {
    let Some(config) = config() else { return };
    let r = PostgresApplicationRecorder::new(&config, "DogSchool").unwrap();
    r.insert_events(&[event(Uuid::new_v4(), 1, "t")]).unwrap();
    drop_postgres_table(&config, "dogschool_events").unwrap();
    drop_postgres_table(&config, "dogschool_events").unwrap();
    let e = r
        .select_notifications(&NotificationQuery::new(1))
        .unwrap_err();
    assert!(e.is_programming(), "{e}");
    assert!(
        drop_postgres_table(&config, "x\"; DROP SCHEMA public; --")
            .unwrap_err()
            .is_programming()
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn identifiers_are_validated_with_their_suffixes() {
    let Some(config) = config() else { return };
    let longest = "a".repeat(63 - "_events_nid_idx".len());
    let r = PostgresApplicationRecorder::new(&config, &longest).unwrap();
    r.insert_events(&[event(Uuid::new_v4(), 1, "t")]).unwrap();
    let too_long = format!("{longest}a");
    assert!(
        PostgresApplicationRecorder::new(&config, &too_long)
            .unwrap_err()
            .is_programming()
    );
    for hostile in ["dogs; DROP TABLE x", "Dog\"School", "", "1dogs"] {
        let e = PostgresApplicationRecorder::new(&config, hostile).unwrap_err();
        assert!(e.is_programming(), "{hostile:?}: {e}");
    }
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn versions_beyond_bigint_are_data_errors_before_any_sql() {
    let Some(config) = config() else { return };
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let e = r
        .insert_events(&[StoredEvent::new(Uuid::new_v4(), u64::MAX, "t", Vec::new())])
        .unwrap_err();
    assert!(e.is_data(), "{e}");
    assert_eq!(r.max_notification_id().unwrap(), None);
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn a_wrong_password_is_an_error_without_the_password() {
    let Some(config) = config() else { return };
    let mut wrong = config.with_password("not-the-password-xyzzy");
    wrong.connect_timeout = Duration::from_secs(2);
    let e = PostgresApplicationRecorder::new(&wrong, "app").unwrap_err();
    let text = format!("{} {e:?}", e.report());
    assert!(!text.contains("xyzzy"), "{text}");
    assert!(
        e.is_operational() || matches!(e, Error::Interface { .. }),
        "{e}"
    );
}

#[test]
fn terminated_pooled_connections_are_survived_by_the_next_call() {
    let Some(mut config) = config() else { return };
    config.application_name = format!("es_{}", Uuid::new_v4().simple());
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let id = Uuid::new_v4();
    r.insert_events(&[event(id, 1, "t")]).unwrap();
    // Several connections idle in the pool, so the read below meets more than one dead one.
    let sessions = || -> i64 {
        raw(&config)
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&config.application_name],
            )
            .unwrap()
            .get(0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while sessions() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the pool never held 3 connections"
        );
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..20 {
                        r.select_notifications(&NotificationQuery::new(10)).unwrap();
                    }
                });
            }
        });
    }
    let killed: i64 = raw(&config)
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&config.application_name],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 1, "no pooled connection to terminate");
    std::thread::sleep(Duration::from_millis(100));
    // A read on a connection the server killed while it idled in the pool is retried.
    assert_eq!(r.max_notification_id().unwrap().map(|_| ()), Some(()));
    raw(&config)
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&config.application_name],
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // A write on a connection the server killed cannot know whether it committed: it succeeds
    // (the pool handed out a live connection) or reports `OutcomeUnknown`, never a conflict;
    // here the server killed it while idle, so nothing was written and the next write succeeds.
    if let Err(e) = r.insert_events(&[event(id, 2, "t")]) {
        assert!(e.is_outcome_unknown(), "{e}");
        r.insert_events(&[event(id, 2, "t")]).unwrap();
    }
    assert_eq!(
        r.select_notifications(&NotificationQuery::new(10))
            .unwrap()
            .len(),
        2
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}

const CHILD_SCHEMA: &str = "ES_POSTGRES_TEST_CHILD_SCHEMA";
const PER_WRITER: u64 = 200;

/// The body of the child process of `two_processes_write_and_tail_one_table`; a no-op otherwise.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn child_writer() {
    let Ok(schema) = std::env::var(CHILD_SCHEMA) else {
        return;
    };
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = schema;
    config.pool_size = 1;
    let r = PostgresApplicationRecorder::new(&config, "shared").unwrap();
    es_testkit::concurrent::write_as_child(&r, PER_WRITER);
}

#[test]
fn two_processes_write_and_tail_one_table() {
    let Some(config) = config() else { return };
    let r = PostgresApplicationRecorder::new(&config, "shared").unwrap();
    let child = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "child_writer", "--test-threads=1"])
            .env(CHILD_SCHEMA, &config.schema)
            .spawn()
            .unwrap()
    };
    es_testkit::concurrent::tail_while_another_process_writes(&r, child, PER_WRITER, false);
    drop_postgres_schema(&config, &config.schema).unwrap();
}

#[test]
fn concurrent_appends_are_grouped_and_conflicts_fail_only_their_caller() {
    let Some(mut config) = config() else { return };
    config.pool_size = 4;
    let r = es_postgres::PostgresProcessRecorder::new(&config, "app").unwrap();
    let shared = Uuid::new_v4();
    let outcomes = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..8_u64 {
            let (r, outcomes) = (&r, &outcomes);
            s.spawn(move || {
                let own = Uuid::new_v4();
                for v in 1..=40_u64 {
                    // Every thread also races for the same version of one shared aggregate.
                    let contested = event(shared, v, "Shared.Won");
                    let mine = event(own, v, "Own.Appended");
                    let result = if v % 2 == 0 {
                        r.insert_events(&[contested])
                    } else {
                        r.insert_events(std::slice::from_ref(&mine))
                    };
                    outcomes.lock().unwrap().push((
                        t,
                        v,
                        result.map_err(|e| e.is_version_conflict()),
                    ));
                }
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let own_ok = outcomes
        .iter()
        .filter(|o| o.1 % 2 == 1 && o.2.is_ok())
        .count();
    assert_eq!(own_ok, 8 * 20, "uncontested appends all succeed");
    for v in (2..=40).step_by(2) {
        let winners = outcomes.iter().filter(|o| o.1 == v && o.2.is_ok()).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| o.1 == v && o.2 == Err(true))
            .count();
        assert_eq!(
            (winners, conflicts),
            (1, 7),
            "version {v}: one winner, the rest conflicts"
        );
    }
    let all = es_testkit::support::read_all_after(&r, None);
    assert_eq!(
        all.len(),
        8 * 20 + 20,
        "exactly the successful events are stored"
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert!(
        r.backend().group_commits() > 0,
        "concurrent appends were combined"
    );
    drop_postgres_schema(&config, &config.schema).unwrap();
}
