//! Properties of [`ApplicationRecorder`]s: the Python `ApplicationRecorderTestCase` (the whole
//! select matrix and the subscription case), ported, and model-based properties.

use std::thread;
use std::time::Duration;

use es_core::{ApplicationRecorder, Notification, NotificationId, NotificationQuery, Uuid};

use crate::model::{Target, execute};
use crate::run::run_ops;
use crate::strategies::Level;
use crate::support::{event, ids, next_ids};

const REGRESSIONS: &str = "application";

fn select<R: ApplicationRecorder + ?Sized>(r: &R, q: &NotificationQuery) -> Vec<u64> {
    ids(&r.select_notifications(q).unwrap())
}

/// Python `test_insert_select`: ids returned in input order, contiguous per batch, and the full
/// `select_notifications` matrix (start inclusive and exclusive, stop, topics, limit after the
/// topic filter). Ids are taken relative to the log's maximum at the start, so the property holds
/// on a store that is not empty and on one that leaves gaps.
pub fn insert_select<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let base = r.max_notification_id().unwrap();
    // From the start of the case: the whole log on an empty store.
    let from_start = |limit| match base {
        None => NotificationQuery::new(limit),
        Some(b) => NotificationQuery::new(limit).after(b),
    };
    assert!(r.select_notifications(&from_start(3)).unwrap().is_empty());
    let (t1, t2, t3) = ("topic1", "topic2", "topic3");
    let all_topics = from_start(3).topics([t1, t2, t3]);
    assert!(r.select_notifications(&all_topics).unwrap().is_empty());

    let id1 = Uuid::new_v4();
    let id2 = Uuid::new_v4();
    let (e1, e2, e3) = (event(id1, 1, t1), event(id1, 2, t2), event(id2, 1, t3));
    let first = r.insert_events(&[e1.clone(), e2.clone()]).unwrap();
    assert_eq!(first.len(), 2, "one id per event");
    let (n1, n2) = (first[0], first[1]);
    assert!(
        base.is_none_or(|b| n1 > b),
        "ids above the previous maximum"
    );
    assert_eq!(n2, n1 + 1, "ids of one batch are contiguous");
    let second = r.insert_events(std::slice::from_ref(&e3)).unwrap();
    assert_eq!(second.len(), 1);
    let n3 = second[0];
    assert!(n3 > n2, "later inserts get greater ids");
    let dup = r.insert_events(std::slice::from_ref(&e3)).unwrap_err();
    assert!(dup.is_version_conflict(), "duplicate e3: {dup}");

    let everything = r.select_notifications(&from_start(10)).unwrap();
    assert_eq!(
        everything,
        [
            Notification::new(n1, e1),
            Notification::new(n2, e2),
            Notification::new(n3, e3)
        ],
        "every field round-trips"
    );
    let q = NotificationQuery::new;
    assert_eq!(select(&r, &q(10).start_at(n1)), [n1, n2, n3]);
    assert_eq!(select(&r, &from_start(10).stop_at(n2)), [n1, n2]);
    assert_eq!(select(&r, &q(10).after(n1)), [n2, n3]);
    assert_eq!(select(&r, &q(10).after(n2)), [n3]);
    assert_eq!(
        select(&r, &from_start(10).topics([t1, t2, t3])),
        [n1, n2, n3]
    );
    assert_eq!(select(&r, &q(10).start_at(n1).topics([t1])), [n1]);
    assert_eq!(select(&r, &q(3).start_at(n1).topics([t2])), [n2]);
    assert_eq!(select(&r, &q(3).start_at(n1).topics([t3])), [n3]);
    assert_eq!(select(&r, &q(3).start_at(n1).topics([t1, t3])), [n1, n3]);
    assert_eq!(
        select(&r, &q(1).start_at(n1).topics([t3])),
        [n3],
        "the limit applies after the topic filter"
    );
    assert_eq!(r.max_notification_id().unwrap(), Some(n3));
    assert_eq!(select(&r, &from_start(1)), [n1]);
    assert_eq!(select(&r, &q(1).start_at(n2)), [n2]);
    assert_eq!(select(&r, &q(1).after(n1)), [n2]);
    assert_eq!(select(&r, &q(2).start_at(n2)), [n2, n3]);
    assert_eq!(select(&r, &q(1).start_at(n3)), [n3]);
    assert!(select(&r, &q(1).after(n3)).is_empty());
    assert_eq!(select(&r, &q(10).start_at(n2).stop_at(n2)), [n2]);
    assert_eq!(select(&r, &q(10).start_at(n1).stop_at(n2)), [n1, n2]);
    assert_eq!(select(&r, &q(10).after(n1).stop_at(n2)), [n2]);
    assert!(
        select(&r, &q(0).start_at(n1)).is_empty(),
        "limit 0 selects nothing"
    );
    assert!(select(&r, &q(10).start_at(n3).stop_at(n2)).is_empty());
    assert!(select(&r, &q(10).after(u64::MAX)).is_empty());
}

