//! Steps 7 to 9 of `_test_append_read`: refused and accepted appends, and the
//! course-subscription scenario.

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder, Position,
};

use super::{accepted, check, ev, q, refused, tags, types};

#[allow(clippy::too_many_lines)] // The port follows the Python test step by step.
pub(super) fn steps_7_to_9<R: DcbRecorder>(r: &R, i: Position) {
    let all = DcbQuery::all();
    let at = |n: Position| n + i;
    let b_or_c = q(vec![
        types(&["type2"]).and_tags(["tagB"]),
        types(&["type3"]).and_tags(["tagC"]),
    ]);
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
