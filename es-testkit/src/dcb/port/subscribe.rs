//! `_test_append_subscribe`, and the refusal of an empty append.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use es_core::persistence::dcb::{DcbEvent, DcbQuery, DcbRecorder, Position};

use super::{ev, preload, q, types};
use crate::dcb::next_positions;
use crate::support::{Watchdog, deadline};

/// `_test_append_subscribe`, with the tt recorder's extras: a subscription yields what is
/// stored after its position, blocks while nothing is appended, yields a later append, reads
/// more than one batch, keeps to its query, and ends when stopped (also before its first
/// `next`).
pub fn append_subscribe<R: DcbRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let i = preload(&r, 2);
    assert_eq!(r.append(&[ev("type1", "d1", &["t"])], None).unwrap(), i + 1);
    let mut sub = r.subscribe(&DcbQuery::all(), Some(i)).unwrap();
    assert_eq!(next_positions(&mut sub, 1, "the stored event"), [i + 1]);
    let (tx, rx) = mpsc::channel();
    let handle = sub.stop_handle();
    let waiter = thread::spawn(move || {
        let _watchdog = Watchdog::new(sub.stop_handle());
        let got = sub.next().map(|e| e.map(|e| e.position));
        let _ = tx.send(got);
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "the subscription yields nothing while nothing is appended"
    );
    let p = r.append(&[ev("type2", "d2", &[])], None).unwrap();
    match rx.recv_timeout(deadline()) {
        Ok(Some(Ok(got))) => assert_eq!(got, p, "the later append"),
        Ok(other) => panic!("waiting for position {p}, the subscription gave {other:?}"),
        Err(_) => panic!(
            "the subscription did not yield position {p} within {:?}",
            deadline()
        ),
    }
    handle.stop();
    waiter.join().unwrap();

    // More than one batch, and only what the query matches.
    let events: Vec<DcbEvent> = (0..10)
        .map(|k| ev(if k % 2 == 0 { "even" } else { "odd" }, "d", &["many"]))
        .collect();
    let last = r.append(&events, None).unwrap();
    let evens: Vec<Position> = (0..10u64)
        .filter(|k| k % 2 == 0)
        .map(|k| last - 9 + k)
        .collect();
    let mut sub = r
        .subscribe(&q(vec![types(&["even"]).and_tags(["many"])]), Some(p))
        .unwrap();
    assert_eq!(
        next_positions(&mut sub, 5, "the even events"),
        evens,
        "only what the query matches"
    );
    sub.stop();
    assert!(sub.next().is_none(), "stop ends the iteration");
    let sub = r.subscribe(&DcbQuery::all(), None).unwrap();
    sub.stop();
    assert_eq!(sub.count(), 0, "stopped before iterating yields nothing");
}

/// Python's in-memory recorder refuses an append of no events (`ProgrammingError`); ours does
/// on every backend, and writes nothing.
pub fn an_empty_append_is_refused<R: DcbRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let err = r.append(&[], None).expect_err("no events");
    assert!(matches!(err, es_core::Error::Programming { .. }), "{err}");
    assert_eq!(r.head().unwrap(), None);
}
