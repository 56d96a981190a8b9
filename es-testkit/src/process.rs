//! Properties of [`ProcessRecorder`]s: the Python `ProcessRecorderTestCase`, ported, and a
//! model-based property mixing events, tracking and both together.

use es_core::{EventQuery, ProcessRecorder, Tracking, Uuid};

use crate::model::{Target, execute};
use crate::run::run_ops;
use crate::strategies::Level;
use crate::support::{assert_same_list, event};
use crate::tracking::upstream;

const REGRESSIONS: &str = "process";

/// Python `test_insert_select`: events and tracking commit together; a version conflict rolls the
/// tracking record back, a tracking conflict rolls the events back.
pub fn insert_select<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let up = upstream("upstream_app");
    assert_eq!(r.max_tracking_id(&up).unwrap(), None);
    let id = Uuid::new_v4();
    let (e1, e2, e3, e4) = (
        event(id, 1, "t"),
        event(id, 2, "t"),
        event(id, 3, "t"),
        event(id, 4, "t"),
    );
    let t1 = Tracking::new(up.clone(), 1);
    let t2 = Tracking::new(up.clone(), 2);
    let ids = r
        .insert_events_with_tracking(&[e1.clone(), e2.clone()], &t1)
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(1));

    let e = r
        .insert_events_with_tracking(std::slice::from_ref(&e2), &t2)
        .unwrap_err();
    assert!(e.is_version_conflict(), "{e}");
    assert_eq!(
        r.max_tracking_id(&up).unwrap(),
        Some(1),
        "tracking rolled back"
    );

    let e = r
        .insert_events_with_tracking(std::slice::from_ref(&e3), &t1)
        .unwrap_err();
    assert!(e.is_tracking_conflict(), "{e}");
    let stored = r.select_events(id, &EventQuery::new()).unwrap();
    assert_same_list(&[e1.clone(), e2.clone()], &stored, "events rolled back");

    r.insert_events_with_tracking(std::slice::from_ref(&e3), &t2)
        .unwrap();
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(2));
    r.insert_events(std::slice::from_ref(&e4)).unwrap();
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(2));
    let stored = r.select_events(id, &EventQuery::new()).unwrap();
    assert_same_list(
        &[e1, e2, e3, e4],
        &stored,
        "events with and without tracking",
    );
}

/// Python `test_has_tracking_id`: tracking without events ("processed, nothing produced").
pub fn has_tracking_id<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let up = upstream("upstream_app");
    let before = r.max_notification_id().unwrap();
    for n in 1..=4 {
        assert!(!r.has_tracking_id(&up, n).unwrap());
    }
    assert!(
        r.insert_events_with_tracking(&[], &Tracking::new(up.clone(), 1))
            .unwrap()
            .is_empty()
    );
    assert!(r.has_tracking_id(&up, 1).unwrap());
    assert!(!r.has_tracking_id(&up, 2).unwrap());
    r.insert_events_with_tracking(&[], &Tracking::new(up.clone(), 3))
        .unwrap();
    for (n, want) in [(1, true), (2, true), (3, true), (4, false)] {
        assert_eq!(r.has_tracking_id(&up, n).unwrap(), want, "{n}");
    }
    assert_eq!(
        r.max_notification_id().unwrap(),
        before,
        "no events recorded"
    );
}

/// Python `test_raises_when_lower_inserted_later`.
pub fn raises_when_lower_inserted_later<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let up = upstream("upstream_app");
    r.insert_events_with_tracking(&[], &Tracking::new(up.clone(), 2))
        .unwrap();
    let e = r
        .insert_events_with_tracking(&[], &Tracking::new(up.clone(), 1))
        .unwrap_err();
    assert!(e.is_tracking_conflict(), "{e}");
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(2));
}

/// A tracking record of a batch (notifications 4 to 6 processed in one transaction)
/// conflicts when the stored position is at or above its first notification, however far
/// its last one is, and then writes nothing; it records the last one otherwise. Without this,
/// a batch of one instance overlapping what another instance tracked would process those
/// notifications twice.
pub fn batch_tracking_covers_its_first_notification<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let up = upstream("upstream_app");
    r.insert_events_with_tracking(&[], &Tracking::new(up.clone(), 4))
        .unwrap();
    let id = Uuid::new_v4();
    let e = r
        .insert_events_with_tracking(&[event(id, 1, "t")], &Tracking::batch(up.clone(), 4, 6))
        .unwrap_err();
    assert!(e.is_tracking_conflict(), "a batch from 4 after 4: {e}");
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(4));
    assert!(r.select_events(id, &EventQuery::new()).unwrap().is_empty());
    r.insert_events_with_tracking(&[event(id, 1, "t")], &Tracking::batch(up.clone(), 5, 7))
        .unwrap();
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(7));
    let e = r
        .insert_tracking(&Tracking::batch(up.clone(), 7, 9))
        .unwrap_err();
    assert!(e.is_tracking_conflict(), "a batch from 7 after 7: {e}");
    r.insert_tracking(&Tracking::batch(up.clone(), 8, 9))
        .unwrap();
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(9));
}

/// Random sequences of plain inserts, process inserts, tracking records and reads agree with the
/// model: a conflict of either kind writes nothing.
pub fn model_based<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Process, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Process(&r), ops, false)
    });
}

/// As [`model_based`], for gap-free backends.
pub fn model_based_gap_free<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Process, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Process(&r), ops, true)
    });
}
