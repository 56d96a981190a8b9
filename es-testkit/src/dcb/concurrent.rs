//! DCB under concurrency: racing decisions never overbook, appends do not interleave, and
//! readers see a total order with no late arrivals.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRecorder, Position,
};

use crate::concurrent::THREADS;
use crate::support::{assert_same_ids, ids_summary};

use super::{next_positions, positions};

/// Places per course in [`conditions_hold_under_concurrency`].
pub const PLACES: usize = 2;

/// Course booking, the DCB way: in each round [`THREADS`] students race to join one course of
/// [`PLACES`] places. Each reads the course's boundary, decides, and appends its joining with
/// the boundary as the condition after the head it read, retrying from a fresh read when
/// refused. No course is ever overbooked, each is filled (a refusal is only ever for a
/// decision made on stale facts), and in the final log no accepted append has a matching
/// event between its condition's position and its own.
pub fn conditions_hold_under_concurrency<R: DcbRecorder>(make: &dyn Fn() -> R) {
    const ROUNDS: usize = 12;
    let r = make();
    let barrier = Barrier::new(THREADS);
    // (course, the condition's position, the accepted append's position)
    let accepted = Mutex::new(Vec::new());
    thread::scope(|s| {
        for t in 0..THREADS {
            let (r, barrier, accepted) = (&r, &barrier, &accepted);
            s.spawn(move || {
                for round in 0..ROUNDS {
                    let course = format!("course-{round}");
                    let student = format!("student-{t}");
                    let boundary =
                        DcbQuery::from(DcbQueryItem::types(["Joined"]).and_tags([course.clone()]));
                    barrier.wait();
                    // Threads never panic between barriers; outcomes are checked after.
                    for _attempt in 0..4 * THREADS {
                        let Ok(read) = r.read(&boundary, None, None) else {
                            break;
                        };
                        if read.events.len() >= PLACES {
                            break;
                        }
                        let joined = DcbEvent::new("Joined", student.clone().into_bytes())
                            .tagged([course.clone(), student.clone()]);
                        let condition = DcbAppendCondition::new(boundary.clone()).after(read.head);
                        match r.append(&[joined], Some(&condition)) {
                            Ok(p) => {
                                accepted
                                    .lock()
                                    .unwrap()
                                    .push((course.clone(), read.head, p));
                                break;
                            }
                            Err(e) if e.is_append_condition_failed() => {}
                            Err(_) => break,
                        }
                    }
                }
            });
        }
    });
    let accepted = accepted.into_inner().unwrap();
    let log = r.read(&DcbQuery::all(), None, None).unwrap().events;
    for round in 0..ROUNDS {
        let course = format!("course-{round}");
        let joined = log
            .iter()
            .filter(|e| e.event.tags.contains(&course))
            .count();
        assert_eq!(
            joined, PLACES,
            "{course}: {joined} students joined a course of {PLACES} places"
        );
    }
    for (course, after, p) in &accepted {
        let between: Vec<Position> = log
            .iter()
            .filter(|e| after.is_none_or(|a| e.position > a) && e.position < *p)
            .filter(|e| e.event.tags.contains(course))
            .map(|e| e.position)
            .collect();
        assert!(
            between.is_empty(),
            "the append at {p} was accepted under a condition after {after:?}, though {course} \
             had events at {} in between",
            ids_summary(&between)
        );
    }
}

/// [`THREADS`] threads each append batches of five events at once: in the log each batch's
/// events are adjacent, in order, and end at the position its append returned (every position
/// of the block, with `gap_free`).
pub fn non_interleaving_blocks<R: DcbRecorder>(make: &dyn Fn() -> R) {
    non_interleaving(make, false);
}

/// As [`non_interleaving_blocks`], and each block is exactly the five positions before the
/// returned one (in-memory and SQLite logs have no gaps).
pub fn non_interleaving_blocks_gap_free<R: DcbRecorder>(make: &dyn Fn() -> R) {
    non_interleaving(make, true);
}

