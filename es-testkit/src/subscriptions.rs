//! Subscriptions under concurrent writes: opened, read across the switch from catching up to
//! following live, and stopped while writers insert without pause.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use es_core::{ApplicationRecorder, NotificationId, NotificationQuery, Uuid};

use crate::support::{Watchdog, deadline, event, id_report, read_all_after};

/// Writer threads: more than the cores of a small machine, so that commits land at any moment.
const WRITERS: usize = 4;
/// Threads opening subscriptions one after another.
const SUBSCRIBERS: usize = 2;
/// Subscriptions each subscriber opens at least.
const OPENINGS: usize = 30;
/// How long subscribers go on opening subscriptions after their first [`OPENINGS`]: the
/// hand-off from backlog to live delivery is a window of microseconds, so a flawed one is
/// caught by many openings, not by luck.
const OPENING_TIME: Duration = Duration::from_secs(1);
/// How far past the log's end at opening a subscription reads: well into live delivery.
const PAST_LIVE: u64 = 8;

/// Stops a subscription when dropped.
struct StopOnDrop(es_core::StopHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// One subscription's life: where it started, its topic filter, what it delivered.
#[derive(Debug)]
struct Opened {
    gt: Option<NotificationId>,
    topics: Vec<String>,
    delivered: Vec<NotificationId>,
}

/// A small deterministic sequence (xorshift), seeded per thread.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Writers insert without pause while subscribers open subscriptions at random moments, from
/// a little behind the log's end (so each catches up first), a third of them with a topic
/// filter, read each until it has delivered notifications committed after it opened, and stop
/// it; one more subscription stays open from the start until the writers stop. Every
/// subscription must deliver exactly the committed notifications after its start position (of
/// its topics), in order, none missing and none repeated, and the long one all of them.
///
/// This catches the classic subscription bug: reading the backlog, then registering for
/// wake-ups or pushes, so that what commits in between is never delivered.
pub fn subscriptions_under_concurrent_writes<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let before = r.max_notification_id().unwrap();
    let tag = Uuid::new_v4().simple().to_string();
    let (topic_a, topic_b) = (format!("Sub.A.{tag}"), format!("Sub.B.{tag}"));
    let mut long = r.subscribe(before, &[]).unwrap();
    let long_stop = long.stop_handle();
    let stop_writers = AtomicBool::new(false);
    // Set by the first subscriber whose subscription skipped or repeated a notification: the
    // others stop opening, and the report below names it.
    let flawed = AtomicBool::new(false);
    let long_seen = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let (opened, long_late): (Vec<Opened>, bool) = thread::scope(|s| {
        // Stops the long subscription however this closure ends (a subscriber's failure
        // panics through it), so that the scope's join cannot wait for its reader for ever.
        let _stop_long = StopOnDrop(long_stop.clone());
        for w in 0..WRITERS {
            let (r, stop, a, b) = (&r, &stop_writers, &topic_a, &topic_b);
            s.spawn(move || {
                let id = Uuid::new_v4();
                let mut v = 1;
                while !stop.load(Ordering::SeqCst) && started.elapsed() < deadline() + OPENING_TIME
                {
                    let size = (v + w as u64) % 3 + 1;
                    let events: Vec<_> = (v..v + size)
                        .map(|v| event(id, v, if v % 2 == 0 { a } else { b }))
                        .collect();
                    r.insert_events(&events).unwrap();
                    v += size;
                }
            });
        }
        let long_reader = {
            let seen = Arc::clone(&long_seen);
            s.spawn(move || {
                for n in long.by_ref() {
                    seen.lock().unwrap().push(n.unwrap().id);
                }
            })
        };
        let subscribers: Vec<_> = (0..SUBSCRIBERS)
            .map(|k| {
                let (r, a, flawed) = (&r, &topic_a, &flawed);
                s.spawn(move || {
                    let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1) ^ u64::from(started.elapsed().subsec_nanos());
                    let mut out = Vec::new();
                    let opening = Instant::now();
                    let more = |i: usize| {
                        !flawed.load(Ordering::SeqCst)
                            && (i < OPENINGS || opening.elapsed() < OPENING_TIME)
                    };
                    for i in (0..).take_while(|&i| more(i)) {
                        let end = r.max_notification_id().unwrap();
                        let back = next(&mut rng) % 16;
                        let gt = end.map(|e| e.saturating_sub(back)).filter(|&g| Some(g) >= before).or(before);
                        let topics = if i % 3 == 0 { vec![a.clone()] } else { Vec::new() };
                        let target = end.unwrap_or(0) + PAST_LIVE;
                        let mut sub = r.subscribe(gt, &topics).unwrap();
                        let watchdog = Watchdog::new(sub.stop_handle());
                        let mut delivered = Vec::new();
                        for n in sub.by_ref() {
                            let id = n.unwrap().id;
                            delivered.push(id);
                            if id >= target {
                                break;
                            }
                        }
                        assert!(
                            !watchdog.fired(),
                            "a subscription from {gt:?} (topics {topics:?}) did not reach id {target} \
                             within {:?} (ES_TESTKIT_DEADLINE); it delivered {} notifications",
                            deadline(),
                            delivered.len()
                        );
                        sub.stop();
                        let mut q = NotificationQuery::new(delivered.len()).topics(topics.iter().cloned());
                        if let Some(gt) = gt {
                            q = q.after(gt);
                        }
                        let stored: Vec<NotificationId> =
                            r.select_notifications(&q).unwrap().iter().map(|n| n.id).collect();
                        if stored != delivered {
                            flawed.store(true, Ordering::SeqCst);
                        }
                        out.push(Opened { gt, topics, delivered });
                    }
                    out
                })
            })
            .collect();
        let opened: Vec<Opened> = subscribers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        stop_writers.store(true, Ordering::SeqCst);
        // Wait until the long subscription has delivered the last id the writers committed:
        // the deadline counts from now, not from the start (the writers and subscribers take
        // as long as a busy machine makes them).
        let end = r.max_notification_id().unwrap();
        let long_watchdog = Watchdog::new(long_stop.clone());
        while !long_watchdog.fired() && long_seen.lock().unwrap().last().copied() < end {
            thread::sleep(std::time::Duration::from_millis(2));
        }
        let late = long_watchdog.fired();
        long_stop.stop();
        long_reader.join().unwrap();
        (opened, late)
    });
    let log = read_all_after(&r, before);
    let long_seen = long_seen.lock().unwrap().clone();
    let end = long_seen.last().copied();
    let all: Vec<NotificationId> = log
        .iter()
        .map(|n| n.id)
        .filter(|&id| Some(id) <= end)
        .collect();
    let report = id_report(&all, &long_seen);
    assert!(
        report.is_empty() && !long_late,
        "the subscription open from the start, once the writers stopped: {report}"
    );
    for o in &opened {
        let from = o.gt.map_or(0, |gt| log.partition_point(|n| n.id <= gt));
        let expected: Vec<NotificationId> = log[from..]
            .iter()
            .filter(|n| o.topics.is_empty() || o.topics.contains(&n.topic))
            .map(|n| n.id)
            .take(o.delivered.len())
            .collect();
        let report = id_report(&expected, &o.delivered);
        assert!(
            report.is_empty(),
            "a subscription after {:?} (topics {:?}) opened while writers inserted: {report}",
            o.gt,
            o.topics
        );
    }
}