/// An empty insert returns an empty `Vec` (Python's PostgreSQL recorder returned `None`).
pub fn empty_insert_returns_no_ids<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let before = r.max_notification_id().unwrap();
    assert!(r.insert_events(&[]).unwrap().is_empty());
    assert_eq!(r.max_notification_id().unwrap(), before);
}

/// Random sequences of batches, selects and `max_notification_id` agree with the model: every
/// result, every error kind, and ids contiguous per batch and increasing across batches.
pub fn model_based<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Application, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Application(&r), ops, false)
    });
}

/// For gap-free backends (in-memory, SQLite): as [`model_based`], and every id is exactly one
/// more than the previous one, failed inserts included.
pub fn model_based_gap_free<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    run_ops(Level::Application, REGRESSIONS, |ops| {
        let r = make();
        execute(Target::Application(&r), ops, true)
    });
}

/// Python `optional_test_insert_subscribe`: a subscription yields what exists after `gt`, then
/// what is inserted later, in order; stopping ends it, also before the first `next`; the topic
/// filter applies.
pub fn subscribe_catches_up_then_follows<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let max0 = r.max_notification_id().unwrap();
    let id = Uuid::new_v4();
    let a = r
        .insert_events(&[event(id, 1, "topic1"), event(id, 2, "topic2")])
        .unwrap();
    let mut sub = r.subscribe(max0, &[]).unwrap();
    assert_eq!(next_ids(&mut sub, 2, "catching up"), a, "catches up");
    let b = r.insert_events(&[event(id, 3, "topic3")]).unwrap();
    assert_eq!(
        next_ids(&mut sub, 1, "a later insert"),
        b,
        "the same live subscription yields later inserts"
    );
    sub.stop();
    assert!(sub.next().is_none(), "stop ends the iteration");

    let mut sub = r.subscribe(Some(a[1]), &[]).unwrap();
    assert_eq!(next_ids(&mut sub, 1, "after a given id"), b);
    sub.stop();

    let sub = r.subscribe(max0, &[]).unwrap();
    sub.stop();
    assert_eq!(sub.count(), 0, "stopped before iterating yields nothing");

    let mut sub = r.subscribe(max0, &["topic3".to_owned()]).unwrap();
    assert_eq!(
        next_ids(&mut sub, 1, "the subscribed topic"),
        b,
        "only the subscribed topic"
    );
    let c = r
        .insert_events(&[event(id, 4, "topic1"), event(id, 5, "topic3")])
        .unwrap();
    assert_eq!(next_ids(&mut sub, 1, "the subscribed topic, live"), [c[1]]);
}

/// What the reader of [`subscription_wakes_on_insert_and_stop`] saw.
enum Seen {
    Item(Option<NotificationId>),
    Ended,
}

/// Python `test_subscribe` (the waking part): a subscription that has caught up blocks, is
/// woken by an insert, and ends when stopped from another thread. Every wait is bounded by the
/// kit's deadline; the pause before the insert only makes it likely that the reader blocked
/// first (a subscription that is never woken is caught then), and a correct recorder passes
/// whatever the pause.
pub fn subscription_wakes_on_insert_and_stop<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let max0 = r.max_notification_id().unwrap();
    let id = Uuid::new_v4();
    let first = r.insert_events(&[event(id, 1, "topic1")]).unwrap()[0];
    let mut sub = r.subscribe(max0, &[]).unwrap();
    let stop = sub.stop_handle();
    let (tx, rx) = std::sync::mpsc::channel();
    // Not scoped: a subscription that ignores `stop` must fail the property, not hang it.
    thread::spawn(move || {
        for item in sub.by_ref() {
            if tx.send(Seen::Item(item.ok().map(|n| n.id))).is_err() {
                return;
            }
        }
        let _ = tx.send(Seen::Ended);
    });
    let next = |what: &str| match rx.recv_timeout(crate::support::deadline()) {
        Ok(seen) => seen,
        Err(_) => {
            stop.stop();
            panic!("{what}: nothing within {:?}", crate::support::deadline())
        }
    };
    assert!(
        matches!(next("the backlog"), Seen::Item(Some(n)) if n == first),
        "the backlog first"
    );
    // The reader fetches again, finds nothing and blocks: far longer than that takes.
    thread::sleep(Duration::from_millis(200));
    let second = r.insert_events(&[event(id, 2, "topic1")]).unwrap()[0];
    assert!(
        matches!(next("woken by the insert"), Seen::Item(Some(n)) if n == second),
        "woken by the insert"
    );
    stop.stop();
    assert!(
        matches!(next("ended by stop"), Seen::Ended),
        "stopped from another thread"
    );
}
