//! F1: a writer killed with SIGKILL a random 50–500 ms after it opened its recorder, again and
//! again, on a SQLite file in WAL mode and on PostgreSQL, while a follower thread tails the log.
//!
//! The worker writes batches of 1–20 events over 1–3 of six aggregates through
//! `insert_events`, resuming from the stored versions, and prints `BEGIN <batch>` before and
//! `ACK <batch> <digest> <ids> END` after each insert. Every state starts with
//! `<batch>/<size>/<index>;`, followed by bytes that are a function of the three, so the
//! parent can tell batches apart and regenerate every stored byte. A quarter of the batches
//! start with an event of topic `F1.Slow`, on which a trigger spends 50–200 ms (PostgreSQL
//! `pg_sleep`) or a few tens of ms (SQLite, a cross join) inside the insert, so that kills land
//! between the insert and its commit.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, Env, EventQuery, Notification, StopHandle, StoredEvent,
    Uuid,
};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig, drop_postgres_schema};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};

use super::{Rng, Worker};

const CHILD: &str = "ES_CRASH_F1_CHILD";
const ITERATION: &str = "ES_CRASH_F1_ITERATION";
const SEED: &str = "ES_CRASH_F1_SEED";
const AGGREGATES: u64 = 6;
const TOPIC: &str = "F1.Event";
const SLOW: &str = "F1.Slow";

fn aggregate(k: u64) -> Uuid {
    Uuid::from_u128(0xf1f1_0000_0000_4000_8000_0000_0000_0000 | u128::from(k))
}

/// Event `index` of batch `batch` of `size` events: a header, then 0–3,000 bytes that depend
/// only on the three.
fn state(batch: u64, size: u64, index: u64) -> Vec<u8> {
    let mut rng = Rng::new(batch.wrapping_mul(0x0100_0000_01b3) ^ index);
    let mut s = format!("{batch}/{size}/{index};").into_bytes();
    let len = rng.below(3001);
    s.extend((0..len).map(|_| rng.next().to_le_bytes()[0]));
    s
}

fn header(state: &[u8]) -> Option<(u64, u64, u64)> {
    let end = state.iter().position(|&b| b == b';')?;
    let text = std::str::from_utf8(&state[..end]).ok()?;
    let mut parts = text.split('/').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// FNV-1a over ids, versions, topics and states, in order.
fn digest<'a>(events: impl IntoIterator<Item = (Uuid, u64, &'a str, &'a [u8])>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (id, version, topic, state) in events {
        let parts: [&[u8]; 5] = [
            id.as_bytes(),
            &version.to_le_bytes(),
            topic.as_bytes(),
            &[0xff],
            state,
        ];
        for b in parts.iter().flat_map(|p| p.iter()) {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

fn stored_versions(r: &dyn ApplicationRecorder) -> Vec<u64> {
    (0..AGGREGATES)
        .map(|k| {
            r.select_events(aggregate(k), &EventQuery::new().descending().limit(1))
                .unwrap()
                .first()
                .map_or(0, |e| e.originator_version)
        })
        .collect()
}

fn random_batch(rng: &mut Rng, batch: u64, versions: &mut [u64]) -> Vec<StoredEvent> {
    let size = rng.between(1, 20);
    let slow = rng.below(4) == 0;
    let mut order: Vec<usize> = (0..versions.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.index(i + 1));
    }
    order.truncate(rng.index(3) + 1);
    (0..size)
        .map(|index| {
            let k = order[rng.index(order.len())];
            versions[k] += 1;
            let topic = if slow && index == 0 { SLOW } else { TOPIC };
            let id = aggregate(u64::try_from(k).unwrap());
            StoredEvent::new(id, versions[k], topic, state(batch, size, index))
        })
        .collect()
}

/// The worker: writes random batches until killed (or for 30 s).
pub(super) fn child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let iteration: u64 = std::env::var(ITERATION).unwrap().parse().unwrap();
    let recorder: Box<dyn ApplicationRecorder> = match spec.split_once('\t') {
        Some(("sqlite", path)) => {
            Box::new(SqliteApplicationRecorder::new(&SqliteConfig::new(path), "app").unwrap())
        }
        Some(("postgres", target)) => {
            let (schema, session) = target.split_once('\t').unwrap();
            let mut c = PostgresConfig::from_env(&Env::from_process("")).unwrap();
            c.schema = schema.to_owned();
            c.application_name = session.to_owned();
            c.pool_size = 1;
            Box::new(PostgresApplicationRecorder::new(&c, "app").unwrap())
        }
        _ => panic!("{CHILD}={spec:?}"),
    };
    let mut versions = stored_versions(recorder.as_ref());
    let mut rng = Rng::new(std::env::var(SEED).unwrap().parse().unwrap());
    let mut out = std::io::stdout();
    writeln!(out, "\nREADY").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seq = 0;
    while Instant::now() < deadline {
        seq += 1;
        let batch = iteration * 1_000_000 + seq;
        let mut next = versions.clone();
        let events = random_batch(&mut rng, batch, &mut next);
        writeln!(out, "BEGIN {batch}").unwrap();
        out.flush().unwrap();
        match recorder.insert_events(&events) {
            Ok(ids) => {
                versions = next;
                let d = digest(events.iter().map(|e| {
                    (
                        e.originator_id,
                        e.originator_version,
                        e.topic.as_str(),
                        e.state.as_slice(),
                    )
                }));
                let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
                writeln!(out, "ACK {batch} {d:016x} {} END", ids.join(",")).unwrap();
            }
            // A killed predecessor's insert may commit after this worker read the versions.
            Err(e) if e.is_version_conflict() => {
                writeln!(out, "CONFLICT {batch}").unwrap();
                versions = stored_versions(recorder.as_ref());
            }
            Err(e) => panic!("insert: {e}"),
        }
        out.flush().unwrap();
    }
}

