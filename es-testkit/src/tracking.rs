//! Properties of [`TrackingRecorder`]s: the Python `TrackingRecorderTestCase` (including
//! `wait`), ported, and a model-based property.

use std::thread;
use std::time::Duration;

use es_core::{Error, StopHandle, TimeoutKind, Tracking, TrackingRecorder, Uuid};

use crate::model::{Target, execute};
use crate::run::run_ops;
use crate::strategies::Level;
use crate::support::deadline;

const REGRESSIONS: &str = "tracking";

/// A fresh upstream application name, so properties never collide in a shared store.
pub(crate) fn upstream(label: &str) -> String {
    format!("{label}_{}", Uuid::new_v4().simple())
}

/// Python `test_insert_tracking`: records, duplicates rejected, `max_tracking_id`, the
/// `has_tracking_id` truth table, and no filling in a gap below the maximum.
pub fn insert_tracking<R: TrackingRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let (up1, up2, up3) = (upstream("up1"), upstream("up2"), upstream("up3"));
    let t1 = Tracking::new(up1.clone(), 21);
    let t2 = Tracking::new(up1.clone(), 22);
    let t3 = Tracking::new(up2.clone(), 21);
    r.insert_tracking(&t1).unwrap();
    assert!(r.insert_tracking(&t1).unwrap_err().is_tracking_conflict());
    r.insert_tracking(&t2).unwrap();
    for t in [&t1, &t2] {
        let e = r.insert_tracking(t).unwrap_err();
        assert!(e.is_tracking_conflict() && e.is_integrity(), "{t:?}: {e}");
    }
    r.insert_tracking(&t3).unwrap();
    assert!(r.insert_tracking(&t3).unwrap_err().is_tracking_conflict());

    assert_eq!(r.max_tracking_id(&up1).unwrap(), Some(22));
    assert_eq!(r.max_tracking_id(&up2).unwrap(), Some(21));
    assert_eq!(r.max_tracking_id(&up3).unwrap(), None);

    for (name, id, want) in [
        (&up1, 21, true),
        (&up1, 22, true),
        (&up1, 23, false),
        (&up2, 20, true),
        (&up2, 21, true),
        (&up2, 22, false),
        (&up3, 1, false),
    ] {
        assert_eq!(r.has_tracking_id(name, id).unwrap(), want, "{name} {id}");
    }

    r.insert_tracking(&Tracking::new(up1.clone(), 24)).unwrap();
    let gap = r
        .insert_tracking(&Tracking::new(up1.clone(), 23))
        .unwrap_err();
    assert!(gap.is_tracking_conflict(), "can't fill in the gap: {gap}");
    assert!(
        r.has_tracking_id(&up1, 23).unwrap(),
        "processed up to 24 covers 23"
    );
    assert_eq!(r.max_tracking_id(&up1).unwrap(), Some(24));
}

fn is_wait_timeout(e: &Error) -> bool {
    matches!(
        e,
        Error::Timeout {
            kind: TimeoutKind::Wait,
            ..
        }
    )
}

/// Python `test_wait`: times out before the record, returns once it is there (for lower ids
/// too), is interrupted by a stopped handle, and is woken by a record made by another thread.
pub fn wait<R: TrackingRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let up = upstream("upstream");
    let short = Duration::from_millis(100);
    let e = r.wait(&up, 21, short, None).unwrap_err();
    assert!(is_wait_timeout(&e), "{e}");
    r.insert_tracking(&Tracking::new(up.clone(), 21)).unwrap();
    r.wait(&up, 10, short, None).unwrap();
    r.wait(&up, 21, short, None).unwrap();
    let e = r.wait(&up, 22, short, None).unwrap_err();
    assert!(is_wait_timeout(&e), "{e}");
    let interrupt = StopHandle::new();
    interrupt.stop();
    let e = r.wait(&up, 22, deadline(), Some(&interrupt)).unwrap_err();
    assert!(matches!(e, Error::WaitInterrupted), "{e}");

    thread::scope(|s| {
        let waiter = s.spawn(|| r.wait(&up, 22, deadline(), None));
        thread::sleep(Duration::from_millis(20));
        r.insert_tracking(&Tracking::new(up.clone(), 22)).unwrap();
        waiter.join().unwrap().unwrap();
    });
    let interrupt = StopHandle::new();
    thread::scope(|s| {
        let waiter = s.spawn(|| r.wait(&up, 99, deadline(), Some(&interrupt)));
        thread::sleep(Duration::from_millis(20));
        interrupt.stop();
        let e = waiter.join().unwrap().unwrap_err();
        assert!(matches!(e, Error::WaitInterrupted), "{e}");
    });
}

/// Random sequences of tracking records and reads agree with the model.
pub fn model_based<R: TrackingRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Tracking, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Tracking(&r), ops, false)
    });
}
