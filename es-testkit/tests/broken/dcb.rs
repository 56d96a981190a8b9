//! The DCB suite against broken DCB logs, each caught by the properties it breaks, and the same
//! log without a flaw passing every property.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use es_core::backend::{DcbBackend, Recorder, kind};
use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbRecorder, DcbSequencedEvent,
    DcbSubscription, Position,
};
use es_core::persistence::wake::Notifier;
use es_core::{Error, Result};
use es_testkit::dcb;

use super::caught;

/// A store's round trip: the pause between the two steps of a check-then-act flaw.
const ROUND_TRIP: Duration = Duration::from_micros(300);

/// What a [`BrokenDcb`] gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DcbFlaw {
    /// Nothing: the control.
    None,
    /// An event matches an item carrying any one of its tags, not all.
    TagsOred,
    /// `after` is inclusive: the event at `after` counts.
    AfterInclusive,
    /// With a limit, the head is the store's head, not the last returned.
    HeadAlwaysStore,
    /// Without a limit, the head is the last matching event, not the store's head.
    HeadOfMatches,
    /// A query's items are answered one after another, not in position order.
    UnsortedItems,
    /// Refuses queries with several types or an item with neither (Python's "Unsupported
    /// query", D5).
    ShapesUnsupported,
    /// A refused append still writes its first event.
    RefusalWritesFirst,
    /// Checks the condition, lets go of the log for a round trip, then appends.
    CheckThenAct,
    /// Appends each event of a batch on its own.
    OneEventAtATime,
    /// Takes positions, then publishes the events later, the more events the later (Python's
    /// tt recorder without its lock: D1).
    LateArrival,
    /// Never wakes subscriptions.
    Deaf,
    /// Each append skips a position.
    GapPerAppend,
}

#[derive(Debug, Default)]
struct Log {
    events: BTreeMap<Position, DcbEvent>,
    next: Position,
}

/// An in-memory DCB log with a flaw.
#[derive(Debug)]
struct BrokenDcb {
    flaw: DcbFlaw,
    log: Mutex<Log>,
    appended: Notifier,
}

