//! The Python library's DCB recorder test case (`eventsourcing/dcb/tests.py`,
//! `_test_append_read` and `_test_append_subscribe`), step by step, from an empty log and from
//! one that already holds events of other types and tags.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder, Position,
};

use crate::support::{Watchdog, deadline};

use super::{next_positions, positions};

fn ev(t: &str, data: &str, tags: &[&str]) -> DcbEvent {
    DcbEvent::new(t, data.as_bytes().to_vec()).tagged(tags.iter().copied())
}

fn types(t: &[&str]) -> DcbQueryItem {
    DcbQueryItem::types(t.iter().copied())
}

fn tags(t: &[&str]) -> DcbQueryItem {
    DcbQueryItem::tags(t.iter().copied())
}

fn q(items: Vec<DcbQueryItem>) -> DcbQuery {
    DcbQuery::items(items)
}

/// Appends `n` events no query of the port matches, so that the port starts at `n`.
fn preload<R: DcbRecorder>(r: &R, n: u64) -> Position {
    let mut last = 0;
    for k in 0..n {
        last = r
            .append(&[ev("preloaded", &format!("p{k}"), &["other"])], None)
            .unwrap();
    }
    last
}

/// `_test_append_read` from an empty log.
pub fn append_read<R: DcbRecorder>(make: &dyn Fn() -> R) {
    append_read_from(&make(), 0);
}

/// `_test_append_read` with `initial_position` 3: the log already holds three events.
pub fn append_read_after_other_events<R: DcbRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let i = preload(&r, 3);
    append_read_from(&r, i);
}

#[track_caller]
fn check(
    r: &impl DcbRecorder,
    query: &DcbQuery,
    after: Option<Position>,
    limit: Option<usize>,
    want: &[Position],
    head: Option<Position>,
    what: &str,
) {
    let read = r.read(query, after, limit).unwrap();
    assert_eq!(positions(&read.events), want, "{what}: positions");
    assert_eq!(read.head, head, "{what}: head");
}

#[track_caller]
fn refused(r: &impl DcbRecorder, condition: DcbAppendCondition, what: &str) {
    match r.append(&[ev("type4", "data4", &[])], Some(&condition)) {
        Err(e) if e.is_append_condition_failed() => {}
        Err(e) => panic!("{what}: refused with the wrong error: {e}"),
        Ok(p) => panic!("{what}: accepted at {p}, although a stored event matches"),
    }
}

#[track_caller]
fn accepted(
    r: &impl DcbRecorder,
    condition: Option<DcbAppendCondition>,
    want: Position,
    what: &str,
) {
    match r.append(&[ev("type4", "data4", &[])], condition.as_ref()) {
        Ok(p) => assert_eq!(p, want, "{what}: position"),
        Err(e) => panic!("{what}: refused: {e}"),
    }
}

