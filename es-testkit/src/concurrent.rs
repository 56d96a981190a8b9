//! Concurrency properties, run with scoped threads: racing writers, non-interleaving batches,
//! tailing readers that never see a late lower id, and competing process-recorder followers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use es_core::{
    AggregateRecorder, ApplicationRecorder, EventQuery, NotificationQuery, ProcessRecorder,
    Tracking, Uuid,
};

use crate::support::{assert_same_ids, deadline, event, read_all_after};
use crate::tracking::upstream;

/// Threads racing in each property.
pub const THREADS: usize = 4;

/// N threads race to append the same version of one aggregate, round after round: exactly one
/// wins each round, every other gets a version conflict (never another error), and the
/// aggregate ends with one event per round, each from that round's winner.
pub fn racing_writers_one_winner<R: AggregateRecorder>(make: &dyn Fn() -> R) {
    const ROUNDS: u64 = 20;
    let r = make();
    let id = Uuid::new_v4();
    let barrier = Barrier::new(THREADS);
    let outcomes = Mutex::new(Vec::new());
    thread::scope(|s| {
        for t in 0..THREADS {
            let (r, barrier, outcomes) = (&r, &barrier, &outcomes);
            s.spawn(move || {
                for v in 1..=ROUNDS {
                    let mut e = event(id, v, "Race.Won");
                    e.state = format!("thread {t}").into_bytes();
                    barrier.wait();
                    // Threads never panic between barriers: a panic would leave the others
                    // waiting. Outcomes are checked after the scope.
                    let outcome = r.insert_events(std::slice::from_ref(&e));
                    outcomes.lock().unwrap().push((v, e.state, outcome));
                }
            });
        }
    });
    let mut winners = BTreeMap::new();
    for (v, state, outcome) in outcomes.into_inner().unwrap() {
        match outcome {
            Ok(_) => assert!(
                winners.insert(v, state).is_none(),
                "two winners of version {v}"
            ),
            Err(err) => assert!(err.is_version_conflict(), "loser got: {err}"),
        }
    }
    assert_eq!(
        winners.len(),
        usize::try_from(ROUNDS).unwrap(),
        "one winner per round"
    );
    let stored = r.select_events(id, &EventQuery::new()).unwrap();
    assert_eq!(stored.len(), winners.len());
    for e in stored {
        assert_eq!(
            Some(&e.state),
            winners.get(&e.originator_version),
            "the winner's event"
        );
    }
}

/// Python's non-interleaving case, widened: threads insert batches at once; each call's ids are
/// contiguous, no id is given twice, and the log holds each batch as one block in input order.
pub fn non_interleaving_batches<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    // Several writers per core and enough work that they run at once or are preempted
    // mid-batch, so that a recorder taking ids one event at a time interleaves.
    const WRITERS: usize = 8;
    const BATCHES: usize = 20;
    /// A fast store runs each writer's batches inside one time slice, so that two writers
    /// rarely overlap: writers go on past `BATCHES` until they have overlapped for this long
    /// (or `MAX_BATCHES` each), which makes an interleaving recorder's race likely, not lucky.
    const OVERLAP: Duration = Duration::from_millis(400);
    const MAX_BATCHES: usize = 200;
    const BATCH: u64 = 100;
    let r = make();
    let before = r.max_notification_id().unwrap();
    let barrier = Barrier::new(WRITERS);
    let calls = Mutex::new(Vec::new());
    // Set by the first writer whose ids are not contiguous: the others stop, it is reported.
    let interleaved = AtomicBool::new(false);
    thread::scope(|s| {
        for _ in 0..WRITERS {
            let (r, barrier, calls, interleaved) = (&r, &barrier, &calls, &interleaved);
            s.spawn(move || {
                barrier.wait();
                let started = Instant::now();
                for i in 0..MAX_BATCHES {
                    if interleaved.load(Ordering::Relaxed)
                        || (i >= BATCHES && started.elapsed() >= OVERLAP)
                    {
                        break;
                    }
                    let id = Uuid::new_v4();
                    let events: Vec<_> = (1..=BATCH).map(|v| event(id, v, "Batch.Item")).collect();
                    let ids = r.insert_events(&events).unwrap();
                    if ids.windows(2).any(|w| w[1] != w[0] + 1) {
                        interleaved.store(true, Ordering::Relaxed);
                    }
                    calls.lock().unwrap().push((events, ids));
                }
            });
        }
    });
    let calls = calls.into_inner().unwrap();
    let log: BTreeMap<u64, _> = read_all_after(&r, before)
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let mut seen = BTreeSet::new();
    for (events, ids) in &calls {
        assert_eq!(ids.len(), events.len());
        assert!(
            ids.windows(2).all(|w| w[1] == w[0] + 1),
            "batch ids not contiguous: {}",
            crate::support::ids_summary(ids)
        );
        for (id, e) in ids.iter().zip(events) {
            assert!(seen.insert(*id), "id {id} given twice");
            let n = log
                .get(id)
                .unwrap_or_else(|| panic!("id {id} missing from the log"));
            assert!(n.is_of(e), "id {id} holds another event");
        }
    }
    assert_eq!(
        log.len(),
        seen.len(),
        "the log holds exactly the inserted events"
    );
}

