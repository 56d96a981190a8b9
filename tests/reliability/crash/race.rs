//! F2's race (`followers.rs` describes F2): on PostgreSQL, killed workers replaced at once,
//! while their last record may still be committing, with the default batches.

use std::time::{Duration, Instant};

use eventsourcing::Uuid;
use eventsourcing::postgres::{PostgresConfig, drop_postgres_schema};
use eventsourcing::system::App;

use super::followers::{Backend, check, prefill, slow_inserts};
use super::followers_worker::{CHILD, Downstream, LAST, RUNNER, SESSION, Upstream};
use super::{Rng, Worker};

/// The race: on PostgreSQL, each killed worker is replaced at once, while the server may still
/// be committing its last record (one downstream insert in three sleeps 50 ms in the
/// transaction). The new worker reads a tracking position that may be stale, processes the
/// same upstream event again, and its record must fail as a tracking conflict (it waits for the
/// table lock the dead session holds), never store a second downstream event.
pub(super) fn race(config: &PostgresConfig, n: usize, kills: usize, rng: &mut Rng) {
    let started = Instant::now();
    let mut pg = Backend {
        label: "postgres race",
        vars: super::postgres_vars(&config.schema),
        admin: Some(crate::common::admin(config)),
        batch: u64::try_from(eventsourcing::system::DEFAULT_PROCESSING_BATCH).unwrap(),
        postgres: None,
    };
    prefill(&pg, n);
    let mut admin = crate::common::admin(config);
    slow_inserts(&mut admin, &config.schema, 0.3);
    let upstream = pg.open(Upstream::NAME);
    let downstream = pg.open(Downstream::NAME);
    let up: Vec<u64> = es_testkit::support::read_all_after(upstream.recorder().as_ref(), None)
        .iter()
        .map(|n| n.id)
        .collect();
    let last = *up.last().unwrap();
    let vars: Vec<String> = pg.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let tag = format!("f2r_{}", &Uuid::new_v4().simple().to_string()[..8]);
    // A replacement overlaps a dying session only when the server has not yet noticed the kill:
    // a matter of timing. While none has, up to `EXTRA` more workers are killed, so that the
    // check below cannot fail by bad luck with a handful of kills.
    const EXTRA: usize = 40;
    let (mut overlapped, mut i, mut killed) = (0, 0, 0);
    loop {
        i += 1;
        assert!(i <= killed + 3, "race: not caught up after {i} workers");
        let env = vec![
            (CHILD, vars.join("\n")),
            (LAST, last.to_string()),
            (RUNNER, ["multi", "single"][i % 2].to_owned()),
            (SESSION, format!("{tag}_{i}")),
        ];
        if i > 1 {
            // Is the previous worker's session still on the server as this one starts?
            let left = super::sessions_now(&mut admin, &format!("{tag}_{}", i - 1));
            overlapped += u64::from(left > 0);
        }
        let mut worker = Worker::spawn("crash::f2_child", &env);
        if killed < kills || (overlapped == 0 && killed < kills + EXTRA) {
            killed += 1;
            worker.wait_for(
                "POLICY",
                usize::try_from(rng.between(3, 30)).unwrap(),
                rng.millis(50, 400),
            );
            worker.kill_after(rng.millis(0, 20));
        } else {
            let status = worker.wait(Duration::from_secs(120));
            if worker.lines().iter().any(|l| l == "CAUGHT_UP") {
                assert!(status.success(), "race: {status}");
                break;
            }
        }
    }
    pg.settle(&tag);
    eprintln!(
        "F2 race: {killed} workers killed and replaced at once, {overlapped} of the replacements \
         started while the killed worker's session was still on the server"
    );
    check("postgres race", &downstream, &up, started);
    // The fast profile's debug build under a loaded machine can go 40 kills without an
    // overlap (once in CI, 0 of 44; exactly-once held, as checked above): it only reports
    // it. The full profile's release build overlaps on most kills, and asserts it.
    assert!(
        overlapped > 0 || !crate::full(),
        "race: no replacement overlapped a dying session"
    );
    drop((upstream, downstream, pg));
    drop_postgres_schema(config, &config.schema).unwrap();
}
