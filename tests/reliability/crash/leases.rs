//! L1: three runner processes with `RUNNER_LEASES=on` follow one leader while a writer appends
//! throughout. Again and again the parent finds the lease holder (its pid is in the holder
//! name) and kills it with SIGKILL (replacing it with a new worker), or stops it with SIGSTOP
//! until a stand-by has taken the lease over and a second more, then lets it go on (SIGCONT):
//! it wakes with its lease lost and must process nothing more. The parent measures each
//! take-over (from the signal to another worker holding the lease) and each resumption (to
//! the follower's tracking moving on). At the end: every upstream event has exactly one
//! downstream event, and the workers' health reports how many tracking conflicts (wasted
//! processing) they met. Without leases, three instances met thousands. SIGSTOP on
//! PostgreSQL only: a SQLite writer stopped inside its transaction holds the file's write
//! lock, and every other process's writes (lease take-over included) wait until it continues.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use eventsourcing::Env;
use eventsourcing::persistence::ProcessRecorder;
use eventsourcing::postgres::drop_postgres_schema;
use eventsourcing::system::{App, EdgeState, MultiThreadedRunner, app_factory};

use super::followers::{Backend, check, prefill, slow_inserts};
use super::followers_worker::{Downstream, Upstream, system, tracking};
use super::{Rng, Worker};
use crate::common::{new_dog, trick};

const CHILD: &str = "ES_L1_CHILD";
const STOP: &str = "ES_L1_STOP";
/// The lease's time to live in the workers.
const TTL: Duration = Duration::from_secs(2);

pub(super) fn test() {
    let rounds = if crate::full() { 9 } else { 3 };
    let mut rng = Rng::seeded("L1");
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = sqlite(&dir);
    run(
        &mut sqlite,
        rounds,
        &dir.path().join("stop-sqlite"),
        &mut rng,
    );
    if let Some(mut pg) = postgres(100) {
        run(&mut pg, rounds, &dir.path().join("stop-pg"), &mut rng);
        let config = pg.postgres.clone().unwrap();
        drop_postgres_schema(&config, &config.schema).unwrap();
    }
}

/// A SQLite file with a small backlog (no slow trigger: SQLite's busy handler lets one
/// process that commits back to back starve the others' writes).
fn sqlite(dir: &tempfile::TempDir) -> Backend {
    let db = dir.path().join("l1.db").to_string_lossy().into_owned();
    let backend = Backend {
        label: "sqlite leased",
        vars: vec![
            ("PERSISTENCE_MODULE".into(), "sqlite".into()),
            ("SQLITE_DBNAME".into(), db),
            ("PROCESSING_BATCH".into(), "20".into()),
        ],
        admin: None,
        batch: 20,
        postgres: None,
    };
    prefill(&backend, 100);
    backend
}

/// A PostgreSQL schema with a small backlog; one downstream insert in 100 sleeps 50 ms in its
/// transaction, so kills land between an insert and its commit (F2's one in ten would let
/// the follower fall far behind the writer).
fn postgres(n: usize) -> Option<Backend> {
    let config = super::postgres("l1")?;
    let mut vars = super::postgres_vars(&config.schema);
    vars.push(("PROCESSING_BATCH".into(), "20".into()));
    let mut pg = Backend {
        label: "postgres leased",
        vars,
        admin: Some(crate::common::admin(&config)),
        batch: 20,
        postgres: Some(config),
    };
    prefill(&pg, n);
    let schema = pg.postgres.clone().unwrap().schema;
    slow_inserts(pg.admin.as_mut().unwrap(), &schema, 0.01);
    Some(pg)
}

