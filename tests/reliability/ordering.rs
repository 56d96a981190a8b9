//! C4 on PostgreSQL with the commit-timestamp oracle, and its negative control (full profile
//! only: it needs `track_commit_timestamp = on`, which `scripts/postgres-private` sets on the
//! private cluster), C4 at the same scale on POPO and SQLite, and C5, a deterministic
//! outstanding writer with its control.
//!
//! Writers append random batches for a while; about 5 % of them fail on purpose (a version
//! already taken: a permanent id gap) and about 2 % are slow (a trigger sleeps 50–200 ms after
//! the insert, before the commit). Two readers tail with `select_notifications(after last)`.
//! Oracles: each reader's ids = the committed ids = the ids acknowledged to writers (a reader
//! that skipped an id committed late would miss it), and no row committed after a row with a
//! higher id (Appendix A.6 of the catalogue). The control writes the same load with plain
//! `INSERT`s and no table lock: the oracles must catch it.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::rng::Rng;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, NotificationQuery, StoredEvent,
};
use eventsourcing::popo::PopoApplicationRecorder;
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};
use eventsourcing::{Env, Uuid};

const WRITERS: usize = 8;
const READERS: usize = 2;
/// Writers stop after this many events even before the time is up (memory on fast backends).
const MAX_EVENTS: usize = 300_000;

/// What one run saw.
#[derive(Debug, Default)]
struct Figures {
    acked: BTreeSet<u64>,
    committed: BTreeSet<u64>,
    /// Per reader: ids it never received although they committed.
    skipped: Vec<usize>,
    /// Rows committed after a row with a higher notification id.
    inversions: i64,
    failed_on_purpose: u64,
    slow: u64,
}

fn seconds() -> Duration {
    Duration::from_secs(if super::full() { 10 } else { 2 })
}

/// The private cluster's config with a fresh schema, or `None` outside the full profile.
fn private_config() -> Option<PostgresConfig> {
    if !super::full() {
        return None;
    }
    let port = es_testkit::env_or_skip("ES_RELIABILITY_POSTGRES_PORT")?;
    let env = Env::from_process("").with_all([
        ("POSTGRES_PORT", port),
        ("POSTGRES_SCHEMA", format!("c4_{}", Uuid::new_v4().simple())),
        ("POSTGRES_POOL_SIZE", WRITERS.to_string()),
    ]);
    Some(PostgresConfig::from_env(&env).unwrap())
}

/// Creates `app`'s tables and a trigger that makes inserts of topic `Slow` sleep 50–200 ms
/// before their transaction commits.
fn setup(config: &PostgresConfig, app: &str) -> PostgresApplicationRecorder {
    let r = PostgresApplicationRecorder::new(config, app).unwrap();
    let s = &config.schema;
    let mut c = config.connect().unwrap();
    c.batch_execute(&format!(
        "CREATE OR REPLACE FUNCTION \"{s}\".slow() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN PERFORM pg_sleep(0.05 + random() * 0.15); RETURN NULL; END $$; \
         CREATE TRIGGER slow AFTER INSERT ON \"{s}\".\"{app}_events\" \
         FOR EACH ROW WHEN (NEW.topic = 'Slow') EXECUTE FUNCTION \"{s}\".slow();"
    ))
    .unwrap();
    assert_eq!(
        c.query_one("SHOW track_commit_timestamp", &[])
            .unwrap()
            .get::<_, String>(0),
        "on",
        "the oracle needs track_commit_timestamp (scripts/postgres-private sets it)"
    );
    r
}

/// One writer's insert of `batch`; `Ok(ids)` when acknowledged.
type Insert<'a> = dyn Fn(&[StoredEvent]) -> Result<Vec<u64>, String> + Sync + 'a;