struct Ack {
    batch: u64,
    digest: u64,
    ids: Vec<u64>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ACK ")?.split(' ');
    let (batch, digest, ids) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next()? == "END").then_some(())?;
    Some(Ack {
        batch: batch.parse().ok()?,
        digest: u64::from_str_radix(digest, 16).ok()?,
        ids: ids
            .split(',')
            .map(|i| i.parse().ok())
            .collect::<Option<_>>()?,
    })
}

/// What the loop saw: ACKs, kills inside an insert call, conflicts, and the follower's ids.
#[derive(Default)]
struct Run {
    acks: Vec<Ack>,
    inside_insert: u64,
    conflicts: u64,
    seen: Vec<u64>,
}

/// Starts, kills and reads `iterations` workers (`spec(i)` tells worker `i` where to write)
/// while a thread follows `recorder`'s log; after `settle` (which waits for writes of dead
/// workers still in flight) stops the follower once it has caught up.
fn crash_loop(
    recorder: &dyn ApplicationRecorder,
    iterations: u64,
    spec: &dyn Fn(u64) -> String,
    settle: &mut dyn FnMut(),
    rng: &mut Rng,
) -> Run {
    /// Stops the follower however the loop ends, so that the scope can join it.
    struct Stop(StopHandle);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.stop();
        }
    }
    let subscription = recorder.subscribe(None, &[]).unwrap();
    let subscription_stop = subscription.stop_handle();
    let last_seen = AtomicU64::new(0);
    let mut run = Run::default();
    std::thread::scope(|s| {
        let follower = s.spawn(|| {
            let mut seen = Vec::new();
            for n in subscription {
                match n {
                    Ok(n) => {
                        seen.push(n.id);
                        last_seen.store(n.id, Ordering::SeqCst);
                    }
                    Err(e) if e.is_operational() => {}
                    Err(e) => panic!("follower: {e}"),
                }
            }
            seen
        });
        let stop = Stop(subscription_stop);
        for i in 1..=iterations {
            let mut worker = Worker::spawn(
                "crash::f1_child",
                &[
                    (CHILD, spec(i)),
                    (ITERATION, i.to_string()),
                    (SEED, rng.next().to_string()),
                ],
            );
            // The 50–500 ms count from when the worker is ready to write, not from its start.
            assert!(
                worker.wait_for("READY", 1, Duration::from_secs(30)),
                "worker {i} did not start"
            );
            worker.kill_after(rng.millis(50, 500));
            let mut open = false;
            for line in worker.lines() {
                if line.starts_with("BEGIN ") {
                    open = true;
                } else if line.starts_with("CONFLICT ") {
                    open = false;
                    run.conflicts += 1;
                } else if let Some(ack) = parse_ack(&line) {
                    open = false;
                    run.acks.push(ack);
                }
            }
            run.inside_insert += u64::from(open);
        }
        settle();
        let max = recorder.max_notification_id().unwrap().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(15);
        while last_seen.load(Ordering::SeqCst) < max && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(stop);
        run.seen = follower.join().unwrap();
    });
    run
}

