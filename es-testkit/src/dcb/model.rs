//! Model-based DCB properties: generated histories and conditions over small alphabets (so that
//! they collide), every query shape, checked against a `Vec` and [`DcbQuery::matches`].

use std::fmt;

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder, DcbSequencedEvent, Position,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use crate::run::config;
use crate::support::list_report;

const TYPES: [&str; 4] = ["T0", "T1", "T2", "T3"];
const TAGS: [&str; 6] = ["g0", "g1", "g2", "g3", "g4", "g5"];

fn names(from: &[&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(from.to_vec(), 0..=max)
        .prop_map(|s| s.into_iter().map(str::to_owned).collect())
}

fn event() -> impl Strategy<Value = DcbEvent> {
    (0..TYPES.len(), names(&TAGS, 3), any::<u8>())
        .prop_map(|(t, tags, d)| DcbEvent::new(TYPES[t], vec![d; usize::from(d % 4)]).tagged(tags))
}

/// Every shape: no items, items with types, tags, both or neither, mixed.
fn query() -> impl Strategy<Value = DcbQuery> {
    let item =
        (names(&TYPES, 2), names(&TAGS, 2)).prop_map(|(types, tags)| DcbQueryItem { types, tags });
    vec(item, 0..=3).prop_map(DcbQuery::items)
}

/// An `after` relative to the head at the time: `None`, or 0 up to two past it.
fn after() -> impl Strategy<Value = Option<u8>> {
    prop_oneof![1 => Just(None), 4 => (0u8..=255).prop_map(Some)]
}

/// One step of a history. Its `Debug` is short: `T1{g0,g2}` for an event, `[T0|T1: g0+g2]`
/// for a query item, `*` for the query of all.
#[derive(Clone)]
enum Op {
    Append {
        events: Vec<DcbEvent>,
        condition: Option<(DcbQuery, Option<u8>)>,
    },
    Read {
        query: DcbQuery,
        after: Option<u8>,
        limit: Option<usize>,
    },
}

/// A query, shortly: its items joined by ` or `.
pub(crate) fn show_query(q: &DcbQuery) -> String {
    if q.items.is_empty() {
        return "*".to_owned();
    }
    let items: Vec<String> = q
        .items
        .iter()
        .map(|i| format!("[{}: {}]", i.types.join("|"), i.tags.join("+")))
        .collect();
    items.join(" or ")
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Append { events, condition } => {
                let events: Vec<String> = events
                    .iter()
                    .map(|e| format!("{}{{{}}}", e.r#type, e.tags.join(",")))
                    .collect();
                write!(f, "append {}", events.join(" "))?;
                match condition {
                    Some((q, after)) => write!(f, " unless {} after {after:?}", show_query(q)),
                    None => Ok(()),
                }
            }
            Self::Read {
                query,
                after,
                limit,
            } => {
                write!(
                    f,
                    "read {} after {after:?} limit {limit:?}",
                    show_query(query)
                )
            }
        }
    }
}

fn append() -> impl Strategy<Value = Op> {
    (
        vec(event(), 1..=3),
        proptest::option::weighted(0.8, (query(), after())),
    )
        .prop_map(|(events, condition)| Op::Append { events, condition })
}

fn read() -> impl Strategy<Value = Op> {
    (query(), after(), proptest::option::of(0usize..5)).prop_map(|(query, after, limit)| Op::Read {
        query,
        after,
        limit,
    })
}

/// The log as the model has it.
#[derive(Debug, Default)]
struct Model {
    log: Vec<DcbSequencedEvent>,
}

impl Model {
    fn head(&self) -> Option<Position> {
        self.log.last().map(|e| e.position)
    }

    /// `after` as a position: a fraction of the way through the positions so far.
    fn position(&self, after: Option<u8>) -> Option<Position> {
        let head = self.head().unwrap_or(0);
        after.map(|a| (u64::from(a) * (head + 2)) / 255)
    }

    fn matching(&self, q: &DcbQuery, after: Option<Position>) -> Vec<&DcbSequencedEvent> {
        let after = after.unwrap_or(0);
        self.log
            .iter()
            .filter(|e| e.position > after && q.matches(&e.event))
            .collect()
    }
}

fn apply<R: DcbRecorder>(
    r: &R,
    model: &mut Model,
    op: &Op,
    gap_free: bool,
) -> Result<(), TestCaseError> {
    match op {
        Op::Append { events, condition } => {
            let condition = condition
                .as_ref()
                .map(|(q, a)| DcbAppendCondition::new(q.clone()).after(model.position(*a)));
            let conflicting = condition
                .as_ref()
                .is_some_and(|c| !model.matching(&c.fail_if_events_match, c.after).is_empty());
            match r.append(events, condition.as_ref()) {
                Err(e) if e.is_append_condition_failed() => prop_assert!(
                    conflicting,
                    "refused although no event after {:?} matches {}",
                    condition.as_ref().and_then(|c| c.after),
                    condition
                        .as_ref()
                        .map_or_else(String::new, |c| show_query(&c.fail_if_events_match))
                ),
                Err(e) => return Err(TestCaseError::fail(format!("append failed: {e}"))),
                Ok(last) => {
                    prop_assert!(
                        !conflicting,
                        "accepted at {last} although a stored event matches the condition"
                    );
                    let n = events.len() as u64;
                    let head = model.head().unwrap_or(0);
                    prop_assert!(
                        last >= head + n,
                        "last position {last} of {n} events after head {head}"
                    );
                    if gap_free {
                        prop_assert_eq!(last, head + n, "a gap-free log's next block");
                    }
                    for (k, e) in events.iter().enumerate() {
                        model.log.push(DcbSequencedEvent {
                            event: e.clone(),
                            position: last - n + 1 + k as u64,
                        });
                    }
                }
            }
        }
        Op::Read {
            query,
            after,
            limit,
        } => {
            let after = model.position(*after);
            let got = r
                .read(query, after, *limit)
                .map_err(|e| TestCaseError::fail(format!("read failed: {e}")))?;
            let mut want: Vec<DcbSequencedEvent> =
                model.matching(query, after).into_iter().cloned().collect();
            if let Some(l) = limit {
                want.truncate(*l);
            }
            let report = list_report(&want, &got.events);
            prop_assert!(
                report.is_empty(),
                "read {} after {after:?} limit {limit:?}: {report}",
                show_query(query)
            );
            let head = match limit {
                None => model.head(),
                Some(_) => want.last().map(|e| e.position),
            };
            prop_assert_eq!(got.head, head, "the head of read(limit {:?})", limit);
        }
    }
    Ok(())
}

fn run<R: DcbRecorder>(
    make: &dyn Fn() -> R,
    suite: &str,
    ops: impl Strategy<Value = Vec<Op>>,
    gap_free: bool,
) {
    let mut runner = TestRunner::new(config(suite));
    let result = runner.run(&ops, |ops| {
        let r = make();
        let mut model = Model::default();
        for op in &ops {
            apply(&r, &mut model, op, gap_free)?;
        }
        let all = r
            .read(&DcbQuery::all(), None, None)
            .map_err(|e| TestCaseError::fail(format!("read failed: {e}")))?;
        let report = list_report(&model.log, &all.events);
        prop_assert!(report.is_empty(), "the whole log: {report}");
        prop_assert_eq!(r.head().ok().flatten(), model.head(), "head()");
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, ops)) => {
            let shown: Vec<String> = ops.iter().take(8).map(|o| format!("{o:?}")).collect();
            panic!(
                "{why}\nminimal failing history ({} steps): {}",
                ops.len(),
                shown.join("; ")
            )
        }
        Err(e) => panic!("{e}"),
    }
}

