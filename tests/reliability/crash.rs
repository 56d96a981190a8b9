//! F1 and F2: kill -9 of writer processes and of process applications, in loops. The workers
//! are this test binary started again (`f1_child`, `f2_child`: ignored tests, which the parent
//! starts with `--ignored --exact` and which do nothing unless their variable is set), killed
//! with SIGKILL or aborting themselves at chosen steps; the parent compares what is stored with
//! what the workers acknowledged. `CRASH_SEED` replays a run.
//!
//! - `crash/writers.rs`: F1, the crash loop and its checks; `crash/writers_worker.rs`: the
//!   writer process and the batch format it writes;
//! - `crash/projections.rs`: P1, a projection runner killed mid-batch, and its worker;
//! - `crash/followers.rs`: F2, the crash loop, the race and the exactly-once checks;
//!   `crash/followers_worker.rs`: the system and the process-application worker;
//! - here: the test entry points, [`Worker`] (a worker process) and PostgreSQL session helpers.

mod followers;
mod followers_worker;
mod leases;
mod projections;
mod race;
mod writers;
mod writers_worker;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use crate::postgres;
use crate::rng::Rng;

/// F1: SIGKILL of a writer in a loop; ACKed batches survive byte for byte, no batch is partial.
#[test]
fn f1_kill_writer_mid_transaction() {
    writers::test();
}

/// The worker of F1; a no-op unless started by it.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn f1_child() {
    writers_worker::child();
}

/// F2: SIGKILL and self-abort of a process application; exactly once across crashes.
#[test]
fn f2_kill_process_application() {
    followers::test();
}

/// F2b: as F2, with the follower processing batches: kills and aborts mid-batch.
#[test]
fn f2b_kill_followers_mid_batch() {
    followers::test_batched();
}

/// L1: three leased runner processes, the lease holder killed (SIGKILL) and stopped
/// (SIGSTOP) again and again while a writer appends: take-over within the TTL + 1 s, exactly
/// once, almost no wasted processing.
#[test]
fn l1_leased_runners_take_over_from_killed_and_stopped_holders() {
    leases::test();
}

/// The worker of L1; a no-op unless started by it.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn l1_child() {
    leases::child();
}

/// P1: SIGKILL of a projection runner mid-batch, again and again: every event in the SQLite
/// view exactly once.
#[test]
fn p1_kill_projection_runner_mid_batch_sqlite() {
    projections::test_sqlite();
}

/// P1 with the view in PostgreSQL: the next runner starts while the killed one's last
/// transaction may still be committing.
#[test]
fn p1_kill_projection_runner_mid_batch_postgres() {
    projections::test_postgres();
}

/// The worker of P1; a no-op unless started by it.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn p1_child() {
    projections::child();
}

/// The worker of F2; a no-op unless started by it.
#[test]
#[ignore = "worker: started by its parent test with --ignored --exact"]
fn f2_child() {
    followers_worker::child();
}

/// A worker process: this test binary running one child test, its complete stdout lines
/// collected by a thread. Dropping it kills it.
struct Worker {
    child: Child,
    lines: Receiver<String>,
    /// Lines already taken from `lines` by [`Worker::wait_for`].
    read: Vec<String>,
}

impl Worker {
    fn spawn(test: &str, vars: &[(&str, String)]) -> Self {
        // `/proc/self/exe` still runs this binary when a concurrent build has replaced the file.
        let exe = std::path::Path::new("/proc/self/exe");
        let exe = if exe.exists() {
            exe.to_owned()
        } else {
            std::env::current_exe().unwrap()
        };
        let mut child = Command::new(exe)
            .args([
                "--ignored",
                "--exact",
                test,
                "--test-threads=1",
                "--nocapture",
            ])
            .envs(vars.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(out);
            let mut line = Vec::new();
            // A line cut by the kill has no newline: it is not a complete line and is dropped.
            while out.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) && line.ends_with(b"\n") {
                let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                if tx.send(text).is_err() {
                    break;
                }
                line.clear();
            }
        });
        Self {
            child,
            lines,
            read: Vec::new(),
        }
    }

    /// Waits up to `timeout` until the worker has written the line `line` `count` times in
    /// all; false if it ended or time ran out first.
    fn wait_for(&mut self, line: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut seen = self.read.iter().filter(|l| *l == line).count();
        while seen < count {
            let Ok(next) = self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            else {
                return false;
            };
            seen += usize::from(next == line);
            self.read.push(next);
        }
        true
    }

    /// Sends SIGKILL after `after` (unless it has exited) and reaps it.
    fn kill_after(&mut self, after: Duration) -> ExitStatus {
        std::thread::sleep(after);
        let _ = self.child.kill();
        self.child.wait().unwrap()
    }

    /// Waits for it to exit by itself.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "worker still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The complete lines it wrote; call after it exited.
    fn lines(&mut self) -> Vec<String> {
        let mut all = std::mem::take(&mut self.read);
        all.extend(self.lines.iter());
        all
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many sessions have an `application_name` like `pattern` now.
fn sessions_now(admin: &mut postgres::Client, pattern: &str) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1",
            &[&pattern],
        )
        .unwrap()
        .get(0)
}

/// Waits up to 10 s until no server session has an `application_name` like `pattern`;
/// returns how many remain and how long it waited.
fn sessions_left(admin: &mut postgres::Client, pattern: &str) -> (i64, Duration) {
    let started = Instant::now();
    loop {
        let left = sessions_now(admin, pattern);
        if left == 0 || started.elapsed() > Duration::from_secs(10) {
            return (left, started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The PostgreSQL variables a child needs to open `schema` through the facade.
fn postgres_vars(schema: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("POSTGRES_"))
        .collect();
    vars.retain(|(k, _)| k != "POSTGRES_SCHEMA");
    vars.push(("POSTGRES_SCHEMA".into(), schema.to_owned()));
    vars.push(("PERSISTENCE_MODULE".into(), "postgres".into()));
    vars
}