/// Writers insert batches while readers tail the log with `select_notifications` and with a
/// subscription: no reader ever receives an id lower than or equal to one it already received,
/// and at the end every reader has seen every committed notification exactly once.
pub fn tailing_readers_never_go_back<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    const PER_WRITER: u64 = 150;
    let r = make();
    let before = r.max_notification_id().unwrap();
    let done = AtomicBool::new(false);
    let committed = Mutex::new(BTreeSet::new());
    let total = usize::try_from(PER_WRITER).unwrap() * THREADS;
    let mut sub = r.subscribe(before, &[]).unwrap();
    let stop = sub.stop_handle();
    let (polled, subscribed) = thread::scope(|s| {
        let pollers: Vec<_> = (0..2)
            .map(|_| {
                let (r, done) = (&r, &done);
                s.spawn(move || {
                    let mut seen = Vec::new();
                    let mut last = before;
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        let mut q = NotificationQuery::new(7);
                        if let Some(l) = last {
                            q = q.after(l);
                        }
                        let page = r.select_notifications(&q).unwrap();
                        for n in &page {
                            assert!(last.is_none_or(|l| n.id > l), "id {} after {last:?}", n.id);
                            last = Some(n.id);
                            seen.push(n.id);
                        }
                        if page.is_empty() {
                            if finished {
                                return seen;
                            }
                            thread::sleep(Duration::from_micros(200));
                        }
                    }
                })
            })
            .collect();
        let subscriber = s.spawn(move || {
            let mut seen = Vec::new();
            for n in sub.by_ref().take(total) {
                let id = n.unwrap().id;
                assert!(
                    seen.last().is_none_or(|&l| id > l),
                    "subscription went back to {id}"
                );
                seen.push(id);
            }
            seen
        });
        // Let the subscriber catch up with the empty backlog and block: from here on it is
        // only woken (or polling), never catching up in one read.
        thread::sleep(Duration::from_millis(20));
        let writers: Vec<_> = (0..THREADS)
            .map(|w| {
                let (r, committed) = (&r, &committed);
                s.spawn(move || {
                    let id = Uuid::new_v4();
                    let mut v = 1;
                    while v <= PER_WRITER {
                        let size = (v + w as u64) % 4 + 1;
                        let end = (v + size).min(PER_WRITER + 1);
                        let events: Vec<_> = (v..end).map(|v| event(id, v, "Tail.Item")).collect();
                        let ids = r.insert_events(&events).unwrap();
                        committed.lock().unwrap().extend(ids);
                        v = end;
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let watchdog_deadline = Instant::now() + deadline();
        while !subscriber.is_finished() && Instant::now() < watchdog_deadline {
            thread::sleep(Duration::from_millis(5));
        }
        stop.stop();
        let polled: Vec<_> = pollers.into_iter().map(|p| p.join().unwrap()).collect();
        (polled, subscriber.join().unwrap())
    });
    let committed: Vec<u64> = committed.into_inner().unwrap().into_iter().collect();
    assert_eq!(committed.len(), total);
    for seen in polled {
        assert_same_ids(&committed, &seen, "a polling reader");
    }
    assert_same_ids(&committed, &subscribed, "the subscriber");
}

/// Follower instances compete to process the same upstream positions: each walks every
/// position in order, recording an event of its own with the tracking record of the position. Every position is processed exactly once (its event stored once),
/// losers get a tracking conflict, and tracking ends at the last position.
pub fn competing_followers_process_once<R: ProcessRecorder>(make: &dyn Fn() -> R) {
    const POSITIONS: u64 = 60;
    let r = make();
    let up = upstream("leader");
    let before = r.max_notification_id().unwrap();
    let barrier = Barrier::new(THREADS);
    let wins = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (r, up, barrier, wins) = (&r, &up, &barrier, &wins);
            s.spawn(move || {
                let me = Uuid::new_v4();
                barrier.wait();
                for p in 1..=POSITIONS {
                    let e = event(me, p, "Processed.Position");
                    match r.insert_events_with_tracking(&[e], &Tracking::new(up.clone(), p)) {
                        Ok(ids) => wins.lock().unwrap().push((p, me, ids)),
                        Err(err) => assert!(err.is_tracking_conflict(), "follower got: {err}"),
                    }
                }
            });
        }
    });
    let mut wins = wins.into_inner().unwrap();
    wins.sort_unstable_by_key(|w| w.0);
    let positions: Vec<u64> = wins.iter().map(|w| w.0).collect();
    let every: Vec<u64> = (1..=POSITIONS).collect();
    assert_same_ids(
        &every,
        &positions,
        "positions processed by competing followers",
    );
    assert_eq!(r.max_tracking_id(&up).unwrap(), Some(POSITIONS));
    let log = read_all_after(&r, before);
    assert_eq!(
        log.len(),
        wins.len(),
        "one event per processed position, no more"
    );
    for (p, me, ids) in &wins {
        let n = log
            .iter()
            .find(|n| n.id == ids[0])
            .expect("the winner's event");
        assert_eq!((n.originator_id, n.originator_version), (*me, *p));
    }
}