/// Checks the stored log against the ACKs and the follower; prints the figures and panics on
/// any loss, partial batch, duplicate or follower miss.
fn check(label: &str, iterations: u64, stored: &[Notification], run: &Run) {
    let ids: Vec<u64> = stored.iter().map(|n| n.id).collect();
    let dup_ids = ids.windows(2).filter(|w| w[1] <= w[0]).count();
    let mut pairs = HashSet::new();
    let dup_versions = stored
        .iter()
        .filter(|n| !pairs.insert((n.originator_id, n.originator_version)))
        .count();
    let mut versions: HashMap<Uuid, Vec<u64>> = HashMap::new();
    for n in stored {
        versions
            .entry(n.originator_id)
            .or_default()
            .push(n.originator_version);
    }
    let gaps = versions
        .values_mut()
        .filter_map(|v| {
            v.sort_unstable();
            v.iter().zip(1..).any(|(&a, b)| a != b).then_some(())
        })
        .count();
    let mut batches: BTreeMap<u64, Vec<&Notification>> = BTreeMap::new();
    let mut corrupt = 0;
    for n in stored {
        match header(&n.state) {
            Some((batch, size, index)) if n.state == state(batch, size, index) => {
                batches.entry(batch).or_default().push(n);
            }
            _ => corrupt += 1,
        }
    }
    let partial = batches
        .values()
        .filter(|b| {
            let (_, size, _) = header(&b[0].state).unwrap();
            let indices: Vec<u64> = b.iter().map(|n| header(&n.state).unwrap().2).collect();
            let contiguous = b.windows(2).all(|w| w[1].id == w[0].id + 1);
            indices != (0..size).collect::<Vec<_>>() || !contiguous
        })
        .count();
    let mut lost = 0;
    let mut differ = 0;
    for ack in &run.acks {
        let Some(b) = batches.get(&ack.batch) else {
            lost += 1;
            continue;
        };
        let d = digest(b.iter().map(|n| {
            (
                n.originator_id,
                n.originator_version,
                n.topic.as_str(),
                n.state.as_slice(),
            )
        }));
        let stored_ids: Vec<u64> = b.iter().map(|n| n.id).collect();
        differ += usize::from(d != ack.digest || stored_ids != ack.ids);
    }
    let unacked = batches.len() - (run.acks.len() - lost);
    let inversions = run.seen.windows(2).filter(|w| w[1] <= w[0]).count();
    let seen: HashSet<u64> = run.seen.iter().copied().collect();
    let stored_set: HashSet<u64> = ids.iter().copied().collect();
    let missed = stored_set.difference(&seen).count();
    let phantom = seen.difference(&stored_set).count();
    eprintln!(
        "F1 {label}: {iterations} iterations ({} killed inside an insert call), {} batches ACKed, \
         {} batches / {} events stored ({unacked} stored without ACK), {} conflicts after restart; \
         lost {lost}, differing {differ}, partial {partial}, corrupt {corrupt}, duplicate \
         versions {dup_versions}, version gaps {gaps}, duplicate ids {dup_ids}; follower saw {} \
         ids, missed {missed}, phantom {phantom}, out of order {inversions}",
        run.inside_insert,
        run.acks.len(),
        batches.len(),
        stored.len(),
        run.conflicts,
        run.seen.len(),
    );
    assert_eq!(
        (lost, differ, partial, corrupt, dup_versions, gaps, dup_ids),
        (0, 0, 0, 0, 0, 0, 0),
        "{label}: (lost, differing, partial, corrupt, duplicate versions, gaps, duplicate ids)"
    );
    assert_eq!(
        (run.seen.len(), missed, phantom, inversions),
        (stored.len(), 0, 0, 0),
        "{label}: follower (seen, missed, phantom, out of order)"
    );
    assert!(!run.acks.is_empty(), "{label}: nothing was ACKed");
    assert!(
        run.inside_insert > 0,
        "{label}: no kill landed inside an insert"
    );
}

