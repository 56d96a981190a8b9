//! C9: several OS processes on one SQLite file. Four writer processes commit 500 events each
//! (full profile; 150 in the fast one) into one WAL database while a fifth process tails it.
//! Oracles: no writer ever fails (no "database is locked" with the 5 s busy timeout); every
//! acknowledged id is stored and read by the tailing process; the reader's ids strictly
//! increase (no late arrival) and have no gap (SQLite ids are gap-free without failed writes).
//! Also F11 (a), a short lock holder, B11, no id reuse, and F14, a full disk.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eventsourcing::Uuid;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, NotificationQuery, StoredEvent,
};
use eventsourcing::sqlite::{SqliteApplicationRecorder, SqliteConfig};

const DB: &str = "ES_C9_DB";
const ROLE: &str = "ES_C9_ROLE";
const COUNT: &str = "ES_C9_COUNT";
const WRITERS: usize = 4;

fn recorder(path: &str) -> SqliteApplicationRecorder {
    let mut config = SqliteConfig::new(path);
    config.lock_timeout = Duration::from_secs(5);
    SqliteApplicationRecorder::new(&config, "app").unwrap()
}

/// A child: `writer` commits COUNT events, printing `ACK <id>` for each; `reader` prints
/// `SAW <id>` for every notification until it has seen COUNT of them.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn c9_child() {
    let (Ok(path), Ok(role), Ok(count)) =
        (std::env::var(DB), std::env::var(ROLE), std::env::var(COUNT))
    else {
        return;
    };
    let count: u64 = count.parse().unwrap();
    let r = recorder(&path);
    let mut out = std::io::stdout().lock();
    if role == "writer" {
        let id = Uuid::new_v4();
        for v in 1..=count {
            let ids = r
                .insert_events(&[StoredEvent::new(id, v, "C9", Vec::new())])
                .unwrap();
            writeln!(out, "ACK {}", ids[0]).unwrap();
        }
    } else {
        let (mut last, mut seen) = (0, 0);
        let deadline = Instant::now() + Duration::from_secs(120);
        while seen < count && Instant::now() < deadline {
            let page = r
                .select_notifications(&NotificationQuery::new(100).after(last))
                .unwrap();
            if page.is_empty() {
                std::thread::sleep(Duration::from_millis(1));
            }
            for n in page {
                writeln!(out, "SAW {}", n.id).unwrap();
                last = n.id;
                seen += 1;
            }
        }
    }
    out.flush().unwrap();
}

fn lines(output: &[u8], tag: &str) -> Vec<u64> {
    String::from_utf8_lossy(output)
        .lines()
        // The harness may print "test … " before the first line of the child.
        .filter_map(|l| l.find(tag).map(|i| &l[i + tag.len()..]))
        .map(|id| id.trim().parse().unwrap())
        .collect()
}

#[test]
fn c9_processes_share_one_sqlite_file() {
    let each: u64 = if super::full() { 500 } else { 150 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c9.db").to_string_lossy().into_owned();
    drop(recorder(&path)); // Tables and WAL mode exist before the children start.
    let total = each * u64::try_from(WRITERS).unwrap();
    let spawn = |role: &str, count: u64| {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "processes::c9_child",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(DB, &path)
            .env(ROLE, role)
            .env(COUNT, count.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let reader = spawn("reader", total);
    let writers: Vec<_> = (0..WRITERS).map(|_| spawn("writer", each)).collect();
    let mut acked = BTreeSet::new();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed (busy error?)");
        let ids = lines(&out.stdout, "ACK ");
        assert_eq!(ids.len(), usize::try_from(each).unwrap());
        acked.extend(ids);
    }
    let out = reader.wait_with_output().unwrap();
    assert!(out.status.success(), "the reader failed");
    let saw = lines(&out.stdout, "SAW ");
    let stored: BTreeSet<u64> = recorder(&path)
        .select_notifications(&NotificationQuery::new(100_000))
        .unwrap()
        .iter()
        .map(|n| n.id)
        .collect();
    let late = saw.windows(2).filter(|w| w[1] <= w[0]).count();
    let seen: BTreeSet<u64> = saw.iter().copied().collect();
    eprintln!(
        "C9: {WRITERS} writer processes × {each} commits in {:?}: acked {}, stored {}, reader saw {} \
         (late arrivals {late}, missing {}), writer errors 0",
        started.elapsed(),
        acked.len(),
        stored.len(),
        saw.len(),
        stored.difference(&seen).count()
    );
    assert_eq!(late, 0, "late arrival");
    assert_eq!(acked, stored, "every acknowledged id stored, nothing else");
    assert_eq!(seen, stored, "the reader saw every stored id");
    assert_eq!(saw.len(), stored.len(), "exactly once");
    assert_eq!(
        stored.iter().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "gap-free"
    );
}

/// F11 (a): another connection holds `BEGIN IMMEDIATE` for 1 s, less than the 5 s busy
/// timeout: the library's write waits for it and succeeds (after about 1 s, not at once and
/// not after the whole timeout).
#[test]
fn f11_a_short_lock_holder_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f11.db").to_string_lossy().into_owned();
    let r = recorder(&path);
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let waited = std::thread::scope(|s| {
        let write = s.spawn(|| {
            r.insert_events(&[StoredEvent::new(Uuid::new_v4(), 1, "F11", Vec::new())])
                .map(|_| started.elapsed())
        });
        std::thread::sleep(Duration::from_secs(1));
        holder.execute_batch("COMMIT").unwrap();
        write.join().unwrap().unwrap()
    });
    eprintln!("F11a: write behind a 1 s holder succeeded after {waited:?}");
    assert!(waited >= Duration::from_millis(950) && waited < Duration::from_secs(3));
}

/// B11: deleting the highest row (test-only SQL) does not let SQLite reuse its id: the next
/// insert gets a higher id, so a follower already past the old maximum still sees it.
#[test]
fn b11_sqlite_never_reuses_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b11.db").to_string_lossy().into_owned();
    let r = recorder(&path);
    let id = Uuid::new_v4();
    let first = r
        .insert_events(&[
            StoredEvent::new(id, 1, "B11", Vec::new()),
            StoredEvent::new(id, 2, "B11", Vec::new()),
        ])
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "DELETE FROM app_events WHERE notification_id = ?1",
        [i64::try_from(first[1]).unwrap()],
    )
    .unwrap();
    let next = r
        .insert_events(&[StoredEvent::new(id, 2, "B11", Vec::new())])
        .unwrap();
    assert!(next[0] > first[1], "{next:?} after {first:?}");
}

