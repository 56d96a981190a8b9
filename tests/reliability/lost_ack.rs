//! F3: commits whose acknowledgement is lost. A loopback proxy between the library and
//! PostgreSQL cuts one connection per round: after the server's reply to a write (the write
//! committed; the reply is dropped), while the write runs (the request reached the server, the
//! client is cut before any reply), or before the request reaches the server. The library must
//! settle each (report success exactly once, or `OutcomeUnknown`), never report a conflict
//! with its own write, and never store it twice.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;

use eventsourcing::ApplicationBuilder;
use eventsourcing::domain::Root;
use eventsourcing::mapper::AesCipher;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, NotificationQuery, ProcessRecorder,
    StoredEvent, Tracking, TrackingRecorder,
};
use eventsourcing::postgres::{PostgresConfig, PostgresProcessRecorder, drop_postgres_schema};
use eventsourcing::{Env, Uuid};

use crate::common::{Dog, new_dog, trick};

const PASS: u8 = 0;
/// Drop the server's next reply and cut both sides: the write committed, unacknowledged.
const AFTER_COMMIT: u8 = 1;
/// Forward the client's next request, then cut the client (the server session stays).
const DURING: u8 = 2;
/// Drop the client's next request and cut both sides: nothing reached the server.
const BEFORE: u8 = 3;

/// What the proxy did.
#[derive(Default)]
struct Counts {
    /// Dropped replies that held a successful transaction end (`ReadyForQuery` 'I', no error).
    committed_replies_dropped: AtomicUsize,
    cuts: AtomicUsize,
}

struct Proxy {
    port: u16,
    mode: Arc<AtomicU8>,
    counts: Arc<Counts>,
}