/// The child's half of [`tail_while_another_process_writes`]: appends `events` single-event
/// batches of a fresh originator with topic `"Child.Wrote"`.
pub fn write_as_child<R: ApplicationRecorder + ?Sized>(recorder: &R, events: u64) {
    let id = Uuid::new_v4();
    for v in 1..=events {
        recorder
            .insert_events(&[event(id, v, "Child.Wrote")])
            .unwrap();
    }
}

/// Another process (started by `spawn`, running [`write_as_child`] with `events` on the same
/// store) and this one append at once while a subscription tails the log: the child succeeds,
/// nothing is lost or repeated, and the subscription never receives a lower id after a higher
/// one. On gap-free backends the ids are also exactly consecutive. The child is started only
/// after the log's position is read, so none of its events can fall before it.
pub fn tail_while_another_process_writes<R: ApplicationRecorder>(
    recorder: &R,
    spawn: impl FnOnce() -> std::process::Child,
    events: u64,
    gap_free: bool,
) {
    let before = recorder.max_notification_id().unwrap();
    let mut child = spawn();
    let mut sub = recorder.subscribe(before, &[]).unwrap();
    let stop = sub.stop_handle();
    let total = usize::try_from(events * 2).unwrap();
    let (tailed, all) = thread::scope(|s| {
        let tail = s.spawn(move || {
            let mut ids: Vec<u64> = Vec::new();
            for n in sub.by_ref().take(total) {
                let id = n.unwrap().id;
                assert!(ids.last().is_none_or(|&l| id > l), "late lower id {id}");
                ids.push(id);
            }
            ids
        });
        let id = Uuid::new_v4();
        for v in 1..=events {
            recorder
                .insert_events(&[event(id, v, "Parent.Wrote")])
                .unwrap();
        }
        assert!(child.wait().unwrap().success(), "the child writer failed");
        let until = Instant::now() + deadline() * 2;
        while !tail.is_finished() && Instant::now() < until {
            thread::sleep(Duration::from_millis(10));
        }
        stop.stop();
        (tail.join().unwrap(), read_all_after(recorder, before))
    });
    let ids = crate::support::ids(&all);
    assert_eq!(all.len(), total, "nothing lost");
    let children = all.iter().filter(|n| n.topic == "Child.Wrote").count();
    assert_eq!(children, total / 2, "every event of the child");
    if gap_free {
        assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "gap in {ids:?}");
    }
    assert_same_ids(
        &ids,
        &tailed,
        "the subscription tailing two processes' writes",
    );
}
