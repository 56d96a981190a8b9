//! The worker of F1 (`writers.rs` describes the test), and the batch format it writes.
//!
//! The worker writes batches of 1–20 events over 1–3 of six aggregates through
//! `insert_events`, resuming from the stored versions, and prints `BEGIN <batch>` before and
//! `ACK <batch> <digest> <ids> END` after each insert. Every state starts with
//! `<batch>/<size>/<index>;`, followed by bytes that are a function of the three, so the
//! parent can tell batches apart and regenerate every stored byte. A quarter of the batches
//! start with an event of topic `F1.Slow`, on which a trigger spends 50–200 ms (PostgreSQL
//! `pg_sleep`) or a few tens of ms (SQLite, a cross join) inside the insert, so that kills land
//! between the insert and its commit.

use std::io::Write;
use std::time::{Duration, Instant};

use eventsourcing::persistence::{ApplicationRecorder, EventQuery, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};
use eventsourcing::{Env, Uuid};

use super::Rng;

pub(super) const CHILD: &str = "ES_CRASH_F1_CHILD";
pub(super) const ITERATION: &str = "ES_CRASH_F1_ITERATION";
pub(super) const SEED: &str = "ES_CRASH_F1_SEED";
const AGGREGATES: u64 = 6;
const TOPIC: &str = "F1.Event";
const SLOW: &str = "F1.Slow";

fn aggregate(k: u64) -> Uuid {
    Uuid::from_u128(0xf1f1_0000_0000_4000_8000_0000_0000_0000 | u128::from(k))
}

/// Event `index` of batch `batch` of `size` events: a header, then 0–3,000 bytes that depend
/// only on the three.
pub(super) fn state(batch: u64, size: u64, index: u64) -> Vec<u8> {
    let mut rng = Rng::new(batch.wrapping_mul(0x0100_0000_01b3) ^ index);
    let mut s = format!("{batch}/{size}/{index};").into_bytes();
    let len = rng.below(3001);
    s.extend((0..len).map(|_| rng.next().to_le_bytes()[0]));
    s
}

pub(super) fn header(state: &[u8]) -> Option<(u64, u64, u64)> {
    let end = state.iter().position(|&b| b == b';')?;
    let text = std::str::from_utf8(&state[..end]).ok()?;
    let mut parts = text.split('/').map(|p| p.parse::<u64>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}

/// FNV-1a over ids, versions, topics and states, in order.
pub(super) fn digest<'a>(events: impl IntoIterator<Item = (Uuid, u64, &'a str, &'a [u8])>) -> u64 {
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