#[allow(clippy::too_many_lines)] // The port follows the Python test step by step.
fn append_read_from<R: DcbRecorder>(r: &R, i: Position) {
    let all = DcbQuery::all();
    let at = |n: Position| n + i;
    let initial: Vec<Position> = (1..=i).collect();
    let head0 = (i > 0).then_some(i);
    // 1. The log as it starts.
    check(r, &all, None, None, &initial, head0, "1. read()");
    assert_eq!(r.head().unwrap(), head0, "1. head()");

    // 2. One event.
    let e1 = ev("type1", "data1", &["tagX"]);
    assert_eq!(
        r.append(std::slice::from_ref(&e1), None).unwrap(),
        at(1),
        "2. append e1"
    );

    // 3. Reads after one event.
    let read = r.read(&all, Some(i), None).unwrap();
    assert_eq!(positions(&read.events), [at(1)], "3. read(after=initial)");
    assert_eq!(
        read.events[0].event, e1,
        "3. the event reads back as appended"
    );
    assert_eq!(read.head, Some(at(1)), "3. head");
    check(
        r,
        &all,
        Some(at(1)),
        None,
        &[],
        Some(at(1)),
        "3. read(after=1)",
    );
    check(
        r,
        &all,
        Some(i),
        Some(1),
        &[at(1)],
        Some(at(1)),
        "3. read(after=initial, limit=1)",
    );
    check(r, &all, None, Some(0), &[], None, "3. read(limit=0)");

    // 4. Single-criterion reads.
    let h = Some(at(1));
    for (query, want, what) in [
        (q(vec![types(&["type1"])]), vec![at(1)], "4. type1"),
        (q(vec![types(&["type2"])]), vec![], "4. type2"),
        (q(vec![tags(&["tagX"])]), vec![at(1)], "4. tagX"),
        (q(vec![tags(&["tagY"])]), vec![], "4. tagY"),
        (
            q(vec![types(&["type1"]).and_tags(["tagX"])]),
            vec![at(1)],
            "4. type1 and tagX",
        ),
        (
            q(vec![types(&["type1"]).and_tags(["tagY"])]),
            vec![],
            "4. type1 and tagY",
        ),
        (
            q(vec![types(&["type2"]).and_tags(["tagX"])]),
            vec![],
            "4. type2 and tagX",
        ),
    ] {
        check(r, &query, None, None, &want, h, what);
    }

    // 5. Two more events in one append.
    let e2 = ev("type2", "data2", &["tagA", "tagB"]);
    let e3 = ev("type3", "data3", &["tagA", "tagC"]);
    assert_eq!(
        r.append(&[e2.clone(), e3.clone()], None).unwrap(),
        at(3),
        "5. append e2, e3"
    );

    // 6. Reads after three events.
    let h = Some(at(3));
    let read = r.read(&all, Some(i), None).unwrap();
    assert_eq!(
        positions(&read.events),
        [at(1), at(2), at(3)],
        "6. read(after=initial)"
    );
    let got: Vec<&DcbEvent> = read.events.iter().map(|e| &e.event).collect();
    assert_eq!(got, [&e1, &e2, &e3], "6. the events read back as appended");
    check(r, &all, Some(at(1)), None, &[at(2), at(3)], h, "6. after 1");
    check(r, &all, Some(at(2)), None, &[at(3)], h, "6. after 2");
    check(
        r,
        &all,
        Some(at(1)),
        Some(1),
        &[at(2)],
        Some(at(2)),
        "6. after 1, limit 1",
    );
    let b_or_c = q(vec![
        types(&["type2"]).and_tags(["tagB"]),
        types(&["type3"]).and_tags(["tagC"]),
    ]);
    let c_or_b = q(vec![
        types(&["type3"]).and_tags(["tagC"]),
        types(&["type2"]).and_tags(["tagB"]),
    ]);
    for (query, after, want, what) in [
        (
            q(vec![types(&["type1"])]),
            Some(at(1)),
            vec![],
            "6. type1 after 1",
        ),
        (
            q(vec![tags(&["tagX"])]),
            Some(at(1)),
            vec![],
            "6. tagX after 1",
        ),
        (
            q(vec![types(&["type1"]).and_tags(["tagX"])]),
            Some(at(1)),
            vec![],
            "6. type1 and tagX after 1",
        ),
        (
            q(vec![tags(&["tagA"])]),
            None,
            vec![at(2), at(3)],
            "6. tagA",
        ),
        (
            q(vec![tags(&["tagA", "tagB"])]),
            None,
            vec![at(2)],
            "6. tagA and tagB",
        ),
        (
            q(vec![tags(&["tagB"]), tags(&["tagC"])]),
            None,
            vec![at(2), at(3)],
            "6. tagB or tagC",
        ),
        (
            q(vec![tags(&["tagX"]), tags(&["tagY"])]),
            None,
            vec![at(1)],
            "6. tagX or tagY",
        ),
        (
            q(vec![types(&["type2"]).and_tags(["tagA"])]),
            None,
            vec![at(2)],
            "6. type2 and tagA",
        ),
        (
            q(vec![types(&["type2"]).and_tags(["tagA"])]),
            Some(at(2)),
            vec![],
            "6. type2 and tagA after 2",
        ),
        (
            b_or_c.clone(),
            None,
            vec![at(2), at(3)],
            "6. (type2 and tagB) or (type3 and tagC)",
        ),
        (
            c_or_b,
            None,
            vec![at(2), at(3)],
            "6. the same items reversed, still ascending",
        ),
    ] {
        check(r, &query, after, None, &want, h, what);
    }

    // 7. Twelve refused appends.
    let cond = |items: Vec<DcbQueryItem>, after: Option<Position>| {
        DcbAppendCondition::new(q(items)).after(after)
    };
    refused(r, DcbAppendCondition::default(), "7. default condition");
    refused(
        r,
        DcbAppendCondition::default().after(Some(at(1))),
        "7. after 1",
    );
    refused(r, cond(vec![types(&["type1"])], None), "7. type1");
    refused(
        r,
        cond(vec![types(&["type2"])], Some(at(1))),
        "7. type2 after 1",
    );
    refused(r, cond(vec![tags(&["tagX"])], None), "7. tagX");
    refused(
        r,
        cond(vec![tags(&["tagA"])], Some(at(1))),
        "7. tagA after 1",
    );
    refused(
        r,
        cond(vec![types(&["type1"]).and_tags(["tagX"])], None),
        "7. type1 and tagX",
    );
    refused(
        r,
        cond(vec![types(&["type2"]).and_tags(["tagA"])], Some(at(1))),
        "7. type2 and tagA after 1",
    );
    refused(
        r,
        cond(vec![tags(&["tagA", "tagB"])], None),
        "7. tagA and tagB",
    );
    refused(
        r,
        cond(vec![tags(&["tagB"]), tags(&["tagC"])], None),
        "7. tagB or tagC",
    );
    refused(
        r,
        cond(vec![tags(&["tagX"]), tags(&["tagY"])], None),
        "7. tagX or tagY",
    );
    refused(
        r,
        DcbAppendCondition::new(b_or_c).after(None),
        "7. (type2 and tagB) or (type3 and tagC)",
    );
    assert_eq!(
        r.head().unwrap(),
        Some(at(3)),
        "7. refused appends write nothing"
    );

    // 8. Seven accepted appends.
    accepted(r, None, at(4), "8. unconditional");
    accepted(
        r,
        Some(cond(vec![types(&["typeN"])], None)),
        at(5),
        "8. typeN",
    );
    accepted(r, Some(cond(vec![tags(&["tagY"])], None)), at(6), "8. tagY");
    accepted(
        r,
        Some(cond(vec![types(&["type1"])], Some(at(1)))),
        at(7),
        "8. type1 after 1",
    );
    accepted(
        r,
        Some(cond(vec![tags(&["tagX"])], Some(at(1)))),
        at(8),
        "8. tagX after 1",
    );
    accepted(
        r,
        Some(cond(
            vec![types(&["type1"]).and_tags(["tagX"])],
            Some(at(1)),
        )),
        at(9),
        "8. type1 and tagX after 1",
    );
    accepted(
        r,
        Some(cond(vec![tags(&["tagX"])], Some(at(1)))),
        at(10),
        "8. tagX after 1 again",
    );

    // 9. The course-subscription scenario.
    let (sid, cid) = ("student1", "course1");
    let registered = ev("StudentRegistered", "{\"name\":\"Max\"}", &[sid]);
    let course = ev("CourseRegistered", "{\"places\":10}", &[cid]);
    let joined = ev("StudentJoinedCourse", "{}", &[cid, sid]);
    for (event, own, want) in [
        (&registered, vec![sid], at(11)),
        (&course, vec![cid], at(12)),
        (&joined, vec![cid, sid], at(13)),
    ] {
        let c = DcbAppendCondition::new(tags(&own)).after(Some(at(3)));
        assert_eq!(
            r.append(std::slice::from_ref(event), Some(&c)).unwrap(),
            want,
            "9. append {}",
            event.r#type
        );
    }
    let read = r.read(&all, Some(i), None).unwrap();
    assert_eq!(
        read.events.len(),
        13,
        "9. thirteen events after the initial ones"
    );
    let last: Vec<&DcbEvent> = read.events[10..].iter().map(|e| &e.event).collect();
    assert_eq!(
        last,
        [&registered, &course, &joined],
        "9. the last three as appended"
    );
    assert_eq!(read.head, Some(at(13)), "9. head");
    let h = Some(at(13));
    for after in [Some(i), Some(at(2))] {
        check(
            r,
            &q(vec![tags(&[sid])]),
            after,
            None,
            &[at(11), at(13)],
            h,
            "9. by student",
        );
        check(
            r,
            &q(vec![tags(&[cid])]),
            after,
            None,
            &[at(12), at(13)],
            h,
            "9. by course",
        );
        check(
            r,
            &q(vec![tags(&[sid, cid])]),
            after,
            None,
            &[at(13)],
            h,
            "9. by both",
        );
        check(
            r,
            &q(vec![tags(&[sid])]),
            after,
            Some(1),
            &[at(11)],
            Some(at(11)),
            "9. by student, limit 1",
        );
        check(
            r,
            &q(vec![tags(&[cid])]),
            after,
            Some(1),
            &[at(12)],
            Some(at(12)),
            "9. by course, limit 1",
        );
        check(
            r,
            &q(vec![tags(&[sid, cid])]),
            after,
            Some(1),
            &[at(13)],
            Some(at(13)),
            "9. by both, limit 1",
        );
    }
    let boundary = q(vec![
        types(&["StudentRegistered", "StudentJoinedCourse"]).and_tags([sid]),
        types(&["CourseRegistered", "StudentJoinedCourse"]).and_tags([cid]),
    ]);
    check(
        r,
        &boundary,
        None,
        None,
        &[at(11), at(12), at(13)],
        h,
        "9. the consistency boundary",
    );
}

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
