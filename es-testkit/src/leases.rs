//! Properties of [`LeaseRecorder`]s: at most one holder, renewal, expiry, release by the holder
//! only, and one winner among racing acquirers.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use es_core::{Lease, LeaseRecorder};

/// Long enough never to run out during a test.
const LONG: Duration = Duration::from_secs(600);

fn lease(name: &str, holder: &str) -> Lease {
    Lease {
        name: name.to_owned(),
        holder: holder.to_owned(),
    }
}

/// One holder at a time; the holder renews; another's release changes nothing; the holder's
/// release frees the lease at once; `leases` lists live leases by prefix, by name.
pub fn one_holder_renews_and_releases<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    assert!(
        r.acquire_lease("edge/a", "one", LONG).unwrap(),
        "a free lease"
    );
    assert!(
        !r.acquire_lease("edge/a", "two", LONG).unwrap(),
        "held by another holder"
    );
    assert!(r.acquire_lease("edge/a", "one", LONG).unwrap(), "renewed");
    assert!(
        r.acquire_lease("edge/b", "two", LONG).unwrap(),
        "another name"
    );
    assert!(r.acquire_lease("member/two", "two", LONG).unwrap());
    assert_eq!(
        r.leases("edge/").unwrap(),
        [lease("edge/a", "one"), lease("edge/b", "two")]
    );
    assert_eq!(r.leases("member/").unwrap(), [lease("member/two", "two")]);
    assert_eq!(r.leases("edge/_").unwrap(), [], "a prefix is not a pattern");

    r.release_lease("edge/a", "two").unwrap();
    assert!(
        !r.acquire_lease("edge/a", "two", LONG).unwrap(),
        "released by a holder that does not hold it: still held"
    );
    r.release_lease("edge/a", "one").unwrap();
    assert!(
        r.acquire_lease("edge/a", "two", LONG).unwrap(),
        "released by its holder: free at once"
    );
    assert!(!r.acquire_lease("edge/a", "one", LONG).unwrap());
    r.release_lease("edge/absent", "one").unwrap();
}

/// A lease that is not renewed within its time to live is free for another holder, and its
/// former holder's renewal then fails; a renewed lease outlives its first time to live.
pub fn an_expired_lease_is_free_for_another<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let ttl = Duration::from_millis(400);
    let started = Instant::now();
    assert!(r.acquire_lease("edge", "one", ttl).unwrap());
    assert!(r.acquire_lease("renewed", "one", ttl).unwrap());
    std::thread::sleep(Duration::from_millis(250));
    assert!(r.acquire_lease("renewed", "one", ttl).unwrap());
    std::thread::sleep(Duration::from_millis(250));
    // 500 ms after the first grant, 250 ms after the renewal.
    if started.elapsed() < Duration::from_millis(640) {
        assert!(
            !r.acquire_lease("renewed", "two", LONG).unwrap(),
            "a renewal extends the lease"
        );
    }
    assert!(
        r.acquire_lease("edge", "two", LONG).unwrap(),
        "not renewed within its time to live: free"
    );
    assert!(
        !r.acquire_lease("edge", "one", ttl).unwrap(),
        "its former holder lost it"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while r.leases("renewed").unwrap() == [lease("renewed", "one")] {
        assert!(Instant::now() < deadline, "a lease that never expires");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(r.leases("").unwrap(), [lease("edge", "two")]);
}

/// Holders racing for a free (or expired) lease from several threads: exactly one wins each
/// round.
pub fn racing_acquirers_one_winner<R: LeaseRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let threads = 6;
    for round in 0..20 {
        let name = format!("edge/{round}");
        // Odd rounds race for a lease that has just expired.
        if round % 2 == 1 {
            assert!(
                r.acquire_lease(&name, "old", Duration::from_millis(1))
                    .unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let barrier = Barrier::new(threads);
        let wins: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (r, barrier, name) = (&r, &barrier, &name);
                    s.spawn(move || {
                        barrier.wait();
                        usize::from(r.acquire_lease(name, &format!("h{t}"), LONG).unwrap())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(wins, 1, "round {round}: holders granted the same lease");
    }
}
