//! Small helpers shared by the properties.

use std::time::{Duration, Instant};

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, Notification, NotificationQuery, StoredEvent,
    TimeoutKind, Uuid,
};

/// An event of `originator_id` at `version` with `topic` and a state naming both.
pub fn event(originator_id: Uuid, version: u64, topic: &str) -> StoredEvent {
    let state = format!("{{\"v\":{version},\"id\":\"{originator_id}\"}}");
    StoredEvent::new(originator_id, version, topic, state.into_bytes())
}

/// Inserts one event through `recorder`, which must fail with [`Error::Timeout`] of `kind`
/// after at least `at_least` and under `under` (a lock is held elsewhere). Returns the wait.
///
/// # Panics
///
/// If the insert succeeds, fails otherwise, or gives up too early or too late.
pub fn insert_times_out<R: AggregateRecorder + ?Sized>(
    recorder: &R,
    kind: TimeoutKind,
    at_least: Duration,
    under: Duration,
) -> Duration {
    let started = Instant::now();
    let e = recorder
        .insert_events(&[event(Uuid::new_v4(), 1, "t")])
        .expect_err("the insert should time out");
    let waited = started.elapsed();
    assert!(
        matches!(e, Error::Timeout { kind: k, .. } if k == kind),
        "{e}"
    );
    assert!(waited >= at_least, "gave up after {waited:?}");
    assert!(waited < under, "waited {waited:?}");
    waited
}

/// Every notification after `gt`, read page by page.
///
/// # Panics
///
/// If a select fails or a page does not advance.
pub fn read_all_after<R: ApplicationRecorder + ?Sized>(
    recorder: &R,
    gt: Option<u64>,
) -> Vec<Notification> {
    let mut out: Vec<Notification> = Vec::new();
    let mut last = gt;
    loop {
        let mut q = NotificationQuery::new(1000);
        if let Some(last) = last {
            q = q.after(last);
        }
        let page = recorder
            .select_notifications(&q)
            .expect("select_notifications");
        let Some(tail) = page.last() else {
            return out;
        };
        assert!(last.is_none_or(|l| tail.id > l), "a page did not advance");
        last = Some(tail.id);
        out.extend(page);
    }
}

/// The ids of `notifications`.
pub fn ids(notifications: &[Notification]) -> Vec<u64> {
    notifications.iter().map(|n| n.id).collect()
}
