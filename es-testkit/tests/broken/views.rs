//! The view suite against broken view stores, each caught by the properties it breaks, and
//! the same store without a flaw passing every property.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use es_core::persistence::wake::Notifier;
use es_core::{Error, NotificationId, Result, StopHandle, Tracking, TrackingRecorder, ViewStore};
use es_testkit::apps::Open;
use es_testkit::views::{self, Counts, MapCounters};

use super::caught;

/// What a [`BrokenView`] gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ViewFlaw {
    /// Nothing: the control.
    None,
    /// Changes the view in place, so a transaction that fails keeps what it wrote.
    KeepsFailedWrites,
    /// Never refuses a tracking record.
    NoConflictCheck,
    /// Records the tracking of a transaction that failed.
    TracksFailures,
    /// Refuses a record only at or below its last notification, so an overlapping batch passes.
    LastNotFirst,
    /// Records one notification less than processed.
    TrackingBehind,
    /// Records a batch's first notification, not its last.
    TracksFirst,
}

/// An in-memory view store with a flaw.
#[derive(Debug)]
struct BrokenView {
    flaw: ViewFlaw,
    state: Mutex<(Counts, HashMap<String, NotificationId>)>,
    tracking: Notifier,
}

impl BrokenView {
    fn new(flaw: ViewFlaw) -> Self {
        Self {
            flaw,
            state: Mutex::default(),
            tracking: Notifier::new(),
        }
    }

    fn counts(&self) -> Counts {
        self.state.lock().unwrap().0.clone()
    }
}

impl TrackingRecorder for BrokenView {
    fn insert_tracking(&self, t: &Tracking) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        let stored = state.1.entry(t.application_name.clone()).or_default();
        if *stored >= t.first_notification_id {
            return Err(Error::tracking_conflict(
                &t.application_name,
                t.notification_id,
            ));
        }
        *stored = t.notification_id;
        drop(state);
        self.tracking.notify();
        Ok(())
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        Ok(self.state.lock().unwrap().1.get(application_name).copied())
    }

    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: std::time::Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        es_core::wait_for_tracking(
            self,
            application_name,
            notification_id,
            timeout,
            interrupt,
            Some(&self.tracking),
        )
    }
}

impl ViewStore for BrokenView {
    type Tx<'a> = Counts;

    fn transact<R>(&self, t: &Tracking, f: impl FnOnce(&mut Counts) -> Result<R>) -> Result<R> {
        use ViewFlaw as F;
        let mut state = self.state.lock().unwrap();
        let stored = state.1.get(&t.application_name).copied();
        let refused = match self.flaw {
            F::NoConflictCheck => false,
            F::LastNotFirst => stored.is_some_and(|s| s >= t.notification_id),
            _ => stored.is_some_and(|s| s >= t.first_notification_id),
        };
        if refused {
            return Err(Error::tracking_conflict(
                &t.application_name,
                t.notification_id,
            ));
        }
        let recorded = match self.flaw {
            F::TrackingBehind => t.notification_id - 1,
            F::TracksFirst => t.first_notification_id,
            _ => t.notification_id,
        };
        let result = if self.flaw == F::KeepsFailedWrites {
            f(&mut state.0)
        } else {
            let mut copy = state.0.clone();
            let result = f(&mut copy);
            if result.is_ok() {
                state.0 = copy;
            }
            result
        };
        if result.is_ok() || self.flaw == F::TracksFailures {
            state.1.insert(t.application_name.clone(), recorded);
        }
        drop(state);
        self.tracking.notify();
        result
    }

    fn migrate(&self, f: impl FnOnce(&mut Counts) -> Result<()>) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        let mut copy = state.0.clone();
        f(&mut copy)?;
        state.0 = copy;
        Ok(())
    }
}

fn view(flaw: ViewFlaw) -> impl Fn() -> MapCounters<BrokenView> {
    move || MapCounters(Arc::new(BrokenView::new(flaw)), BrokenView::counts)
}

fn storage() -> Open {
    super::suites::storage_of(es_popo::PopoProcessRecorder::default)
}

type Property = fn(&dyn Fn() -> MapCounters<BrokenView>, &dyn Fn() -> Open);

const PROPERTIES: [(&str, Property); 6] = [
    (
        "a_transaction_commits_changes_and_tracking_together",
        views::a_transaction_commits_changes_and_tracking_together,
    ),
    (
        "a_failing_event_keeps_the_events_before_it_once",
        views::a_failing_event_keeps_the_events_before_it_once,
    ),
    (
        "each_event_is_applied_once_across_restarts",
        views::each_event_is_applied_once_across_restarts,
    ),
    (
        "competing_runners_apply_each_event_once",
        views::competing_runners_apply_each_event_once,
    ),
    (
        "filtered_events_are_waited_for",
        views::filtered_events_are_waited_for,
    ),
    ("wait_stop_and_panics", views::wait_stop_and_panics),
];

fn property(name: &str) -> Property {
    PROPERTIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap()
}

#[test]
fn broken_view_stores_fail_the_view_suite() {
    use ViewFlaw as F;
    let cases = [
        (
            "a_transaction_commits_changes_and_tracking_together",
            F::KeepsFailedWrites,
        ),
        (
            "a_transaction_commits_changes_and_tracking_together",
            F::NoConflictCheck,
        ),
        (
            "a_transaction_commits_changes_and_tracking_together",
            F::TracksFailures,
        ),
        (
            "a_transaction_commits_changes_and_tracking_together",
            F::LastNotFirst,
        ),
        (
            "a_transaction_commits_changes_and_tracking_together",
            F::TrackingBehind,
        ),
        (
            "a_failing_event_keeps_the_events_before_it_once",
            F::KeepsFailedWrites,
        ),
        (
            "a_failing_event_keeps_the_events_before_it_once",
            F::TracksFailures,
        ),
        ("each_event_is_applied_once_across_restarts", F::TracksFirst),
        (
            "competing_runners_apply_each_event_once",
            F::NoConflictCheck,
        ),
        ("filtered_events_are_waited_for", F::TrackingBehind),
        ("wait_stop_and_panics", F::KeepsFailedWrites),
    ];
    for (name, flaw) in cases {
        let make = view(flaw);
        caught(&format!("views::{name} / {flaw:?}"), || {
            property(name)(&make, &storage);
        });
    }
    // Every property has a broken store that fails it.
    for (name, _) in PROPERTIES {
        assert!(
            cases.iter().any(|(n, _)| *n == name),
            "{name} has no negative control"
        );
    }
}

#[test]
fn the_correct_view_store_passes_the_view_suite() {
    let make = view(ViewFlaw::None);
    crate::control(|| {
        for (_, p) in PROPERTIES {
            p(&make, &storage);
        }
    });
}