const F14: &str = "ES_F14_DB";

/// The writer of F14: appends 4 KiB events until a write fails, printing `ACK <version>` for
/// each success and `ERROR <kind>` for the failure.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn f14_child() {
    let Ok(path) = std::env::var(F14) else {
        return;
    };
    let r = recorder(&path);
    let id: Uuid = std::env::var("ES_F14_ID").unwrap().parse().unwrap();
    let mut out = std::io::stdout().lock();
    for v in 1..100_000 {
        match r.insert_events(&[StoredEvent::new(id, v, "F14", vec![7u8; 4096])]) {
            Ok(_) => writeln!(out, "ACK {v}").unwrap(),
            Err(e) => {
                let kind = if e.is_operational() {
                    "operational"
                } else {
                    "other"
                };
                writeln!(out, "\nERROR {kind}: {e}").unwrap();
                break;
            }
        }
        out.flush().unwrap();
    }
}

/// F14: a writer whose files may not grow past 1 MiB (`RLIMIT_FSIZE`, with SIGXFSZ ignored so
/// that writes fail instead of killing it) gets a typed operational error when the disk is
/// "full"; everything it acknowledged is intact, `integrity_check` passes, and writes resume
/// once the limit is gone.
#[test]
fn f14_disk_full_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f14.db").to_string_lossy().into_owned();
    let r = recorder(&path);
    let id = Uuid::new_v4();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .args([
            "-c",
            "trap '' XFSZ; exec prlimit --fsize=1048576 \"$0\" --ignored --exact \
             processes::f14_child --test-threads=1 --nocapture",
        ])
        .arg(&exe)
        .env(F14, &path)
        .env("ES_F14_ID", id.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let acked = lines(&out.stdout, "ACK ");
    let error = text
        .lines()
        .find_map(|l| l.strip_prefix("ERROR "))
        .unwrap_or_else(|| panic!("no error reported: {}", out.status));
    assert!(
        error.starts_with("operational"),
        "a typed I/O error: {error}"
    );
    assert!(
        acked.len() > 20,
        "it wrote until the limit: {} events",
        acked.len()
    );
    let stored: Vec<u64> = r
        .select_events(id, &eventsourcing::persistence::EventQuery::new())
        .unwrap()
        .iter()
        .map(|e| e.originator_version)
        .collect();
    assert_eq!(stored, acked, "every acknowledged event, and nothing else");
    let check: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let next = u64::try_from(stored.len()).unwrap() + 1;
    for v in next..next + 10 {
        r.insert_events(&[StoredEvent::new(id, v, "F14", vec![7u8; 4096])])
            .unwrap();
    }
    eprintln!(
        "F14: {} events acknowledged under a 1 MiB file limit, then `{}`; integrity ok; 10 more \
         written without the limit",
        acked.len(),
        error.split(':').next().unwrap_or("")
    );
}