fn non_interleaving<R: DcbRecorder>(make: &dyn Fn() -> R, gap_free: bool) {
    const BATCHES: usize = 25;
    const SIZE: usize = 5;
    let r = make();
    let barrier = Barrier::new(THREADS);
    let returned = Mutex::new(Vec::new());
    thread::scope(|s| {
        for t in 0..THREADS {
            let (r, barrier, returned) = (&r, &barrier, &returned);
            s.spawn(move || {
                barrier.wait();
                for b in 0..BATCHES {
                    let events: Vec<DcbEvent> = (0..SIZE)
                        .map(|k| DcbEvent::new("Batch", format!("{t}/{b}/{k}").into_bytes()))
                        .collect();
                    let last = r.append(&events, None);
                    returned.lock().unwrap().push((format!("{t}/{b}"), last));
                }
            });
        }
    });
    let log = r.read(&DcbQuery::all(), None, None).unwrap().events;
    if gap_free {
        let all = positions(&log);
        let want: Vec<Position> = (1..=all.len() as Position).collect();
        assert_same_ids(&want, &all, "a gap-free log's positions");
    }
    for (batch, last) in returned.into_inner().unwrap() {
        let last = last.unwrap_or_else(|e| panic!("append of batch {batch} failed: {e}"));
        let at = log
            .iter()
            .position(|e| e.event.data == format!("{batch}/0").into_bytes())
            .unwrap_or_else(|| panic!("batch {batch} is not in the log"));
        let block = log.get(at..at + SIZE).unwrap_or_default();
        let data: Vec<String> = block
            .iter()
            .map(|e| String::from_utf8_lossy(&e.event.data).into_owned())
            .collect();
        let want: Vec<String> = (0..SIZE).map(|k| format!("{batch}/{k}")).collect();
        assert_eq!(
            data, want,
            "batch {batch}'s events are not one block in the log"
        );
        let ps = positions(block);
        assert_eq!(
            ps.last().copied(),
            Some(last),
            "batch {batch}: the returned position"
        );
        if gap_free {
            let exact: Vec<Position> = (last + 1 - SIZE as u64..=last).collect();
            assert_eq!(ps, exact, "batch {batch}: a gap-free block");
        }
    }
}

/// Appenders (conditional and not, several events at a time) race while a polling reader
/// (`read(after = last)`) and a subscription tail the log: each sees positions strictly
/// increasing and, once the appenders stop, exactly the final log: an event that committed
/// after a higher position was seen (a late arrival) would be skipped for ever.
pub fn total_order_no_late_arrivals<R: DcbRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let start = r.head().unwrap();
    let writing = AtomicBool::new(true);
    let until = Instant::now() + Duration::from_millis(600);
    let writers = THREADS - 1;
    let mut sub = r.subscribe(&DcbQuery::all(), start).unwrap();
    let (polled, subscribed) = thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let (r, writing) = (&r, &writing);
                s.spawn(move || {
                    let mut n = 0;
                    while Instant::now() < until && n < 400 {
                        let tag = format!("w{t}-{n}");
                        let events =
                            vec![DcbEvent::new("E", vec![]).tagged([tag.clone()]); 1 + n % 3];
                        // A condition on a tag no one else writes always holds.
                        let cond = DcbAppendCondition::new(DcbQueryItem::tags([tag]));
                        let condition = (n % 2 == 0).then_some(&cond);
                        if let Err(e) = r.append(&events, condition) {
                            writing.store(false, Ordering::SeqCst);
                            panic!("writer {t}: {e}");
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        let poller = {
            let (r, writing) = (&r, &writing);
            s.spawn(move || {
                let mut seen = Vec::new();
                let mut last = start;
                loop {
                    let done = !writing.load(Ordering::SeqCst);
                    let read = r.read(&DcbQuery::all(), last, Some(7)).unwrap();
                    if read.events.is_empty() && done {
                        return seen;
                    }
                    for e in &read.events {
                        seen.push(e.position);
                    }
                    last = read.events.last().map_or(last, |e| Some(e.position));
                }
            })
        };
        for h in handles {
            if h.join().is_err() {
                writing.store(false, Ordering::SeqCst);
                panic!("a writer failed");
            }
        }
        writing.store(false, Ordering::SeqCst);
        let polled = poller.join().unwrap();
        let total = r.read(&DcbQuery::all(), start, None).unwrap().events.len();
        let subscribed = next_positions(&mut sub, total, "the subscription to the whole log");
        sub.stop();
        (polled, subscribed)
    });
    let log = positions(&r.read(&DcbQuery::all(), start, None).unwrap().events);
    assert_same_ids(&log, &polled, "the polling reader against the final log");
    assert_same_ids(&log, &subscribed, "the subscription against the final log");
    let distinct: BTreeSet<Position> = log.iter().copied().collect();
    assert_eq!(distinct.len(), log.len(), "positions are unique");
}