impl BrokenDcb {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn matches(&self, q: &DcbQuery, e: &DcbEvent) -> bool {
        if self.flaw != DcbFlaw::TagsOred {
            return q.matches(e);
        }
        q.items.is_empty()
            || q.items.iter().any(|i| {
                (i.types.is_empty() || i.types.contains(&e.r#type))
                    && (i.tags.is_empty() || i.tags.iter().any(|t| e.tags.contains(t)))
            })
    }

    fn select(&self, log: &Log, q: &DcbQuery, after: Option<Position>) -> Vec<DcbSequencedEvent> {
        let after = after.unwrap_or(0);
        let first = if self.flaw == DcbFlaw::AfterInclusive {
            after
        } else {
            after + 1
        };
        let seq = |(p, e): (&Position, &DcbEvent)| DcbSequencedEvent {
            event: e.clone(),
            position: *p,
        };
        if self.flaw == DcbFlaw::UnsortedItems && q.items.len() > 1 {
            let mut out: Vec<DcbSequencedEvent> = Vec::new();
            for item in q.items.iter().rev() {
                let one = DcbQuery::from(item.clone());
                for s in log
                    .events
                    .range(first..)
                    .filter(|(_, e)| self.matches(&one, e))
                    .map(seq)
                {
                    if !out.iter().any(|o| o.position == s.position) {
                        out.push(s);
                    }
                }
            }
            return out;
        }
        log.events
            .range(first..)
            .filter(|(_, e)| self.matches(q, e))
            .map(seq)
            .collect()
    }

    /// Takes the next positions for `events` and publishes them: at once, or a round trip
    /// later when `late`. Returns the last position.
    fn take_and_publish<'a>(
        &'a self,
        mut log: MutexGuard<'a, Log>,
        events: &[DcbEvent],
        late: bool,
    ) -> Position {
        let first = log.next + 1;
        log.next += events.len() as Position;
        // A bigger append commits later: one of one event overtakes one of three taken
        // before it, even when every thread shares one core.
        if late && events.len() > 1 {
            drop(log);
            let more = u32::try_from(events.len() - 1).unwrap_or(u32::MAX);
            thread::sleep(ROUND_TRIP * 4 * more);
            log = self.lock();
        }
        for (k, e) in events.iter().enumerate() {
            log.events.insert(first + k as Position, e.clone());
        }
        log.next.min(first + events.len() as Position - 1)
    }
}

impl DcbBackend for BrokenDcb {
    fn read(&self, q: &DcbQuery, after: Option<Position>, limit: Option<usize>) -> Result<DcbRead> {
        let shaped = q
            .items
            .iter()
            .any(|i| i.types.len() > 1 || (i.types.is_empty() && i.tags.is_empty()));
        if self.flaw == DcbFlaw::ShapesUnsupported && shaped {
            return Err(Error::programming("unsupported query"));
        }
        let log = self.lock();
        let mut events = self.select(&log, q, after);
        let store_head = log.events.keys().next_back().copied();
        if let Some(l) = limit {
            events.truncate(l);
        }
        let last = events.last().map(|e| e.position);
        let head = match limit {
            None if self.flaw == DcbFlaw::HeadOfMatches => last,
            None => store_head,
            Some(_) if self.flaw == DcbFlaw::HeadAlwaysStore => store_head,
            Some(_) => last,
        };
        Ok(DcbRead { events, head })
    }

    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        let mut log = self.lock();
        if let Some(c) = condition {
            if self.flaw == DcbFlaw::ShapesUnsupported
                && c.fail_if_events_match
                    .items
                    .iter()
                    .any(|i| i.types.len() > 1)
            {
                return Err(Error::programming("unsupported query"));
            }
            if !self
                .select(&log, &c.fail_if_events_match, c.after)
                .is_empty()
            {
                if self.flaw == DcbFlaw::RefusalWritesFirst {
                    log.next += 1;
                    let p = log.next;
                    log.events.insert(p, events[0].clone());
                }
                return Err(Error::AppendConditionFailed { after: c.after });
            }
        }
        let last = match self.flaw {
            DcbFlaw::CheckThenAct if condition.is_some() => {
                drop(log);
                thread::sleep(ROUND_TRIP);
                self.take_and_publish(self.lock(), events, false)
            }
            DcbFlaw::OneEventAtATime => {
                drop(log);
                let mut last = 0;
                for e in events {
                    last = self.take_and_publish(self.lock(), std::slice::from_ref(e), false);
                    thread::yield_now();
                }
                last
            }
            DcbFlaw::LateArrival => self.take_and_publish(log, events, true),
            flaw => {
                if flaw == DcbFlaw::GapPerAppend {
                    log.next += 1;
                }
                self.take_and_publish(log, events, false)
            }
        };
        if self.flaw != DcbFlaw::Deaf {
            self.appended.notify();
        }
        Ok(last)
    }

    fn head(&self) -> Result<Option<Position>> {
        Ok(self.lock().events.keys().next_back().copied())
    }

    fn events_notifier(&self) -> &Notifier {
        &self.appended
    }
}

type BrokenRecorder = Recorder<BrokenDcb, kind::Dcb>;

fn broken(flaw: DcbFlaw) -> impl Fn() -> BrokenRecorder {
    move || {
        Recorder::from_backend(Arc::new(BrokenDcb {
            flaw,
            log: Mutex::new(Log::default()),
            appended: Notifier::new(),
        }))
    }
}

/// A recorder that skips the seam's checks: it accepts an append of no events.
#[derive(Debug)]
struct Unchecked(BrokenRecorder);

