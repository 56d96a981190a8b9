//! The DCB log on PostgreSQL, against the five defects the reference found in the Python
//! library's "tt" recorder (D1–D5; the kit's DCB suite covers the rest, in `conformance.rs`).
//! Skips locally (with a message) when `POSTGRES_DBNAME` is unset; fails in CI.

use std::thread;
use std::time::{Duration, Instant};

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder,
};
use es_core::{Env, Error, Uuid};
use es_postgres::{PostgresConfig, PostgresDcbRecorder, drop_postgres_schema};

struct Schema(PostgresConfig);

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = drop_postgres_schema(&self.0, &self.0.schema);
    }
}

fn schema() -> Option<Schema> {
    es_testkit::env_or_skip("POSTGRES_DBNAME")?;
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("dcb_{}", Uuid::new_v4().simple());
    config.pool_size = 2;
    config.max_overflow = 2;
    Some(Schema(config))
}

fn raw(config: &PostgresConfig) -> postgres::Client {
    let mut admin = config.clone();
    admin.application_name = "es_test_admin".to_owned();
    admin.connect().unwrap()
}

/// Waits (10 s at most) until the server shows an append of this test waiting for a lock,
/// failing if `append` finished first.
fn wait_until_an_append_waits<T>(
    config: &PostgresConfig,
    append: &thread::JoinHandle<T>,
    what: &str,
) {
    let mut watcher = raw(config);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                 AND query LIKE '%app_events_tt_append%' AND application_name <> 'es_test_admin'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        assert!(!append.is_finished(), "{what} did not wait");
        assert!(Instant::now() < deadline, "{what} never showed as waiting");
        thread::sleep(Duration::from_millis(5));
    }
}

fn tagged(tag: &str) -> DcbEvent {
    DcbEvent::new("E", b"{}".to_vec()).tagged([tag])
}

/// D1: while an append is in flight (its transaction holds position 2, uncommitted), another
/// append waits for it instead of committing position 3 first, and a reader's head stays at 1.
/// Once the first commits, a decision made at head 1 over its tag is refused, and a
/// subscription from 1 yields position 2. Python's tt recorder lets the second append commit
/// first: the reader's head passes 2, the conditional append succeeds over the matching event,
/// and the subscription never yields it.
#[test]
fn d1_an_append_in_flight_is_never_passed() {
    let Some(s) = schema() else { return };
    let r = PostgresDcbRecorder::new(&s.0, "app").unwrap();
    assert_eq!(r.append(&[tagged("other")], None).unwrap(), 1);
    let mut holder = raw(&s.0);
    let mut tx = holder.transaction().unwrap();
    let schema = &s.0.schema;
    let row = tx
        .query_one(
            &format!(
                "SELECT r_last FROM \"{schema}\".app_events_tt_append(ARRAY['E'], \
                 ARRAY['\\x00'::bytea], ARRAY['x'], ARRAY[1], ARRAY[1], ARRAY[false], \
                 ARRAY[0::bigint], '{{}}', '{{}}', '{{}}', '{{}}', ARRAY[0])"
            ),
            &[],
        )
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        2,
        "the append in flight holds position 2"
    );
    let second = {
        let r = r.clone();
        thread::spawn(move || r.append(&[tagged("y")], None))
    };
    // Wait until the server shows the second append waiting for the lock.
    wait_until_an_append_waits(&s.0, &second, "the second append");
    let seen = r
        .read(&DcbQueryItem::tags(["x"]).into(), None, None)
        .unwrap();
    assert!(seen.events.is_empty());
    assert_eq!(
        seen.head,
        Some(1),
        "a reader's head stays below the append in flight"
    );
    tx.commit().unwrap();
    assert_eq!(
        second.join().unwrap().unwrap(),
        3,
        "the waiting append commits after it"
    );
    let late = DcbAppendCondition::new(DcbQueryItem::tags(["x"])).after(seen.head);
    let refused = r.append(&[tagged("x")], Some(&late)).unwrap_err();
    assert!(refused.is_append_condition_failed(), "{refused}");
    let mut sub = r
        .subscribe(&DcbQueryItem::tags(["x"]).into(), seen.head)
        .unwrap();
    let first = sub.next().unwrap().unwrap();
    assert_eq!(
        first.position, 2,
        "the subscription yields the event committed late"
    );
    sub.stop();
}

