//! F2: a process application in a worker process that is killed with SIGKILL after a random
//! 50–500 ms (or sooner, after K policy calls and up to 20 ms), or aborts itself (`std::process::abort`) at a chosen step, again and again until
//! it has caught up with a leader pre-filled with N events; every upstream event then has
//! exactly one downstream event.
//!
//! The policy of `Downstream` writes one new `Effect` aggregate (a random id, so a second
//! processing would store a second event) carrying the upstream notification id. The steps:
//! at the K-th policy call after the policy ran and before the record (`policy K`), and at
//! the K-th call of an application listener, which runs after the record committed and before
//! `record` returns to the runner (`commit K`). The parent checks that a worker aborting in its
//! policy advanced the tracking by exactly K − 1 notifications, and one aborting after a commit
//! by exactly K. One downstream insert in ten runs a trigger that spends tens of ms inside the
//! transaction (PostgreSQL `pg_sleep`, SQLite a cross join), so SIGKILLs often land between
//! the insert and its commit. Every policy call prints `POLICY`; since a record follows its
//! policy and the next policy waits for the record, a killed worker must have recorded exactly
//! its policy calls or one fewer. Before the next worker starts and before counting, the parent
//! waits until the dead worker has no PostgreSQL session left (the server still commits a
//! statement whose client was killed). Workers alternate between the multi- and
//! single-threaded runner. Then, on PostgreSQL, the race: killed workers replaced at once,
//! while their last record may still be committing (see `race`).
//!
//! The worker's code is in `followers_worker.rs`; this side starts, kills and checks workers.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use eventsourcing::application::Application;
use eventsourcing::postgres::{PostgresConfig, drop_postgres_schema};
use eventsourcing::system::App;
use eventsourcing::{ApplicationBuilder, Uuid};

use super::followers_worker::{
    ABORT, CHILD, Downstream, EffectEvent, LAST, RUNNER, SESSION, Upstream, tracking,
};
use super::{Rng, Worker};
use crate::common::{new_dog, trick};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Mode {
    Kill,
    Policy,
    Commit,
    Clean,
}

/// The backend: the variables of its applications, and on PostgreSQL an admin connection to
/// see the workers' sessions.
pub(super) struct Backend {
    pub(super) label: &'static str,
    pub(super) vars: Vec<(String, String)>,
    pub(super) admin: Option<postgres::Client>,
    /// The follower's `PROCESSING_BATCH`: 1 checks every step exactly.
    pub(super) batch: u64,
    pub(super) postgres: Option<PostgresConfig>,
}

impl Backend {
    fn config(&self) -> PostgresConfig {
        self.postgres.clone().unwrap()
    }

    fn schema(&self) -> String {
        self.config().schema
    }

    pub(super) fn open(&self, name: &str) -> Application {
        ApplicationBuilder::new(name)
            .without_process_env()
            .vars(self.vars.iter().cloned())
            .build()
            .unwrap()
    }

    /// On PostgreSQL, waits until the workers tagged `tag` have no session left: a killed
    /// worker's last statement may still run, and commit, on the server.
    pub(super) fn settle(&mut self, tag: &str) {
        if let Some(admin) = &mut self.admin {
            let (left, waited) = super::sessions_left(admin, &format!("{tag}_%"));
            assert_eq!(left, 0, "{}: sessions left after {waited:?}", self.label);
        }
    }
}

pub(super) fn test() {
    let (n, crashes) = if crate::full() { (2000, 30) } else { (300, 6) };
    let mut rng = Rng::seeded("F2");
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = sqlite_backend(&dir, "sqlite", 1, n);
    run(&mut sqlite, n, crashes, &mut rng);
    if let Some(mut pg) = postgres_backend("f2", "postgres", 1, n) {
        run(&mut pg, n, crashes, &mut rng);
        drop_postgres_schema(&pg.config(), &pg.schema()).unwrap();
    }
    if let Some(config) = super::postgres("f2r") {
        super::race::race(&config, (n / 4).max(200), (crashes / 3).max(4), &mut rng);
    }
}

/// F2b: as F2, with the follower processing batches of up to [`BATCH`] notifications in one
/// transaction each, so that kills and aborts land in the middle of batches.
pub(super) fn test_batched() {
    let (n, crashes) = if crate::full() { (2000, 30) } else { (600, 6) };
    let mut rng = Rng::seeded("F2b");
    let dir = tempfile::tempdir().unwrap();
    let mut sqlite = sqlite_backend(&dir, "sqlite batched", BATCH, n);
    run(&mut sqlite, n, crashes, &mut rng);
    if let Some(mut pg) = postgres_backend("f2b", "postgres batched", BATCH, n) {
        run(&mut pg, n, crashes, &mut rng);
        drop_postgres_schema(&pg.config(), &pg.schema()).unwrap();
    }
}

/// The batch size of F2b.
const BATCH: u64 = 50;