impl DcbRecorder for Unchecked {
    fn read(&self, q: &DcbQuery, after: Option<Position>, limit: Option<usize>) -> Result<DcbRead> {
        self.0.read(q, after, limit)
    }
    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        if events.is_empty() {
            return Ok(0);
        }
        self.0.append(events, condition)
    }
    fn subscribe(&self, q: &DcbQuery, after: Option<Position>) -> Result<DcbSubscription> {
        self.0.subscribe(q, after)
    }
    fn head(&self) -> Result<Option<Position>> {
        self.0.head()
    }
}

type Property = fn(&dyn Fn() -> BrokenRecorder);

const PROPERTIES: [(&str, Property); 10] = [
    ("append_read", dcb::append_read),
    (
        "append_read_after_other_events",
        dcb::append_read_after_other_events,
    ),
    ("append_subscribe", dcb::append_subscribe),
    ("refused_iff_match_after", dcb::refused_iff_match_after),
    (
        "refused_iff_match_after_gap_free",
        dcb::refused_iff_match_after_gap_free,
    ),
    ("read_equals_model", dcb::read_equals_model),
    (
        "conditions_hold_under_concurrency",
        dcb::conditions_hold_under_concurrency,
    ),
    ("non_interleaving_blocks", dcb::non_interleaving_blocks),
    (
        "non_interleaving_blocks_gap_free",
        dcb::non_interleaving_blocks_gap_free,
    ),
    (
        "total_order_no_late_arrivals",
        dcb::total_order_no_late_arrivals,
    ),
];

fn property(name: &str) -> Property {
    PROPERTIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap()
}

#[test]
fn broken_dcb_logs_fail_the_dcb_suite() {
    use DcbFlaw as F;
    let cases = [
        ("append_read", F::TagsOred),
        ("append_read", F::AfterInclusive),
        ("append_read", F::HeadAlwaysStore),
        ("append_read", F::HeadOfMatches),
        ("append_read", F::UnsortedItems),
        ("append_read", F::ShapesUnsupported),
        ("append_read", F::RefusalWritesFirst),
        ("append_read_after_other_events", F::AfterInclusive),
        ("append_read_after_other_events", F::HeadOfMatches),
        ("append_subscribe", F::Deaf),
        ("refused_iff_match_after", F::TagsOred),
        ("refused_iff_match_after", F::AfterInclusive),
        ("refused_iff_match_after", F::RefusalWritesFirst),
        ("refused_iff_match_after", F::ShapesUnsupported),
        ("refused_iff_match_after_gap_free", F::GapPerAppend),
        ("read_equals_model", F::TagsOred),
        ("read_equals_model", F::HeadOfMatches),
        ("read_equals_model", F::HeadAlwaysStore),
        ("read_equals_model", F::UnsortedItems),
        ("read_equals_model", F::ShapesUnsupported),
        ("conditions_hold_under_concurrency", F::CheckThenAct),
        ("non_interleaving_blocks", F::OneEventAtATime),
        ("non_interleaving_blocks_gap_free", F::GapPerAppend),
        ("total_order_no_late_arrivals", F::LateArrival),
    ];
    for (name, flaw) in cases {
        let make = broken(flaw);
        caught(&format!("dcb::{name} / {flaw:?}"), || property(name)(&make));
    }
    let make = broken(F::None);
    let unchecked = move || Unchecked(make());
    caught("dcb::an_empty_append_is_refused / Unchecked", || {
        dcb::an_empty_append_is_refused(&unchecked);
    });
    for (name, _) in PROPERTIES {
        assert!(
            cases.iter().any(|(n, _)| *n == name),
            "{name} has no negative control"
        );
    }
}

#[test]
fn the_correct_dcb_log_passes_the_dcb_suite() {
    let make = broken(DcbFlaw::None);
    crate::control(|| {
        for (_, p) in PROPERTIES {
            p(&make);
        }
        dcb::an_empty_append_is_refused(&make);
    });
}