/// An append under a condition is refused if and only if the model holds an event after the
/// condition's position that matches its query; accepted appends take the next positions
/// (exactly, with `gap_free`); refusals write nothing. Generated conditions cover every query
/// shape and positions from none to past the head.
pub fn refused_iff_match_after<R: DcbRecorder>(make: &dyn Fn() -> R) {
    run(
        make,
        "dcb_refused_iff_match_after",
        vec(prop_oneof![4 => append(), 1 => read()], 1..24),
        false,
    );
}

/// As [`refused_iff_match_after`], for gap-free logs (in memory, SQLite): each append's block
/// starts right after the head.
pub fn refused_iff_match_after_gap_free<R: DcbRecorder>(make: &dyn Fn() -> R) {
    run(
        make,
        "dcb_refused_iff_match_after",
        vec(prop_oneof![4 => append(), 1 => read()], 1..24),
        true,
    );
}

/// Every read (any query shape, position and limit) returns the model's matching events in
/// ascending order, and the head by Python's rules: the store's head without a limit, else the
/// last returned (`None` when none was).
pub fn read_equals_model<R: DcbRecorder>(make: &dyn Fn() -> R) {
    run(
        make,
        "dcb_read_equals_model",
        vec(prop_oneof![1 => append(), 2 => read()], 1..30),
        false,
    );
}
