//! The reference model: plain `BTreeMap`s, deliberately simpler than any recorder, and the
//! executor that runs generated operations against a recorder and the model side by side.

use std::collections::BTreeMap;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, StoredEvent, Tracking, TrackingRecorder, Uuid,
};
use proptest::test_runner::TestCaseError;

use crate::strategies::{EventSpec, ORIGINATORS, Op, TOPICS, UPSTREAMS};
use crate::support::list_report;

/// What the model expects an insert to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Store everything.
    Ok,
    /// Fail with a version conflict and store nothing.
    VersionConflict,
    /// Fail with a tracking conflict and store nothing.
    TrackingConflict,
    /// Both conflict: either error, nothing stored.
    EitherConflict,
}

impl Expected {
    /// True when `error` is of the expected kind.
    pub fn matches(self, error: &Error) -> bool {
        match self {
            Self::Ok => false,
            Self::VersionConflict => error.is_version_conflict(),
            Self::TrackingConflict => error.is_tracking_conflict(),
            Self::EitherConflict => error.is_version_conflict() || error.is_tracking_conflict(),
        }
    }
}

/// The reference model of a recorder.
#[derive(Debug, Default)]
pub struct Model {
    baseline: NotificationId,
    last_id: NotificationId,
    gap_free: bool,
    events: BTreeMap<(Uuid, u64), StoredEvent>,
    log: BTreeMap<NotificationId, StoredEvent>,
    tracking: BTreeMap<String, NotificationId>,
}

impl Model {
    /// A model of a store whose log held ids up to `baseline` before the case started.
    pub fn new(baseline: Option<NotificationId>, gap_free: bool) -> Self {
        let baseline = baseline.unwrap_or(0);
        Self {
            baseline,
            last_id: baseline,
            gap_free,
            ..Self::default()
        }
    }

    /// What inserting `events` (and `tracking`) should do.
    pub fn expect(&self, events: &[StoredEvent], tracking: Option<&Tracking>) -> Expected {
        let mut seen = std::collections::BTreeSet::new();
        let version_conflict = events.iter().any(|e| {
            let key = (e.originator_id, e.originator_version);
            self.events.contains_key(&key) || !seen.insert(key)
        });
        let tracking_conflict = tracking.is_some_and(|t| {
            self.tracking
                .get(&t.application_name)
                .is_some_and(|&max| t.first_notification_id <= max)
        });
        match (version_conflict, tracking_conflict) {
            (false, false) => Expected::Ok,
            (true, false) => Expected::VersionConflict,
            (false, true) => Expected::TrackingConflict,
            (true, true) => Expected::EitherConflict,
        }
    }

    /// Records a successful insert. With `ids` (an application recorder's answer) checks them:
    /// one per event, contiguous, above every earlier id, and with no gap when the recorder is
    /// gap-free.
    ///
    /// # Errors
    ///
    /// A description of the first broken expectation.
    pub fn record(
        &mut self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
        ids: Option<&[NotificationId]>,
    ) -> Result<(), String> {
        if let Some(ids) = ids {
            if ids.len() != events.len() {
                return Err(format!("{} ids for {} events", ids.len(), events.len()));
            }
            if let Some(&first) = ids.first() {
                if first <= self.last_id {
                    return Err(format!("id {first} not above earlier id {}", self.last_id));
                }
                if self.gap_free && first != self.last_id + 1 {
                    return Err(format!("gap: id {first} after {}", self.last_id));
                }
            }
            if ids.windows(2).any(|w| w[1] != w[0] + 1) {
                return Err(format!(
                    "ids of one batch not contiguous: {}",
                    crate::support::ids_summary(ids)
                ));
            }
            for (&id, event) in ids.iter().zip(events) {
                self.log.insert(id, event.clone());
                self.last_id = id;
            }
        }
        for e in events {
            self.events
                .insert((e.originator_id, e.originator_version), e.clone());
        }
        if let Some(t) = tracking {
            self.tracking
                .insert(t.application_name.clone(), t.notification_id);
        }
        Ok(())
    }

    /// `select_events` by filtering the map.
    pub fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Vec<StoredEvent> {
        let mut out: Vec<StoredEvent> = self
            .events
            .values()
            .filter(|e| e.originator_id == originator_id && query.contains(e.originator_version))
            .cloned()
            .collect();
        if query.desc {
            out.reverse();
        }
        out.truncate(query.limit.unwrap_or(usize::MAX));
        out
    }

