//! F9 for a synchronous library. The catalogue's F9 cancels async calls (`tokio::time::timeout`)
//! to find connections returned to the pool mid-transaction. Our API is blocking: a call cannot
//! be dropped half-way by its caller, so the only way a running write is cut short is from the
//! server side. Here a second connection cancels the library's statement (`pg_cancel_backend`)
//! after a random 0–5 ms, many times, on a pool of one connection.
//!
//! Oracles: a cancelled write is an operational error (never a conflict, never "outcome
//! unknown": the server rolled it back), and nothing of it is stored; the pooled connection is
//! clean afterwards (a read and a write on it succeed; no 25P02 "transaction aborted" ever); at
//! the end no session of ours is idle in a transaction and no lock is held on our tables.

use std::time::Duration;

use crate::rng::Rng;
use eventsourcing::persistence::{AggregateRecorder, ApplicationRecorder, EventQuery, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::{Env, Uuid};

const BATCH: u64 = 500;

fn batch(id: Uuid, from: u64, size: u64) -> Vec<StoredEvent> {
    (from..from + size)
        .map(|v| StoredEvent::new(id, v, "F9", vec![0u8; 64]))
        .collect()
}

/// True for "canceling statement due to user request" (SQLSTATE 57014).
fn is_cancel(e: &eventsourcing::Error) -> bool {
    format!("{e:?}").contains("57014")
}

/// Runs `f`, once more if a cancel meant for the previous statement landed on it.
fn again_if_cancelled<T>(late: &mut u32, mut f: impl FnMut() -> eventsourcing::Result<T>) -> T {
    match f() {
        Ok(v) => v,
        Err(e) if is_cancel(&e) => {
            *late += 1;
            f().unwrap()
        }
        Err(e) => panic!("after a cancel: {e}"),
    }
}

#[test]
fn f9_cancelled_writes_leave_clean_connections() {
    let Some(_) = es_testkit::env_or_skip("POSTGRES_DBNAME") else {
        return;
    };
    let iterations = if super::full() { 1000 } else { 150 };
    let name = format!("f9-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let mut config = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    config.schema = format!("f9_{}", Uuid::new_v4().simple());
    config.pool_size = 1;
    config.max_overflow = 0;
    config.application_name.clone_from(&name);
    let r = PostgresApplicationRecorder::new(&config, "app").unwrap();
    let mut admin_config = config.clone();
    admin_config.application_name = format!("{name}-admin");
    let mut admin = admin_config.connect().unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let (mut next_a, mut next_b) = (1, 1);
    let (mut cancelled, mut late, mut rng) = (0u32, 0u32, Rng::new(0x2545_F491_4F6C_DD1D));
    let pid_sql = "SELECT pid FROM pg_stat_activity WHERE application_name = $1";
    for i in 0..iterations {
        // The pool's one session (it changes only if a connection broke).
        let pid: i32 = match admin.query(pid_sql, &[&name]).unwrap().first() {
            Some(row) => row.get(0),
            None => {
                r.max_notification_id().unwrap();
                admin.query_one(pid_sql, &[&name]).unwrap().get(0)
            }
        };
        let delay = Duration::from_micros(rng.below(5000));
        let outcome = std::thread::scope(|s| {
            let admin = &mut admin;
            let canceller = s.spawn(move || {
                std::thread::sleep(delay);
                admin
                    .execute("SELECT pg_cancel_backend($1)", &[&pid])
                    .unwrap();
            });
            let outcome = r.insert_events(&batch(a, next_a, BATCH));
            canceller.join().unwrap();
            outcome
        });
        match outcome {
            Ok(_) => next_a += BATCH,
            Err(e) => {
                assert!(
                    e.is_operational() && is_cancel(&e),
                    "iteration {i}: a cancelled write is an operational error: {e}"
                );
                cancelled += 1;
            }
        }
        // The connection is clean: a read and a write succeed on it.
        again_if_cancelled(&mut late, || r.max_notification_id());
        again_if_cancelled(&mut late, || r.insert_events(&batch(b, next_b, 1)));
        next_b += 1;
    }
    // Nothing partial: `a` holds exactly the acknowledged batches, `b` every follow-up write.
    let stored = r.select_events(a, &EventQuery::default()).unwrap();
    let versions: Vec<u64> = stored.iter().map(|e| e.originator_version).collect();
    assert_eq!(
        versions,
        (1..next_a).collect::<Vec<_>>(),
        "acknowledged batches only"
    );
    let stored_b = r.select_events(b, &EventQuery::default()).unwrap();
    assert_eq!(stored_b.len(), usize::try_from(next_b - 1).unwrap());
    let idle_in_tx: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND state LIKE 'idle in transaction%'",
            &[&name],
        )
        .unwrap()
        .get(0);
    let locks: i64 = admin
        .query_one(
            // Locks of our sessions only: autovacuum may be analysing the tables just written.
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE n.nspname = $1 AND a.application_name = $2",
            &[&config.schema, &name],
        )
        .unwrap()
        .get(0);
    eprintln!(
        "F9: {iterations} cancels sent, writes cancelled {cancelled}, completed {}, late cancels \
         absorbed {late}, follow-up failures 0, idle in transaction {idle_in_tx}, locks held {locks}",
        (next_a - 1) / BATCH
    );
    assert_eq!(idle_in_tx, 0);
    assert_eq!(locks, 0);
    assert!(cancelled > 0, "some cancels landed mid-write");
    drop(r);
    drop_postgres_schema(&config, &config.schema).unwrap();
}