/// The holder of the follower's lease: its pid, if any instance holds it.
fn holder(recorder: &dyn ProcessRecorder) -> Option<u32> {
    let leases = recorder.leases("edge:").unwrap();
    let lease = leases
        .iter()
        .find(|l| l.name == format!("edge:{}", Upstream::NAME))?;
    lease.holder.split(':').nth(1)?.parse().ok()
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Waits until `check` is true, up to 30 s; how long it took.
fn until(what: &str, check: &dyn Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

fn spawn(vars: &str, stop: &Path) -> Worker {
    let mut worker = Worker::spawn(
        "crash::l1_child",
        &[(CHILD, vars.to_owned()), (STOP, stop.display().to_string())],
    );
    assert!(
        worker.wait_for("READY", 1, Duration::from_secs(60)),
        "a worker started"
    );
    worker
}

fn run(backend: &mut Backend, rounds: usize, stop: &Path, rng: &mut Rng) {
    let started = Instant::now();
    let label = backend.label;
    let mut vars = backend.vars.clone();
    vars.push(("RUNNER_LEASES".into(), "on".into()));
    vars.push(("RUNNER_LEASE_TTL".into(), TTL.as_secs_f64().to_string()));
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let vars = vars.join("\n");
    let upstream = Arc::new(backend.open(Upstream::NAME));
    let downstream = backend.open(Downstream::NAME);
    let recorder = Arc::clone(downstream.recorder());
    let mut workers: Vec<Worker> = (0..3).map(|_| spawn(&vars, stop)).collect();
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (upstream, writing) = (Arc::clone(&upstream), Arc::clone(&writing));
        std::thread::spawn(move || {
            let mut errors = 0u64;
            while writing.load(Ordering::SeqCst) {
                let mut dog = new_dog("upstream");
                for i in 0..4 {
                    dog.trigger(trick(&format!("trick {i}")));
                }
                // What committed counts: the upstream ids are read from the log at the end.
                if upstream.save(&mut dog).is_err() {
                    errors += 1;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            errors
        })
    };
    let (mut takeovers, mut resumes, mut kills, mut stops) = (Vec::new(), Vec::new(), 0, 0);
    for round in 0..rounds {
        std::thread::sleep(rng.millis(300, 1_500));
        until("a worker holds the lease", &|| {
            holder(recorder.as_ref()).is_some()
        });
        let pid = holder(recorder.as_ref()).unwrap();
        let i = workers
            .iter()
            .position(|w| w.child.id() == pid)
            .expect("the holder is one of the workers");
        let position = tracking(recorder.as_ref());
        // On SQLite a process stopped inside a write transaction holds the file's write lock,
        // so nobody can write (a lease included) until it continues: SQLite's own limit,
        // which no lease can cure. There the holder is killed, every round.
        let sigstop = backend.postgres.is_some() && round % 3 == 2;
        let signalled = Instant::now();
        if sigstop {
            signal(pid, "-STOP");
            stops += 1;
        } else {
            let _ = workers[i].kill_after(Duration::ZERO);
            kills += 1;
        }
        until("another worker takes the lease", &|| {
            holder(recorder.as_ref()).is_some_and(|p| p != pid)
        });
        takeovers.push(signalled.elapsed());
        until("processing resumes", &|| {
            tracking(recorder.as_ref()) > position
        });
        resumes.push(signalled.elapsed());
        if sigstop {
            // Paused past its lease while the new holder processes; then it wakes.
            std::thread::sleep(Duration::from_secs(1));
            signal(pid, "-CONT");
        } else {
            let _ = workers[i].lines();
            workers[i] = spawn(&vars, stop);
        }
    }
    writing.store(false, Ordering::SeqCst);
    let write_errors = writer.join().unwrap();
    let up: Vec<u64> = es_testkit::support::read_all_after(upstream.recorder().as_ref(), None)
        .iter()
        .map(|n| n.id)
        .collect();
    let last = *up.last().unwrap();
    until("the follower catches up", &|| {
        tracking(recorder.as_ref()) == last
    });
    std::fs::write(stop, b"stop").unwrap();
    let mut conflicts = 0;
    for worker in &mut workers {
        assert!(
            worker.wait(Duration::from_secs(30)).success(),
            "{label}: a worker failed"
        );
        conflicts += worker
            .lines()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("CONFLICTS "))
            .map_or(0, |n| n.parse::<u64>().unwrap());
    }
    std::fs::remove_file(stop).unwrap();
    check(label, &downstream, &up, started);
    let (max_takeover, max_resume) = (
        takeovers.iter().max().copied().unwrap_or_default(),
        resumes.iter().max().copied().unwrap_or_default(),
    );
    eprintln!(
        "L1 {label}: {} upstream events, {kills} SIGKILLs and {stops} SIGSTOPs of the lease \
         holder among 3 workers; take-over max {max_takeover:.2?} (all {takeovers:.2?}), \
         processing resumed max {max_resume:.2?}, TTL {TTL:?}; tracking conflicts {conflicts}; writer errors {write_errors}",
        up.len()
    );
    assert!(
        max_takeover <= TTL + Duration::from_secs(1),
        "{label}: take-over {max_takeover:?} beyond the TTL + 1 s"
    );
    // A woken worker may have had one batch in flight; nothing more.
    assert!(
        conflicts <= 2 * rounds as u64,
        "{label}: {conflicts} tracking conflicts in {rounds} rounds"
    );
}

/// The worker: runs the leased system until the stop file appears, printing its tracking
/// conflicts as its health counts them.
pub(super) fn child() {
    let Ok(vars) = std::env::var(CHILD) else {
        return;
    };
    let stop = std::env::var(STOP).unwrap();
    let pairs = vars
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())));
    let runner = MultiThreadedRunner::new(system(), Env::new("").with_all(pairs), app_factory());
    runner.start().unwrap();
    println!("\nREADY");
    let conflicts = |runner: &MultiThreadedRunner| -> u64 {
        let health = runner.health().unwrap_or_default();
        assert!(
            health
                .iter()
                .all(|h| !matches!(h.state, EdgeState::Failed { .. })),
            "{health:?}"
        );
        health.iter().map(|h| h.tracking_conflicts).sum()
    };
    while !Path::new(&stop).exists() {
        runner.watch_for_errors(Duration::from_millis(100)).unwrap();
        println!("\nCONFLICTS {}", conflicts(&runner));
    }
    let last = conflicts(&runner);
    runner.stop().unwrap();
    println!("\nCONFLICTS {last}");
}