    /// `select_notifications` over the events recorded since the baseline.
    pub fn select_notifications(&self, query: &NotificationQuery) -> Vec<Notification> {
        self.log
            .iter()
            .filter(|(id, e)| query.admits(**id, &e.topic))
            .take(query.effective_limit())
            .map(|(id, e)| Notification::new(*id, e.clone()))
            .collect()
    }

    /// The greatest id, or the baseline's.
    pub fn max_notification_id(&self) -> Option<NotificationId> {
        (self.last_id > 0).then_some(self.last_id)
    }

    /// The tracked position of `application_name`.
    pub fn max_tracking_id(&self, application_name: &str) -> Option<NotificationId> {
        self.tracking.get(application_name).copied()
    }

    /// Narrows `query` so that it cannot reach notifications recorded before the case.
    pub fn confine(&self, mut query: NotificationQuery) -> NotificationQuery {
        if self.baseline > 0 && query.first_id().is_some_and(|f| f <= self.baseline) {
            query.start = Some(self.baseline);
            query.inclusive_of_start = false;
        }
        query
    }
}

/// The recorder under test, at the level its suite tests.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum Target<'a> {
    Aggregate(&'a dyn AggregateRecorder),
    Application(&'a dyn ApplicationRecorder),
    Tracking(&'a dyn TrackingRecorder),
    Process(&'a dyn ProcessRecorder),
}

/// Names and ids of one case: fresh originators and upstream names, so cases never collide in a
/// shared store.
#[derive(Debug)]
pub struct Case {
    originators: Vec<Uuid>,
    topics: Vec<String>,
    upstreams: Vec<String>,
}

impl Default for Case {
    fn default() -> Self {
        Self {
            originators: (0..ORIGINATORS).map(|_| Uuid::new_v4()).collect(),
            topics: (0..TOPICS).map(|i| format!("Topic{i}.Happened")).collect(),
            upstreams: (0..UPSTREAMS)
                .map(|_| format!("upstream_{}", Uuid::new_v4().simple()))
                .collect(),
        }
    }
}

impl Case {
    fn events(&self, specs: &[EventSpec]) -> Vec<StoredEvent> {
        specs
            .iter()
            .map(|s| {
                StoredEvent::new(
                    self.originators[s.originator],
                    s.version,
                    self.topics[s.topic].clone(),
                    s.state.clone(),
                )
            })
            .collect()
    }
}

fn check_insert(
    model: &mut Model,
    events: &[StoredEvent],
    tracking: Option<&Tracking>,
    result: es_core::Result<Vec<NotificationId>>,
    check_ids: bool,
) -> Result<(), TestCaseError> {
    let expected = model.expect(events, tracking);
    match result {
        Ok(ids) if expected == Expected::Ok => model
            .record(events, tracking, check_ids.then_some(ids.as_slice()))
            .map_err(TestCaseError::fail),
        Ok(ids) => Err(TestCaseError::fail(format!(
            "expected {expected:?}, got ids {} for an insert of {} events, tracking {tracking:?}",
            crate::support::ids_summary(&ids),
            events.len()
        ))),
        Err(e) if expected.matches(&e) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!(
            "expected {expected:?}, got error {e} for an insert of {} events, tracking {tracking:?}",
            events.len()
        ))),
    }
}

fn fail(e: Error) -> TestCaseError {
    TestCaseError::fail(format!("unexpected error: {e}"))
}

/// Runs `ops` against `target` and the model, comparing every result and error kind.
///
/// # Errors
///
/// The first disagreement.
pub fn execute(target: Target<'_>, ops: &[Op], gap_free: bool) -> Result<(), TestCaseError> {
    let case = Case::default();
    let baseline = match target {
        Target::Application(r) => r.max_notification_id().map_err(fail)?,
        Target::Process(r) => r.max_notification_id().map_err(fail)?,
        Target::Aggregate(_) | Target::Tracking(_) => None,
    };
    let mut model = Model::new(baseline, gap_free);
    for op in ops {
        step(target, &case, &mut model, op)?;
    }
    Ok(())
}

fn aggregate_of(target: Target<'_>) -> Option<&dyn AggregateRecorder> {
    match target {
        Target::Aggregate(r) => Some(r),
        Target::Application(r) => Some(r),
        Target::Process(r) => Some(r),
        Target::Tracking(_) => None,
    }
}

fn application_of(target: Target<'_>) -> Option<&dyn ApplicationRecorder> {
    match target {
        Target::Application(r) => Some(r),
        Target::Process(r) => Some(r),
        Target::Aggregate(_) | Target::Tracking(_) => None,
    }
}

fn tracking_of(target: Target<'_>) -> Option<&dyn TrackingRecorder> {
    match target {
        Target::Tracking(r) => Some(r),
        Target::Process(r) => Some(r),
        Target::Aggregate(_) | Target::Application(_) => None,
    }
}

fn step(target: Target<'_>, case: &Case, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let unsupported = || TestCaseError::fail(format!("{op:?} generated for {target:?}"));
    match op {
        Op::Insert(specs) => {
            let r = aggregate_of(target).ok_or_else(unsupported)?;
            let events = case.events(specs);
            let check_ids = application_of(target).is_some();
            check_insert(model, &events, None, r.insert_events(&events), check_ids)?;
        }
        Op::Process(specs, up, id, span) => {
            let Target::Process(r) = target else {
                return Err(unsupported());
            };
            let events = case.events(specs);
            let t = Tracking::batch(case.upstreams[*up].clone(), id.saturating_sub(*span), *id);
            let result = r.insert_events_with_tracking(&events, &t);
            check_insert(model, &events, Some(&t), result, true)?;
        }
        Op::Track(up, id, span) => {
            let r = tracking_of(target).ok_or_else(unsupported)?;
            let t = Tracking::batch(case.upstreams[*up].clone(), id.saturating_sub(*span), *id);
            let result = r.insert_tracking(&t).map(|()| Vec::new());
            check_insert(model, &[], Some(&t), result, false)?;
        }
        Op::SelectEvents {
            originator,
            gt,
            lte,
            desc,
            limit,
        } => {
            let r = aggregate_of(target).ok_or_else(unsupported)?;
            let mut q = EventQuery::new();
            q.gt = *gt;
            q.lte = *lte;
            q.desc = *desc;
            q.limit = *limit;
            let id = case.originators[*originator];
            let got = r.select_events(id, &q).map_err(fail)?;
            let report = list_report(&model.select_events(id, &q), &got);
            proptest::prop_assert!(report.is_empty(), "select_events {:?}: {}", q, report);
        }
        Op::SelectNotifications {
            start,
            inclusive,
            stop,
            topics,
            limit,
        } => {
            let r = application_of(target).ok_or_else(unsupported)?;
            let mut q = NotificationQuery::new(*limit)
                .topics(topics.iter().map(|&t| case.topics[t].clone()));
            let base = model.baseline;
            if let Some(s) = start {
                q = if *inclusive {
                    q.start_at(base + s)
                } else {
                    q.after(base + s)
                };
            }
            if let Some(s) = stop {
                q = q.stop_at(base + s);
            }
            let q = model.confine(q);
            let got = r.select_notifications(&q).map_err(fail)?;
            let report = list_report(&model.select_notifications(&q), &got);
            proptest::prop_assert!(report.is_empty(), "{:?}: {}", q, report);
        }
        Op::MaxNotificationId => {
            let r = application_of(target).ok_or_else(unsupported)?;
            let got = r.max_notification_id().map_err(fail)?;
            proptest::prop_assert_eq!(got, model.max_notification_id());
        }
        Op::MaxTrackingId(up) => {
            let r = tracking_of(target).ok_or_else(unsupported)?;
            let name = &case.upstreams[*up];
            let got = r.max_tracking_id(name).map_err(fail)?;
            proptest::prop_assert_eq!(got, model.max_tracking_id(name));
        }
        Op::HasTrackingId(up, id) => {
            let r = tracking_of(target).ok_or_else(unsupported)?;
            let name = &case.upstreams[*up];
            let got = r.has_tracking_id(name, *id).map_err(fail)?;
            let want = model.max_tracking_id(name).is_some_and(|m| m >= *id);
            proptest::prop_assert_eq!(got, want, "has_tracking_id({}, {})", name, id);
        }
    }
    Ok(())
}
