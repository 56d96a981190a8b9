//! DCB with the Python library on one PostgreSQL schema: its `eventsourcing.dcb.postgres_tt`
//! and this library's `PostgresDcbRecorder` on the same `dcbapplication_events_tt_*` tables,
//! each created first by one side.

use eventsourcing::dcb::{DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder};
use eventsourcing::postgres::PostgresDcbRecorder;
use serde_json::{Value, json};

use super::Store;

/// Python's DCB module.
const TT: &str = "eventsourcing.dcb.postgres_tt";

/// The Python application's name, lowercased: its tables' prefix.
const APP: &str = "dcbapplication";

fn rust_view(r: &PostgresDcbRecorder) -> Value {
    let read = r.read(&DcbQuery::all(), None, None).unwrap();
    let events: Vec<Value> = read
        .events
        .iter()
        .map(|e| {
            let hex: String = e.event.data.iter().map(|b| format!("{b:02x}")).collect();
            json!({"position": e.position, "type": e.event.r#type, "data": hex, "tags": e.event.tags})
        })
        .collect();
    Value::Array(events)
}

fn joined(tag: &str) -> DcbEvent {
    DcbEvent::new("Joined", Vec::new()).tagged([tag])
}

#[test]
fn rust_reads_and_decides_over_what_python_appended() {
    let Some(store) = Store::new("py_dcb") else {
        return;
    };
    store
        .admin()
        .batch_execute(&format!("CREATE SCHEMA \"{}\"", store.schema))
        .unwrap();
    assert_eq!(
        store.script("dcb_mixed.py", TT, &["write"]),
        json!([1, 2, 3])
    );
    let r = PostgresDcbRecorder::new(&store.config, APP).unwrap();
    assert_eq!(
        rust_view(&r),
        store.script("dcb_mixed.py", TT, &["read"]),
        "the same events"
    );
    let course =
        DcbQuery::from(DcbQueryItem::types(["StudentJoinedCourse"]).and_tags(["course-1"]));
    let refused = r
        .append(
            &[joined("course-1")],
            Some(&DcbAppendCondition::new(course).after(Some(2))),
        )
        .unwrap_err();
    assert!(
        refused.is_append_condition_failed(),
        "Python's joining counts: {refused}"
    );
    let p = r
        .append(
            &[joined("student-2")],
            Some(&DcbAppendCondition::new(DcbQueryItem::tags(["student-2"]))),
        )
        .unwrap();
    assert_eq!(p, 4);
    assert_eq!(
        store.script("dcb_mixed.py", TT, &["join", "student-2", "3"]),
        json!("refused"),
        "Python sees Rust's event"
    );
    assert_eq!(
        store.script("dcb_mixed.py", TT, &["join", "student-3", "4"]),
        json!(5)
    );
    assert_eq!(rust_view(&r), store.script("dcb_mixed.py", TT, &["read"]));
    drop(r);
    store.drop();
}

#[test]
fn python_reads_and_decides_over_what_rust_appended() {
    let Some(store) = Store::new("rs_dcb") else {
        return;
    };
    let r = PostgresDcbRecorder::new(&store.config, APP).unwrap();
    r.append(&[joined("student-1"), joined("student-2")], None)
        .unwrap();
    // Python opens the tables Rust created (and adds its types and functions).
    assert_eq!(
        store.script("dcb_mixed.py", TT, &["join", "student-1", "0"]),
        json!("refused")
    );
    assert_eq!(
        store.script("dcb_mixed.py", TT, &["join", "student-3", "2"]),
        json!(3)
    );
    assert_eq!(rust_view(&r), store.script("dcb_mixed.py", TT, &["read"]));
    let read = r
        .read(&DcbQueryItem::tags(["student-3"]).into(), None, None)
        .unwrap();
    assert_eq!(read.events.len(), 1, "Rust reads Python's tags");
    drop(r);
    store.drop();
}