/// A SQLite file in `dir` with `n` upstream events, the downstream tables and the slow
/// trigger; its follower processes up to `batch` notifications per transaction.
pub(super) fn sqlite_backend(
    dir: &tempfile::TempDir,
    label: &'static str,
    batch: u64,
    n: usize,
) -> Backend {
    let db = dir
        .path()
        .join(format!("f2-{batch}.db"))
        .to_string_lossy()
        .into_owned();
    let sqlite = Backend {
        label,
        vars: vec![
            ("PERSISTENCE_MODULE".into(), "sqlite".into()),
            ("SQLITE_DBNAME".into(), db.clone()),
            ("PROCESSING_BATCH".into(), batch.to_string()),
        ],
        admin: None,
        batch,
        postgres: None,
    };
    prefill(&sqlite, n);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE f2_pad (i INTEGER);
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {})
               INSERT INTO f2_pad SELECT i FROM c;
             CREATE TRIGGER f2_slow AFTER INSERT ON downstream_events WHEN abs(random()) % 10 = 0
               BEGIN SELECT count(*) FROM f2_pad a, f2_pad b; END;",
            if crate::full() { 1500 } else { 1000 }
        ))
        .unwrap();
    sqlite
}

/// As [`sqlite_backend`], in a new PostgreSQL schema named after `prefix`, when configured.
pub(super) fn postgres_backend(
    prefix: &str,
    label: &'static str,
    batch: u64,
    n: usize,
) -> Option<Backend> {
    let config = super::postgres(prefix)?;
    let mut vars = super::postgres_vars(&config.schema);
    vars.push(("PROCESSING_BATCH".into(), batch.to_string()));
    let mut pg = Backend {
        label,
        vars,
        admin: Some(crate::common::admin(&config)),
        batch,
        postgres: Some(config),
    };
    prefill(&pg, n);
    let schema = pg.schema();
    slow_inserts(pg.admin.as_mut().unwrap(), &schema, 0.1);
    Some(pg)
}

/// On PostgreSQL, makes a share `p` of downstream inserts in `schema` sleep 50 ms inside their
/// transaction, so that kills land between an insert and its commit.
pub(super) fn slow_inserts(admin: &mut postgres::Client, schema: &str, p: f64) {
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION \"{schema}\".f2_slow() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF random() < {p} THEN PERFORM pg_sleep(0.05); END IF; RETURN NEW; END $$;
             CREATE TRIGGER f2_slow AFTER INSERT ON \"{schema}\".downstream_events
               FOR EACH ROW EXECUTE FUNCTION \"{schema}\".f2_slow();"
        ))
        .unwrap();
}

/// Writes `n` upstream events (100 per save) and creates the downstream tables.
pub(super) fn prefill(backend: &Backend, n: usize) {
    let upstream = backend.open(Upstream::NAME);
    for _ in 0..n / 100 {
        let mut dog = new_dog("upstream");
        for i in 0..99 {
            dog.trigger(trick(&format!("trick {i}")));
        }
        upstream.save(&mut dog).unwrap();
    }
    backend.open(Downstream::NAME);
}

