//! The Python library's DCB recorder test case (`eventsourcing/dcb/tests.py`,
//! `_test_append_read` and `_test_append_subscribe`), step by step, from an empty log and from
//! one that already holds events of other types and tags.

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder, Position,
};

use super::positions;

mod decisions;
mod subscribe;

pub use subscribe::{an_empty_append_is_refused, append_subscribe};

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
    decisions::steps_7_to_9(r, i);
}