/// Runs the load through `insert` while readers tail `reader`, then checks what committed.
fn run(reader: &dyn ApplicationRecorder, insert: &Insert<'_>) -> Figures {
    let done = AtomicBool::new(false);
    let figures = Mutex::new(Figures::default());
    let (failed, slow) = (AtomicU64::new(0), AtomicU64::new(0));
    let acked_count = AtomicUsize::new(0);
    let read: Vec<BTreeSet<u64>> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                s.spawn(|| {
                    let (mut seen, mut last, mut finished) = (BTreeSet::new(), 0, false);
                    loop {
                        let page = reader
                            .select_notifications(&NotificationQuery::new(50).after(last))
                            .unwrap();
                        for n in &page {
                            assert!(n.id > last, "late arrival: {} after {last}", n.id);
                            seen.insert(n.id);
                            last = n.id;
                        }
                        if page.is_empty() {
                            std::thread::sleep(Duration::from_millis(1));
                            if finished {
                                return seen;
                            }
                            // One more pass after the writers stopped, to the final max.
                            finished = done.load(Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + seconds();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (figures, failed, slow, acked_count) = (&figures, &failed, &slow, &acked_count);
                s.spawn(move || {
                    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15 ^ (u64::try_from(w).unwrap() + 1));
                    let id = Uuid::new_v4();
                    let mut next = 1;
                    while Instant::now() < deadline
                        && acked_count.load(Ordering::Relaxed) < MAX_EVENTS
                    {
                        let size = 1 + rng.below(5);
                        let fail = rng.below(100) < 5 && next > 1;
                        let is_slow = rng.below(100) < 2;
                        // A failing batch repeats the last stored version at its end.
                        let batch: Vec<StoredEvent> = (0..size)
                            .map(|k| next + k)
                            .chain(fail.then_some(next - 1))
                            .map(|v| {
                                let topic = if is_slow { "Slow" } else { "Fast" };
                                StoredEvent::new(id, v, topic, v.to_be_bytes().to_vec())
                            })
                            .collect();
                        match insert(&batch) {
                            Ok(ids) => {
                                assert!(!fail, "a repeated version was accepted");
                                slow.fetch_add(u64::from(is_slow), Ordering::Relaxed);
                                acked_count.fetch_add(ids.len(), Ordering::Relaxed);
                                figures.lock().unwrap().acked.extend(ids);
                                next += size;
                            }
                            Err(e) => {
                                assert!(fail, "writer {w}: {e}");
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut f = figures.into_inner().unwrap();
    f.failed_on_purpose = failed.into_inner();
    f.slow = slow.into_inner();
    f.committed = es_testkit::support::read_all_after(reader, None)
        .iter()
        .map(|n| n.id)
        .collect();
    f.skipped = read
        .iter()
        .map(|r| f.committed.difference(r).count())
        .collect();
    f
}

/// Rows of `app`'s events table committed after a row with a higher notification id (the
/// catalogue's Appendix A.6 query over commit timestamps).
fn inversions(config: &PostgresConfig, app: &str) -> i64 {
    let table = format!("\"{}\".\"{app}_events\"", config.schema);
    config
        .connect()
        .unwrap()
        .query_one(
            &format!(
                "WITH t AS (SELECT notification_id id, pg_xact_commit_timestamp(xmin) ts FROM {table}), \
                 m AS (SELECT id, max(id) OVER (ORDER BY ts, id ROWS BETWEEN UNBOUNDED PRECEDING \
                       AND 1 PRECEDING) AS max_before FROM t) \
                 SELECT count(*) FILTER (WHERE max_before > id) FROM m"
            ),
            &[],
        )
        .unwrap()
        .get(0)
}

/// C4 through the library: nothing skipped, nothing committed out of id order.
#[test]
fn c4_commit_order_oracle_and_negative_control() {
    let Some(config) = private_config() else {
        return;
    };
    let _cluster = super::private_cluster();
    let library = setup(&config, "lib");
    let mut f = run(&library, &|batch| {
        library.insert_events(batch).map_err(|e| e.to_string())
    });
    f.inversions = inversions(&config, "lib");
    eprintln!(
        "C4 library: acked {}, committed {}, failed on purpose {}, slow {}, skipped per reader {:?}, \
         committed after a higher id {}",
        f.acked.len(),
        f.committed.len(),
        f.failed_on_purpose,
        f.slow,
        f.skipped,
        f.inversions
    );
    assert_eq!(f.committed, f.acked, "committed = acknowledged");
    assert!(f.skipped.iter().all(|&s| s == 0), "a reader skipped ids");
    assert_eq!(f.inversions, 0, "commit order = id order");
    assert!(
        f.failed_on_purpose > 0 && f.slow > 0,
        "the load had gaps and slow commits"
    );

    // The control: the same load by plain INSERTs without the lock.
    let control = setup(&config, "ctl");
    let clients: Vec<Mutex<postgres::Client>> = (0..WRITERS)
        .map(|_| Mutex::new(config.connect().unwrap()))
        .collect();
    let next_client = AtomicU64::new(0);
    let sql = format!(
        "INSERT INTO \"{}\".ctl_events (originator_id, originator_version, topic, state) \
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::bytea[]) RETURNING notification_id",
        config.schema
    );
    let mut c = run(&control, &|batch| {
        let k = usize::try_from(next_client.fetch_add(1, Ordering::Relaxed)).unwrap() % WRITERS;
        let mut client = clients[k].lock().unwrap();
        let ids: Vec<Uuid> = batch.iter().map(|e| e.originator_id).collect();
        let versions: Vec<i64> = batch
            .iter()
            .map(|e| i64::try_from(e.originator_version).unwrap())
            .collect();
        let topics: Vec<&str> = batch.iter().map(|e| e.topic.as_str()).collect();
        let states: Vec<&[u8]> = batch.iter().map(|e| e.state.as_slice()).collect();
        client
            .query(&sql, &[&ids, &versions, &topics, &states])
            .map(|rows| {
                rows.iter()
                    .map(|r| u64::try_from(r.get::<_, i64>(0)).unwrap())
                    .collect()
            })
            .map_err(|e| e.to_string())
    });
    c.inversions = inversions(&config, "ctl");
    eprintln!(
        "C4 control (no lock): acked {}, committed {}, skipped per reader {:?}, committed after a \
         higher id {}",
        c.acked.len(),
        c.committed.len(),
        c.skipped,
        c.inversions
    );
    assert!(
        c.inversions > 0 || c.skipped.iter().any(|&s| s > 0),
        "the negative control must trip an oracle"
    );
    drop((library, control));
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// C4 at the catalogue's scale on the other backends (8 writers, about 5 % failing batches, 2
/// tailing readers): committed = acknowledged and no reader skipped an id. (There is no slow
/// commit to inject here: SQLite serialises writers, POPO commits under one lock.)
#[test]
fn c4_tailing_readers_at_scale_on_popo_and_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c4.db").to_string_lossy().into_owned();
    let recorders: Vec<(&str, Box<dyn ApplicationRecorder>)> = vec![
        ("popo", Box::new(PopoApplicationRecorder::default())),
        (
            "sqlite-file",
            Box::new(SqliteApplicationRecorder::new(&SqliteConfig::new(file), "c4").unwrap()),
        ),
        (
            "sqlite-memory",
            Box::new(
                SqliteApplicationRecorder::new(
                    &SqliteConfig::new("file:c4?mode=memory&cache=shared"),
                    "c4",
                )
                .unwrap(),
            ),
        ),
    ];
    for (name, r) in &recorders {
        let f = run(r.as_ref(), &|batch| {
            r.insert_events(batch).map_err(|e| e.to_string())
        });
        eprintln!(
            "C4 {name}: acked {}, committed {}, failed on purpose {}, skipped per reader {:?}",
            f.acked.len(),
            f.committed.len(),
            f.failed_on_purpose,
            f.skipped
        );
        assert_eq!(f.committed, f.acked, "{name}: committed = acknowledged");
        assert!(
            f.skipped.iter().all(|&s| s == 0),
            "{name}: a reader skipped ids"
        );
        assert!(f.failed_on_purpose > 0, "{name}: gaps were made");
    }
}