pub(super) fn test() {
    let iterations = if crate::full() { 30 } else { 6 };
    let mut rng = Rng::seeded("F1");
    sqlite(iterations, &mut rng);
    if let Some(config) = super::postgres("f1") {
        postgres(&config, iterations, &mut rng);
        drop_postgres_schema(&config, &config.schema).unwrap();
    }
}

fn sqlite(iterations: u64, rng: &mut Rng) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f1.db").to_string_lossy().into_owned();
    let recorder = SqliteApplicationRecorder::new(&SqliteConfig::new(&path), "app").unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE f1_pad (i INTEGER);
         WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1500)
           INSERT INTO f1_pad SELECT i FROM c;
         CREATE TRIGGER f1_slow AFTER INSERT ON app_events WHEN NEW.topic = 'F1.Slow'
           BEGIN SELECT count(*) FROM f1_pad a, f1_pad b; END;",
    )
    .unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(conn);
    let spec = |_| format!("sqlite\t{path}");
    let run = crash_loop(&recorder, iterations, &spec, &mut || {}, rng);
    let stored = es_testkit::support::read_all_after(&recorder, None);
    // Reopen a copy of the file with the WAL the last killed worker left, as a restart after a
    // crash of every process would, and check it holds the same log.
    let copy = tempfile::tempdir().unwrap();
    let copied = copy.path().join("f1.db");
    std::fs::copy(&path, &copied).unwrap();
    let wal = std::fs::copy(format!("{path}-wal"), copy.path().join("f1.db-wal")).unwrap_or(0);
    for file in [copied.to_string_lossy().into_owned(), path.clone()] {
        let conn = rusqlite::Connection::open(&file).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM app_events", [], |r| r.get(0))
            .unwrap();
        let count = usize::try_from(count).unwrap();
        assert_eq!((ok.as_str(), count), ("ok", stored.len()), "{file}");
    }
    eprintln!("F1 sqlite: integrity_check ok on the file and on a copy with its {wal}-byte WAL");
    check("sqlite", iterations, &stored, &run);
    eprintln!("F1 sqlite: {:.1?}", started.elapsed());
}

fn postgres(config: &PostgresConfig, iterations: u64, rng: &mut Rng) {
    let started = Instant::now();
    let recorder = PostgresApplicationRecorder::new(config, "app").unwrap();
    let mut admin = crate::common::admin(config);
    let s = &config.schema;
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION \"{s}\".f1_slow() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN PERFORM pg_sleep(0.05 + random() * 0.15); RETURN NEW; END $$;
             CREATE TRIGGER f1_slow AFTER INSERT ON \"{s}\".app_events FOR EACH ROW
               WHEN (NEW.topic = 'F1.Slow') EXECUTE FUNCTION \"{s}\".f1_slow();"
        ))
        .unwrap();
    let tag = format!("f1_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let spec = |i| format!("postgres\t{s}\t{tag}_{i}");
    // A killed worker's last statement may still run, and commit, on the server.
    let mut settle = || {
        let (left, waited) = super::sessions_left(&mut admin, &format!("{tag}_%"));
        eprintln!("F1 postgres: {left} sessions of dead workers left after {waited:.1?}");
        assert_eq!(left, 0, "sessions of killed workers remain");
    };
    let run = crash_loop(&recorder, iterations, &spec, &mut settle, rng);
    let stored = es_testkit::support::read_all_after(&recorder, None);
    check("postgres", iterations, &stored, &run);
    eprintln!("F1 postgres: {:.1?}", started.elapsed());
}
