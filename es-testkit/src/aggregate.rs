//! Properties of [`AggregateRecorder`]s: the Python `AggregateRecorderTestCase`, ported, and a
//! model-based property.

use es_core::{AggregateRecorder, EventQuery, Uuid};

use crate::model::{Target, execute};
use crate::run::run_ops;
use crate::strategies::Level;
use crate::support::{assert_same_list, event};

const REGRESSIONS: &str = "aggregate";

/// Python `test_insert_and_select`: inserts, duplicates (stored, and within one batch) that
/// write nothing, ordered selects with `gt`, `lte`, `desc` and `limit`, and version 0.
pub fn insert_and_select<R: AggregateRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let id1 = Uuid::new_v4();
    assert!(
        r.insert_events(&[]).unwrap().is_empty(),
        "an empty insert returns no ids"
    );
    let last = EventQuery::new().descending().limit(1);
    assert!(
        r.select_events(id1, &last).unwrap().is_empty(),
        "an unknown originator has no events"
    );

    let e1 = event(id1, 1, "topic1");
    r.insert_events(std::slice::from_ref(&e1)).unwrap();
    assert_same_list(
        std::slice::from_ref(&e1),
        &r.select_events(id1, &EventQuery::new()).unwrap(),
        "after the first insert",
    );

    let e2 = event(id1, 2, "topic2");
    let e3 = event(id1, 3, "topic3");
    let again = r.insert_events(std::slice::from_ref(&e1)).unwrap_err();
    assert!(again.is_version_conflict(), "re-inserting e1: {again}");
    let half = r.insert_events(&[e1.clone(), e2.clone()]).unwrap_err();
    assert!(half.is_version_conflict(), "[e1, e2]: {half}");
    let twice = r.insert_events(&[e2.clone(), e2.clone()]).unwrap_err();
    assert!(twice.is_version_conflict(), "[e2, e2]: {twice}");
    for e in [&again, &half, &twice] {
        // One wording on every backend: `Error::version_conflict` or `Error::batch_conflict`.
        assert!(
            e.report()
                .to_string()
                .contains("is already recorded or repeated in the batch"),
            "{}",
            e.report()
        );
    }
    assert_same_list(
        std::slice::from_ref(&e1),
        &r.select_events(id1, &EventQuery::new()).unwrap(),
        "a failed batch stores nothing",
    );

    r.insert_events(&[e2.clone(), e3.clone()]).unwrap();
    let all = r.select_events(id1, &EventQuery::new()).unwrap();
    assert_same_list(&[e1.clone(), e2.clone(), e3.clone()], &all, "all three");
    assert_same_list(
        std::slice::from_ref(&e3),
        &r.select_events(id1, &last).unwrap(),
        "the last (descending, limit 1)",
    );
    let before = EventQuery::new().up_to(2).descending().limit(1);
    assert_same_list(
        std::slice::from_ref(&e2),
        &r.select_events(id1, &before).unwrap(),
        "up to 2, descending, limit 1",
    );
    let between = EventQuery::new().after(1).up_to(2);
    assert_same_list(
        std::slice::from_ref(&e2),
        &r.select_events(id1, &between).unwrap(),
        "after 1, up to 2",
    );
    let desc = EventQuery::new().descending();
    assert_same_list(
        &[e3, e2, e1],
        &r.select_events(id1, &desc).unwrap(),
        "all, descending",
    );
    let empty_range = EventQuery::new().after(3).up_to(1);
    assert!(r.select_events(id1, &empty_range).unwrap().is_empty());

    let id2 = Uuid::new_v4();
    assert!(r.select_events(id2, &EventQuery::new()).unwrap().is_empty());
    let zero = event(id2, 0, "topic1");
    r.insert_events(std::slice::from_ref(&zero)).unwrap();
    assert_same_list(
        &[zero],
        &r.select_events(id2, &EventQuery::new()).unwrap(),
        "version 0",
    );
}

/// Stored events round-trip exactly: empty and binary states, long topics, large versions.
pub fn events_round_trip<R: AggregateRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let id = Uuid::new_v4();
    let events = [
        es_core::StoredEvent::new(id, 1, "Empty.State", Vec::new()),
        es_core::StoredEvent::new(id, 2, "Binary.State", (0..=255_u8).collect::<Vec<_>>()),
        es_core::StoredEvent::new(id, 3, "Ünïcode.Tópic 🐈", b"{}".to_vec()),
        es_core::StoredEvent::new(id, i64::MAX.unsigned_abs(), "Max.Version", b"x".to_vec()),
    ];
    r.insert_events(&events).unwrap();
    assert_same_list(
        &events,
        &r.select_events(id, &EventQuery::new()).unwrap(),
        "every event as inserted",
    );
}

/// Random sequences of batches and selects agree with the model, error kinds included.
pub fn model_based<R: AggregateRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Aggregate, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Aggregate(&r), ops, false)
    });
}
