//! Small helpers shared by the properties.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, Notification, NotificationQuery, StopHandle,
    StoredEvent, Subscription, TimeoutKind, Uuid,
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

/// A deadline set by [`set_deadline`], in milliseconds; 0 when none is.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(0);

/// Sets [`deadline`] for the rest of this process, over `ES_TESTKIT_DEADLINE` (the kit's own
/// negative controls shorten it, so that a recorder that never wakes is caught fast).
pub fn set_deadline(deadline: Duration) {
    let ms = u64::try_from(deadline.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    DEADLINE_MS.store(ms, Ordering::Relaxed);
}

/// Undoes [`set_deadline`]: [`deadline`] is `ES_TESTKIT_DEADLINE` (or its default) again.
pub fn clear_deadline() {
    DEADLINE_MS.store(0, Ordering::Relaxed);
}

/// How long a kit property waits for anything (a notification, a tracking record, readers to
/// catch up) before it fails saying what it waited for: `ES_TESTKIT_DEADLINE` seconds (raise it
/// for a slow server), 10 by default. No kit property waits without one.
pub fn deadline() -> Duration {
    let set = DEADLINE_MS.load(Ordering::Relaxed);
    if set > 0 {
        return Duration::from_millis(set);
    }
    std::env::var("ES_TESTKIT_DEADLINE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}

/// Stops a subscription that is still running after [`deadline`], so that a property blocked
/// in `next()` gets `None` and fails with a message instead of hanging. Dropping the watchdog
/// dismisses it.
#[derive(Debug)]
pub struct Watchdog {
    dismiss: Option<mpsc::Sender<()>>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    /// Watches the subscription of `handle`.
    pub fn new(handle: StopHandle) -> Self {
        let (dismiss, dismissed) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&fired);
        let wait = deadline();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = dismissed.recv_timeout(wait) {
                flag.store(true, Ordering::SeqCst);
                handle.stop();
            }
        });
        Self {
            dismiss: Some(dismiss),
            fired,
        }
    }

    /// True once the deadline passed and the subscription was stopped.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.dismiss.take());
    }
}

/// The next `n` ids of `sub`, or a panic that says what was awaited and what came, when the
/// subscription ends or [`deadline`] passes first.
pub fn next_ids(sub: &mut Subscription, n: usize, what: &str) -> Vec<u64> {
    let watchdog = Watchdog::new(sub.stop_handle());
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match sub.next() {
            Some(Ok(notification)) => got.push(notification.id),
            Some(Err(e)) => panic!("{what}: the subscription failed after {got:?}: {e}"),
            None if watchdog.fired() => panic!(
                "{what}: waited {:?} (ES_TESTKIT_DEADLINE) for {n} notifications, got {got:?}",
                deadline()
            ),
            None => panic!("{what}: the subscription ended after {got:?}, {n} expected"),
        }
    }
    got
}

/// A short account of how `got` differs from `expected` (empty when equal): both lengths and
/// the first position where they differ, with the two items there. What the kit prints instead
/// of two whole vectors.
pub fn list_report<T: PartialEq + std::fmt::Debug>(expected: &[T], got: &[T]) -> String {
    if expected == got {
        return String::new();
    }
    let at = expected
        .iter()
        .zip(got)
        .position(|(e, g)| e != g)
        .unwrap_or(expected.len().min(got.len()));
    let item = |list: &[T]| {
        list.get(at)
            .map_or_else(|| "nothing".to_owned(), |t| format!("{t:?}"))
    };
    format!(
        "expected {} items, got {}; first difference at index {at}: expected {}, got {}",
        expected.len(),
        got.len(),
        item(expected),
        item(got)
    )
}
/// `ids` for a failure message: their count and at most the first ten.
pub fn ids_summary(ids: &[u64]) -> String {
    let shown: Vec<String> = ids.iter().take(10).map(u64::to_string).collect();
    match ids.len().saturating_sub(10) {
        0 => format!("{} [{}]", ids.len(), shown.join(", ")),
        more => format!("{} [{}, ... {more} more]", ids.len(), shown.join(", ")),
    }
}

/// Panics with `what` and a [`list_report`] unless `got` equals `expected`.
#[track_caller]
pub fn assert_same_list<T: PartialEq + std::fmt::Debug>(expected: &[T], got: &[T], what: &str) {
    let report = list_report(expected, got);
    assert!(report.is_empty(), "{what}: {report}");
}

/// What differs between the `expected` and the `got` sequences of notification ids, for
/// failure messages: the ids missing, duplicated, unexpected and out of order (at most ten of
/// each, with counts), never whole vectors. Empty when they are equal.
pub fn id_report(expected: &[u64], got: &[u64]) -> String {
    if expected == got {
        return String::new();
    }
    let some = ids_summary;
    let want: BTreeSet<u64> = expected.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let (mut duplicated, mut unexpected) = (Vec::new(), Vec::new());
    for &id in got {
        if !seen.insert(id) {
            duplicated.push(id);
        } else if !want.contains(&id) {
            unexpected.push(id);
        }
    }
    let missing: Vec<u64> = expected
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    let late: Vec<u64> = got
        .windows(2)
        .filter(|w| w[1] <= w[0])
        .map(|w| w[1])
        .collect();
    let mut parts = vec![format!(
        "expected {} ids, got {}",
        expected.len(),
        got.len()
    )];
    for (name, ids) in [
        ("missing", missing),
        ("duplicated", duplicated),
        ("unexpected", unexpected),
        ("late (after a higher id)", late),
    ] {
        if !ids.is_empty() {
            parts.push(format!("{name}: {}", some(&ids)));
        }
    }
    parts.join("; ")
}

/// Panics with `what` and an [`id_report`] unless `got` equals `expected`.
pub fn assert_same_ids(expected: &[u64], got: &[u64], what: &str) {
    let report = id_report(expected, got);
    assert!(report.is_empty(), "{what}: {report}");
}