impl Proxy {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(PASS));
        let counts = Arc::new(Counts::default());
        let (m, c) = (Arc::clone(&mode), Arc::clone(&counts));
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let pair = [client, server];
                let (a, b) = (clone(&pair), clone(&pair));
                let (m1, m2, c1, c2) = (
                    Arc::clone(&m),
                    Arc::clone(&m),
                    Arc::clone(&c),
                    Arc::clone(&c),
                );
                thread::spawn(move || pump(&a, true, &m1, &c1));
                thread::spawn(move || pump(&b, false, &m2, &c2));
            }
        });
        Self { port, mode, counts }
    }

    fn arm(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

fn clone(pair: &[TcpStream; 2]) -> [TcpStream; 2] {
    [pair[0].try_clone().unwrap(), pair[1].try_clone().unwrap()]
}

/// Copies one direction (`upward`: client to server) until either side closes, applying an
/// armed cut once.
fn pump(pair: &[TcpStream; 2], upward: bool, mode: &AtomicU8, counts: &Counts) {
    let (client, server) = (&pair[0], &pair[1]);
    let (mut from, mut to) = if upward {
        (client, server)
    } else {
        (server, client)
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let cut = |armed: u8| {
            mode.compare_exchange(armed, PASS, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        };
        if upward && cut(BEFORE) {
            counts.cuts.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if upward && cut(DURING) {
            let _ = to.write_all(chunk);
            counts.cuts.fetch_add(1, Ordering::SeqCst);
            // The server runs the write; the client is gone. Keep the server side open.
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if !upward && cut(AFTER_COMMIT) {
            counts.cuts.fetch_add(1, Ordering::SeqCst);
            if committed_reply(chunk) {
                counts
                    .committed_replies_dropped
                    .fetch_add(1, Ordering::SeqCst);
            }
            break;
        }
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

/// True when the server messages in `chunk` end a transaction successfully: a ReadyForQuery
/// in state idle and no ErrorResponse.
fn committed_reply(chunk: &[u8]) -> bool {
    let (mut i, mut ok) = (0, false);
    while i + 5 <= chunk.len() {
        let len =
            usize::try_from(u32::from_be_bytes(chunk[i + 1..i + 5].try_into().unwrap())).unwrap();
        match chunk[i] {
            b'E' => return false,
            b'Z' => ok = chunk.get(i + 5) == Some(&b'I'),
            _ => {}
        }
        i += 1 + len;
    }
    ok
}

fn rounds() -> usize {
    if super::full() { 50 } else { 12 }
}

fn modes(round: usize) -> u8 {
    [AFTER_COMMIT, BEFORE, AFTER_COMMIT, DURING][round % 4]
}

/// Settings for a pool of one connection through `proxy` in a fresh schema.
fn settings(proxy: &Proxy) -> Vec<(String, String)> {
    let schema = format!("f3_{}", &Uuid::new_v4().simple().to_string()[..12]);
    [
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_PORT", proxy.port.to_string()),
        ("POSTGRES_SCHEMA", schema),
        ("POSTGRES_POOL_SIZE", "1".to_owned()),
        ("POSTGRES_MAX_OVERFLOW", "0".to_owned()),
        ("POSTGRES_CONNECT_TIMEOUT", "5".to_owned()),
        // The proxy reads the protocol to find committed replies: no TLS on this path.
        ("POSTGRES_SSLMODE", "disable".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn drop_schema(vars: &[(String, String)]) {
    let env =
        Env::from_process("").with_all(vars.iter().filter(|(k, _)| k != "POSTGRES_PORT").cloned());
    let config = PostgresConfig::from_env(&env).unwrap();
    drop_postgres_schema(&config, &config.schema).unwrap();
}

/// (a) An application save of an encrypted aggregate, cut at each point in turn: every save
/// succeeds (or is `OutcomeUnknown`, which this loopback run never needs), none is a conflict,
/// and each dog is stored with exactly the tricks acknowledged.
#[test]
fn f3_lost_acknowledgement_of_a_save() {
    let Some(port) = es_testkit::env_or_skip("POSTGRES_PORT") else {
        return;
    };
    let proxy = Proxy::start(port.parse().unwrap());
    let vars = settings(&proxy);
    let app = ApplicationBuilder::new("f3app")
        .vars(vars.iter().cloned())
        .var("CIPHER_KEY", AesCipher::create_key(32))
        .build()
        .unwrap();
    let (mut settled, mut unknown) = (0, 0);
    let mut dog = new_dog("Fido");
    app.save(&mut dog).unwrap();
    let mut acked = 0;
    for round in 0..rounds() {
        // A write in pass mode first: the pooled connection is fresh after a cut, and this
        // prepares the insert on it, so the armed cut meets the write itself.
        let mut other = new_dog("warm-up");
        app.save(&mut other).unwrap();
        proxy.arm(modes(round));
        dog.trigger(trick(&format!("trick {round}")));
        match app.save(&mut dog) {
            Ok(_) => {
                settled += 1;
                acked += 1;
            }
            Err(e) if e.is_outcome_unknown() => unknown += 1,
            Err(e) => panic!("round {round} ({}): {e}", modes(round)),
        }
        assert_eq!(proxy.mode.load(Ordering::SeqCst), PASS, "the cut happened");
    }
    let stored: Root<Dog> = app.get(dog.id()).unwrap();
    assert_eq!(stored.tricks.len(), acked, "every acknowledged save once");
    let recorder = app.recorder();
    let events = recorder
        .select_events(dog.id(), &EventQuery::default())
        .unwrap();
    let versions: Vec<u64> = events.iter().map(|e| e.originator_version).collect();
    assert_eq!(
        versions,
        (1..=u64::try_from(acked + 1).unwrap()).collect::<Vec<_>>()
    );
    let committed = proxy
        .counts
        .committed_replies_dropped
        .load(Ordering::SeqCst);
    eprintln!(
        "F3 save: {} rounds, cuts {}, committed replies dropped {committed}, settled {settled}, \
         outcome unknown {unknown}, conflicts 0, duplicates 0",
        rounds(),
        proxy.counts.cuts.load(Ordering::SeqCst),
    );
    assert!(
        committed >= rounds() / 4,
        "after-commit cuts really dropped committed replies"
    );
    assert_eq!(
        unknown, 0,
        "the server stayed reachable, so every outcome was settled"
    );
    drop(app);
    drop_schema(&vars);
}

/// (b) A process application's record (a downstream event with its tracking record), cut at
/// each point in turn: one downstream event per upstream position, tracking at the last one,
/// and a caller's resend of a settled record is a true tracking conflict.
#[test]
fn f3_lost_acknowledgement_of_a_process_record() {
    let Some(port) = es_testkit::env_or_skip("POSTGRES_PORT") else {
        return;
    };
    let proxy = Proxy::start(port.parse().unwrap());
    let vars = settings(&proxy);
    let env = Env::from_process("").with_all(vars.iter().cloned());
    let config = PostgresConfig::from_env(&env).unwrap();
    let r = PostgresProcessRecorder::new(&config, "f3proc").unwrap();
    let record = |k: u64| {
        let e = StoredEvent::new(Uuid::new_v4(), 1, "Downstream", k.to_be_bytes().to_vec());
        r.insert_events_with_tracking(&[e], &Tracking::new("up", k))
    };
    let mut settled = 0;
    let n = u64::try_from(rounds()).unwrap();
    for k in 1..=n {
        r.max_tracking_id("up").unwrap();
        proxy.arm(modes(usize::try_from(k).unwrap()));
        match record(k) {
            Ok(_) => settled += 1,
            Err(e) => panic!("position {k}: {e}"),
        }
        assert_eq!(proxy.mode.load(Ordering::SeqCst), PASS, "the cut happened");
        let again = record(k).unwrap_err();
        assert!(
            again.is_tracking_conflict(),
            "a resend is a true conflict: {again}"
        );
    }
    let all = r
        .select_notifications(&NotificationQuery::new(10_000))
        .unwrap();
    let mut positions: Vec<u64> = all
        .iter()
        .map(|n| u64::from_be_bytes(n.state.clone().try_into().unwrap()))
        .collect();
    positions.sort_unstable();
    assert_eq!(
        positions,
        (1..=n).collect::<Vec<_>>(),
        "one downstream event per position"
    );
    assert_eq!(r.max_tracking_id("up").unwrap(), Some(n));
    eprintln!(
        "F3 record: {n} positions, settled {settled}, committed replies dropped {}, \
         downstream {}, duplicates 0, missing 0",
        proxy
            .counts
            .committed_replies_dropped
            .load(Ordering::SeqCst),
        all.len()
    );
    drop(r);
    drop_schema(&vars);
}
