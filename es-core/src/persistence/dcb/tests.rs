use super::*;

fn event(t: &str, tags: &[&str]) -> DcbEvent {
    DcbEvent::new(t, b"x".to_vec()).tagged(tags.iter().copied())
}

#[test]
fn an_item_matches_one_of_its_types_and_all_of_its_tags() {
    let e = event("A", &["x", "y"]);
    assert!(DcbQueryItem::default().matches(&e));
    assert!(DcbQueryItem::types(["B", "A"]).matches(&e));
    assert!(!DcbQueryItem::types(["B"]).matches(&e));
    assert!(DcbQueryItem::tags(["y", "x"]).matches(&e));
    assert!(!DcbQueryItem::tags(["x", "z"]).matches(&e));
    assert!(DcbQueryItem::types(["A"]).and_tags(["x"]).matches(&e));
    assert!(!DcbQueryItem::types(["B"]).and_tags(["x"]).matches(&e));
}

#[test]
fn a_query_ors_its_items_and_matches_all_when_empty() {
    let e = event("A", &["x"]);
    assert!(DcbQuery::all().matches(&e));
    assert!(DcbQuery::all().matches_all());
    let q = DcbQuery::items([DcbQueryItem::types(["B"]), DcbQueryItem::tags(["x"])]);
    assert!(q.matches(&e));
    assert!(!q.matches_all());
    assert!(!DcbQuery::from(DcbQueryItem::tags(["z"])).matches(&e));
    assert!(DcbQuery::items([DcbQueryItem::tags(["z"]), DcbQueryItem::default()]).matches_all());
}

#[test]
fn a_default_condition_fails_on_anything_after_its_position() {
    let c = DcbAppendCondition::default();
    assert!(c.fail_if_events_match.matches(&event("A", &[])));
    assert_eq!(c.after, None);
    let c = DcbAppendCondition::new(DcbQueryItem::tags(["x"])).after(Some(3));
    assert_eq!(c.after, Some(3));
    assert_eq!(c.fail_if_events_match.items.len(), 1);
}

#[test]
fn an_events_debug_shows_no_data() {
    let e = event("A", &["x"]);
    let e = DcbEvent {
        data: b"secret 4111".to_vec(),
        ..e
    };
    let shown = format!("{e:?}");
    assert!(
        shown.contains("<11 bytes, fnv ") && !shown.contains("4111"),
        "{shown}"
    );
}