/// D3: two applications in one schema each keep their own events (Python's functions are
/// named per schema, so the second application's DDL re-points the first's appends).
#[test]
fn d3_two_applications_in_one_schema_keep_their_own_events() {
    let Some(s) = schema() else { return };
    let a = PostgresDcbRecorder::new(&s.0, "a").unwrap();
    let b = PostgresDcbRecorder::new(&s.0, "b").unwrap();
    a.append(&[tagged("a1")], None).unwrap();
    a.append(&[tagged("a2")], None).unwrap();
    b.append(&[tagged("b1")], None).unwrap();
    let tags = |r: &PostgresDcbRecorder| -> Vec<String> {
        let read = r.read(&DcbQuery::all(), None, None).unwrap();
        read.events.into_iter().flat_map(|e| e.event.tags).collect()
    };
    assert_eq!(tags(&a), ["a1", "a2"]);
    assert_eq!(tags(&b), ["b1"]);
}

/// D4: a schema that is not on the search path (every schema of these tests) holds the whole
/// log, foreign key included.
#[test]
fn d4_a_schema_off_the_search_path_works() {
    let Some(s) = schema() else { return };
    let mut client = raw(&s.0);
    let path: String = client.query_one("SHOW search_path", &[]).unwrap().get(0);
    assert!(!path.contains(&s.0.schema), "{path}");
    let r = PostgresDcbRecorder::new(&s.0, "app").unwrap();
    assert_eq!(r.append(&[tagged("t")], None).unwrap(), 1);
    let fk: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
             WHERE n.nspname = $1 AND c.contype = 'f'",
            &[&s.0.schema],
        )
        .unwrap()
        .get(0);
    assert_eq!(fk, 1, "the tag table's foreign key is in the schema");
}

/// With `CREATE_TABLE` off and no tables, a read is a programming error (the Python test
/// case's `CREATE_TABLE=f`), naming nothing secret.
#[test]
fn without_tables_a_read_is_a_programming_error() {
    let Some(mut s) = schema() else { return };
    s.0.create_table = false;
    let r = PostgresDcbRecorder::new(&s.0, "app").unwrap();
    let err = r.read(&DcbQuery::all(), None, None).unwrap_err();
    assert!(matches!(err, Error::Programming { .. }), "{err}");
}

/// VACUUM and ANALYZE (autovacuum's, here a session holding their SHARE UPDATE EXCLUSIVE lock)
/// never hold up an append: Python's EXCLUSIVE table lock would wait for them, until the
/// server cancels autovacuum after `deadlock_timeout`.
#[test]
fn an_append_does_not_wait_for_vacuum() {
    let Some(s) = schema() else { return };
    let r = PostgresDcbRecorder::new(&s.0, "app").unwrap();
    let mut holder = raw(&s.0);
    let mut tx = holder.transaction().unwrap();
    tx.batch_execute(&format!(
        "LOCK TABLE \"{}\".app_events_tt_main IN SHARE UPDATE EXCLUSIVE MODE",
        s.0.schema
    ))
    .unwrap();
    let condition = DcbAppendCondition::new(DcbQueryItem::tags(["t"]));
    assert_eq!(r.append(&[tagged("t")], Some(&condition)).unwrap(), 1);
    tx.rollback().unwrap();
}

/// A Python conditional append in flight (its EXCLUSIVE table lock and its uncommitted event)
/// holds ours until it commits, and ours then sees its event: a decision over the same tag is
/// refused.
#[test]
fn a_python_conditional_append_in_flight_is_seen() {
    let Some(s) = schema() else { return };
    let r = PostgresDcbRecorder::new(&s.0, "app").unwrap();
    let mut holder = raw(&s.0);
    let mut tx = holder.transaction().unwrap();
    let main = format!("\"{}\".app_events_tt_main", s.0.schema);
    tx.batch_execute(&format!(
        "LOCK TABLE {main} IN EXCLUSIVE MODE; \
         INSERT INTO {main} (type, data, tags) VALUES ('E', '\\x00', ARRAY['x']); \
         INSERT INTO \"{}\".app_events_tt_tag (tag, main_id) SELECT 'x', max(id) FROM {main}",
        s.0.schema
    ))
    .unwrap();
    let ours = {
        let r = r.clone();
        thread::spawn(move || {
            let condition = DcbAppendCondition::new(DcbQueryItem::tags(["x"]));
            r.append(&[tagged("x")], Some(&condition))
        })
    };
    wait_until_an_append_waits(&s.0, &ours, "our append");
    tx.commit().unwrap();
    let refused = ours.join().unwrap().unwrap_err();
    assert!(refused.is_append_condition_failed(), "{refused}");
}
