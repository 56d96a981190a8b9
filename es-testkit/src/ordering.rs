//! Commit order under contention: more writers than cores, many short rounds, and readers that
//! poll the log all the while.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use es_core::{ApplicationRecorder, NotificationId, NotificationQuery, Uuid};

use crate::support::{deadline, event, id_report};

/// Writers: several per core, so that a writer is often preempted or queued between any two
/// steps of its insert.
const WRITERS: usize = 8;
/// Readers polling the log.
const READERS: usize = 2;
/// Inserts per writer (fewer when the time box ends first).
const ROUNDS: u64 = 250;

/// What one polling reader saw: every id, and the first time an id came after a higher one.
#[derive(Debug, Default)]
struct Seen {
    ids: Vec<NotificationId>,
    went_back: Option<(NotificationId, NotificationId)>,
    /// The first time `max_notification_id` reported less than an id already read:
    /// (id read, position reported).
    max_behind: Option<(NotificationId, Option<NotificationId>)>,
}

/// One page of the log after `last`, added to `seen`; false when the page was empty.
fn poll_once<R: ApplicationRecorder>(
    r: &R,
    topic: &str,
    last: &mut Option<NotificationId>,
    seen: &mut Seen,
) -> bool {
    let mut q = NotificationQuery::new(100).topics([topic]);
    if let Some(l) = *last {
        q = q.after(l);
    }
    let page = r.select_notifications(&q).unwrap();
    for n in &page {
        if let Some(l) = *last
            && n.id <= l
            && seen.went_back.is_none()
        {
            seen.went_back = Some((l, n.id));
        }
        *last = Some(n.id.max(last.unwrap_or(0)));
        seen.ids.push(n.id);
    }
    // The position a recorder reports is never behind what a reader has already read.
    if !page.is_empty() && seen.max_behind.is_none() {
        let max = r.max_notification_id().unwrap();
        if max < *last {
            seen.max_behind = last.map(|l| (l, max));
        }
    }
    !page.is_empty()
}

/// Polls the log after the last id seen until `done` is set and a poll comes back empty.
fn poll<R: ApplicationRecorder>(
    r: &R,
    before: Option<NotificationId>,
    topic: &str,
    done: &AtomicBool,
) -> Seen {
    let give_up = Instant::now() + deadline() * 2;
    let mut seen = Seen::default();
    let mut last = before;
    while Instant::now() < give_up {
        let finished = done.load(Ordering::SeqCst);
        if !poll_once(r, topic, &mut last, &mut seen) {
            if finished {
                return seen;
            }
            thread::yield_now();
        }
    }
    seen
}

/// Eight writers insert single events and small batches in many short rounds while two readers
/// poll `select_notifications` after the last id each has seen, and each writer polls so too
/// right after each of its commits. No reader ever receives an id
/// at or below one it already has, and at the end each has seen every committed id exactly
/// once. A recorder that hands out ids before it takes the lock that orders its commits lets a
/// later id commit first: a reader then moves past the earlier id, which commits after, and
/// never sees it. After each page a reader also asks `max_notification_id`, which must never
/// be behind an id it has read (a position cached or counted apart from the log lags).
/// Time-boxed by half the kit's deadline.
pub fn polling_readers_never_go_back<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let before = r.max_notification_id().unwrap();
    let topic = format!("Ordering.{}", Uuid::new_v4().simple());
    let done = AtomicBool::new(false);
    let committed = Mutex::new(Vec::new());
    let barrier = Barrier::new(WRITERS);
    let budget = deadline() / 2;
    let started = Instant::now();
    let seen: Vec<Seen> = thread::scope(|s| {
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (r, topic, done) = (&r, &topic, &done);
                s.spawn(move || poll(r, before, topic, done))
            })
            .collect();
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (r, topic, committed, barrier) = (&r, &topic, &committed, &barrier);
                s.spawn(move || {
                    let id = Uuid::new_v4();
                    // Each writer reads too, right after each of its commits: the moment a
                    // later id may have committed before an earlier one.
                    let mut seen = Seen::default();
                    let mut last = before;
                    barrier.wait();
                    let mut v = 1;
                    for round in 0..ROUNDS {
                        if started.elapsed() > budget {
                            break;
                        }
                        let size = if (round + w as u64).is_multiple_of(5) {
                            2
                        } else {
                            1
                        };
                        let events: Vec<_> = (v..v + size).map(|v| event(id, v, topic)).collect();
                        let ids = r.insert_events(&events).unwrap();
                        committed.lock().unwrap().extend(ids);
                        v += size;
                        poll_once(r, topic, &mut last, &mut seen);
                    }
                    seen
                })
            })
            .collect();
        let writers: Vec<Seen> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::SeqCst);
        let mut seen: Vec<Seen> = readers.into_iter().map(|h| h.join().unwrap()).collect();
        seen.extend(writers);
        seen
    });
    let mut committed = committed.into_inner().unwrap();
    committed.sort_unstable();
    assert!(
        started.elapsed() < deadline() + Duration::from_secs(1),
        "the readers took longer than the deadline to finish"
    );
    for (i, reader) in seen.iter().enumerate() {
        let who = if i < READERS {
            "reader"
        } else {
            "writer (reading)"
        };
        if let Some((high, low)) = reader.went_back {
            panic!("{who} {i} received id {low} after id {high}");
        }
        if let Some((read, max)) = reader.max_behind {
            panic!("{who} {i} read id {read}, then max_notification_id said {max:?}");
        }
        // Whoever has seen id n has seen every committed id below it: the readers all of
        // them, a writer those up to the last it read.
        let upto = if i < READERS {
            committed.last().copied()
        } else {
            reader.ids.last().copied()
        };
        let expected: Vec<NotificationId> = committed
            .iter()
            .copied()
            .filter(|&id| Some(id) <= upto)
            .collect();
        let report = id_report(&expected, &reader.ids);
        assert!(
            report.is_empty(),
            "{who} {i} polling after its last id, against the committed ids: {report}"
        );
    }
}