/// The crash loop: workers in the modes Policy, Commit, Kill, Kill, ... for `crashes`
/// workers, then clean ones, until one has caught up; then the exactly-once checks.
fn run(backend: &mut Backend, n: usize, crashes: usize, rng: &mut Rng) {
    let started = Instant::now();
    let label = backend.label;
    let upstream = backend.open(Upstream::NAME);
    let downstream = backend.open(Downstream::NAME);
    let up: Vec<u64> = es_testkit::support::read_all_after(upstream.recorder().as_ref(), None)
        .iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(up.len(), n);
    let last = *up.last().unwrap();
    let processed = || {
        let t = tracking(downstream.recorder().as_ref());
        u64::try_from(up.partition_point(|&id| id <= t)).unwrap()
    };
    let vars: Vec<String> = backend
        .vars
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let tag = format!("f2_{}", &Uuid::new_v4().simple().to_string()[..8]);
    let kmax = u64::try_from(n / crashes).unwrap();
    let mut counts: HashMap<Mode, u64> = HashMap::new();
    // Kills that found a policy's record uncommitted, and of those, records the server
    // committed after the kill.
    let (mut in_flight, mut late) = (0, 0);
    let mut i = 0;
    loop {
        i += 1;
        assert!(i <= crashes + 3, "{label}: not caught up after {i} workers");
        let mode = if i > crashes {
            Mode::Clean
        } else {
            [Mode::Policy, Mode::Commit, Mode::Kill, Mode::Kill][(i - 1) % 4]
        };
        // Every mode meets both runners.
        let runner = ["multi", "single"][((i - 1) / 4 + (i - 1)) % 2];
        let before = processed();
        // Commits come one per batch: count them in batches, so the abort comes before the end.
        let k = match mode {
            Mode::Commit => rng.between(1, (kmax / backend.batch).max(1)),
            _ => rng.between(1, kmax),
        };
        let mut env = vec![
            (CHILD, vars.join("\n")),
            (LAST, last.to_string()),
            (RUNNER, runner.to_owned()),
        ];
        match mode {
            Mode::Policy => env.push((ABORT, format!("policy {k}"))),
            Mode::Commit => env.push((ABORT, format!("commit {k}"))),
            Mode::Kill | Mode::Clean => {}
        }
        if backend.admin.is_some() {
            env.push((SESSION, format!("{tag}_{i}")));
        }
        let mut worker = Worker::spawn("crash::f2_child", &env);
        let status = if mode == Mode::Kill {
            // After a random 50–500 ms, or sooner once the policy has run K times (so that
            // fast backends leave work for the next workers), plus up to 20 ms.
            worker.wait_for("POLICY", usize::try_from(k).unwrap(), rng.millis(50, 500));
            worker.kill_after(rng.millis(0, 20))
        } else {
            worker.wait(Duration::from_secs(120))
        };
        let lines = worker.lines();
        let caught_up = lines.iter().any(|l| l == "CAUGHT_UP");
        // Policy calls that returned; each record follows its policy, and the next policy
        // runs only after the record returned.
        let policies = u64::try_from(lines.iter().filter(|l| *l == "POLICY").count()).unwrap();
        let at_kill = processed() - before;
        backend.settle(&tag);
        let progress = processed() - before;
        eprintln!(
            "F2 {label}: worker {i} {mode:?} {runner} k={k}: {status}, {policies} policy calls, \
             {progress} processed ({at_kill} when it ended), caught up: {caught_up}"
        );
        if caught_up {
            assert!(mode == Mode::Kill || status.success(), "{label}: {status}");
            assert_eq!(progress, policies, "{label}: worker {i}");
            *counts.entry(Mode::Clean).or_default() += 1;
            break;
        }
        let batch = backend.batch;
        match mode {
            Mode::Kill => {
                assert_eq!(status.signal(), Some(9), "{label}: worker {i}: {status}");
                // At most one batch in flight: its policy calls are not recorded.
                assert!(
                    progress + batch >= policies && progress <= policies,
                    "{label}: worker {i}: {policies} policy calls, {progress} records"
                );
                in_flight += u64::from(at_kill < policies);
                late += u64::from(at_kill < progress);
            }
            Mode::Policy | Mode::Commit => {
                assert_eq!(status.signal(), Some(6), "{label}: worker {i}: {status}");
                let expected = if mode == Mode::Policy { k - 1 } else { k };
                if batch == 1 {
                    assert_eq!(
                        (policies, progress),
                        (expected, expected),
                        "{label}: worker {i} aborted at {mode:?} {k}: (policy calls, records)"
                    );
                } else if mode == Mode::Policy {
                    // The batches committed before the K-th policy call, none of its own.
                    assert!(
                        policies == k - 1 && progress <= policies && progress + batch >= k,
                        "{label}: worker {i} aborted at policy {k}: {policies} policy calls, \
                         {progress} records"
                    );
                } else {
                    // K commits, each of one batch of at least one notification.
                    assert!(
                        progress >= k && progress <= policies,
                        "{label}: worker {i} aborted at commit {k}: {policies} policy calls, \
                         {progress} records"
                    );
                }
            }
            Mode::Clean => panic!("{label}: worker {i} did not catch up: {status}"),
        }
        *counts.entry(mode).or_default() += 1;
    }
    let count = |m| counts.get(&m).copied().unwrap_or(0);
    eprintln!(
        "F2 {label}: {i} workers: {} killed ({in_flight} with a record in flight, {late} of \
         them committed by the server after the kill), {} aborted in the policy, {} aborted \
         after a commit, {} caught up; no session left",
        count(Mode::Kill),
        count(Mode::Policy),
        count(Mode::Commit),
        count(Mode::Clean),
    );
    check(label, &downstream, &up, started);
    for mode in [Mode::Kill, Mode::Policy, Mode::Commit] {
        assert!(count(mode) > 0, "{label}: no worker ended by {mode:?}");
    }
}

/// Downstream events map one-to-one to upstream ids, and tracking is at the last one.
pub(super) fn check(label: &str, downstream: &Application, up: &[u64], started: Instant) {
    let effects = es_testkit::support::read_all_after(downstream.recorder().as_ref(), None);
    let mut by_cause: HashMap<u64, u64> = HashMap::new();
    for e in &effects {
        let event = downstream
            .mapper()
            .to_envelope::<EffectEvent>(e.originator_id, e.originator_version, &e.topic, &e.state)
            .unwrap()
            .event;
        let EffectEvent::Caused { causation } = event;
        *by_cause.entry(causation).or_default() += 1;
    }
    let duplicates: u64 = by_cause.values().map(|c| c - 1).sum();
    let missing = up.iter().filter(|id| !by_cause.contains_key(id)).count();
    let strays = by_cause
        .keys()
        .filter(|c| up.binary_search(c).is_err())
        .count();
    let last = *up.last().unwrap();
    let tracking = tracking(downstream.recorder().as_ref());
    eprintln!(
        "F2 {label}: {} upstream (last id {last}), {} downstream, tracking {tracking}; \
         duplicates {duplicates}, missing {missing}, strays {strays}; {:.1?}",
        up.len(),
        effects.len(),
        started.elapsed(),
    );
    assert_eq!(
        (effects.len(), duplicates, missing, strays, tracking),
        (up.len(), 0, 0, 0, last),
        "{label}: (downstream, duplicates, missing, strays, tracking)"
    );
}
