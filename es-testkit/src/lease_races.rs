//! Lease properties that make races likely and check every documented shape: a release racing
//! the expiry that hands the lease to another holder, acquirers racing for an expired lease,
//! names and holders that share prefixes or hold pattern characters, and listings in name
//! order (bytes, as Rust orders strings). Each race runs round after round, its threads
//! started together (a barrier) at the window where a check-then-act bug lives, for a time
//! budget, so a two-step implementation is caught by likelihood, not luck.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use es_core::{Lease, LeaseRecorder};

/// Long enough never to run out during a test.
const LONG: Duration = Duration::from_secs(600);
/// How long each race runs (at least [`MIN_ROUNDS`] rounds).
const BUDGET: Duration = Duration::from_millis(1500);
const MIN_ROUNDS: usize = 40;

/// Runs `round` with increasing numbers until the budget is spent and at least
/// [`MIN_ROUNDS`] ran.
fn rounds(mut round: impl FnMut(usize)) {
    let started = Instant::now();
    let mut n = 0;
    while n < MIN_ROUNDS || started.elapsed() < BUDGET {
        round(n);
        n += 1;
    }
}

/// Takes `name` for `holder` for a moment and lets it expire.
fn expired<R: LeaseRecorder>(r: &R, name: &str, holder: &str) {
    let ttl = Duration::from_millis(2);
    assert!(
        r.acquire_lease(name, holder, ttl).unwrap(),
        "{name}: a free lease"
    );
    let until = Instant::now() + ttl * 2;
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn holders<R: LeaseRecorder>(r: &R, name: &str) -> Vec<String> {
    r.leases(name)
        .unwrap()
        .into_iter()
        .filter(|l| l.name == name)
        .map(|l| l.holder)
        .collect()
}

/// The former holder releases a lease that has just expired while another holder acquires
/// it: the release must not free the new holder's lease (a release that checks the holder
/// and then deletes by name, in two steps, does). After each round the new holder holds it.
pub fn a_release_never_frees_a_lease_passed_on<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    rounds(|round| {
        let name = format!("edge/{round}");
        expired(&r, &name, "old");
        let barrier = Barrier::new(2);
        std::thread::scope(|s| {
            let (r, barrier, name) = (&r, &barrier, &name);
            s.spawn(move || {
                barrier.wait();
                r.release_lease(name, "old").unwrap();
            });
            barrier.wait();
            assert!(
                r.acquire_lease(name, "new", LONG).unwrap(),
                "round {round}: an expired lease is free"
            );
        });
        assert_eq!(
            holders(&r, &name),
            ["new"],
            "round {round}: the former holder's release freed the new holder's lease"
        );
        assert!(
            !r.acquire_lease(&name, "third", LONG).unwrap(),
            "round {round}: the new holder's lease is held"
        );
    });
}

/// Holders racing for an expired lease, round after round: exactly one wins each round, and
/// the listing names it.
pub fn racing_acquirers_of_an_expired_lease_one_winner<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let threads = 4;
    rounds(|round| {
        let name = format!("edge/{round}");
        expired(&r, &name, "old");
        let barrier = Barrier::new(threads);
        let winners: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (r, barrier, name) = (&r, &barrier, &name);
                    s.spawn(move || {
                        let holder = format!("h{t}");
                        barrier.wait();
                        r.acquire_lease(name, &holder, LONG)
                            .unwrap()
                            .then_some(holder)
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {winners:?} were all granted the lease"
        );
        assert_eq!(holders(&r, &name), winners, "round {round}");
    });
}

/// Names and holders of every shape: holders whose names share a prefix (`h1`, `h10`) are
/// different holders for acquire, renew and release; names that share a prefix or hold
/// pattern characters (`%`, `_`, `\`), spaces or non-ASCII letters are distinct, listed by a
/// prefix as strings (never as a pattern), and listings come in byte order of the names.
pub fn names_and_holders_of_every_shape<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    assert!(r.acquire_lease("edge/x", "h10", LONG).unwrap());
    assert!(
        !r.acquire_lease("edge/x", "h1", LONG).unwrap(),
        "h1 is not h10"
    );
    r.release_lease("edge/x", "h1").unwrap();
    assert_eq!(
        holders(&r, "edge/x"),
        ["h10"],
        "a release by h1 freed h10's lease"
    );
    r.release_lease("edge/x", "h").unwrap();
    r.release_lease("edge/x", "h10 ").unwrap();
    assert_eq!(holders(&r, "edge/x"), ["h10"]);

    let names = [
        "edge/b", "edge/a", "edge/a b", "edge/a/1", "edge/A", "edge/ä", "edge/%", "edge/_",
        "edge/\\", "edge/", "edge", "edges/a",
    ];
    for name in names {
        assert!(
            r.acquire_lease(name, "one", LONG).unwrap(),
            "{name:?}: a distinct, free lease"
        );
    }
    let listed = |prefix: &str| -> Vec<String> {
        r.leases(prefix)
            .unwrap()
            .into_iter()
            .map(|l: Lease| l.name)
            .collect()
    };
    for prefix in [
        "", "edge", "edge/", "edge/a", "edge/%", "edge/_", "edge/\\", "edge/ä", "z",
    ] {
        let mut expected: Vec<String> = names
            .iter()
            .chain(["edge/x"].iter())
            .filter(|n| n.starts_with(prefix))
            .map(|n| (*n).to_owned())
            .collect();
        expected.sort();
        assert_eq!(
            listed(prefix),
            expected,
            "leases({prefix:?}): the names that start with it, in byte order"
        );
    }
}
