//! The view suite's properties (see [`views`](super)).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_core::system::EdgeState;
use es_core::{Error, TimeoutKind, Tracking, TrackingRecorder, ViewStore};

use super::{CounterView, Counts, save_dog, start, tricks, truth};
use crate::apps::domain::Counter;
use crate::apps::{Open, application};
use crate::support::deadline;

/// What a property runs on: an application on `storage` (kept open by `_open`), a fresh view,
/// and the tricks that fail the projection.
struct Fixture<V> {
    _open: Open,
    app: Arc<es_core::application::Application>,
    view: Arc<V>,
    poison: Arc<Mutex<HashSet<String>>>,
}

impl<V: CounterView> Fixture<V> {
    fn new(make: &dyn Fn() -> V, storage: &dyn Fn() -> Open, poisoned: &[&str]) -> Self {
        let open = storage();
        Self {
            app: Arc::new(application(&open, "views", &[], false)),
            _open: open,
            view: Arc::new(make()),
            poison: Arc::new(Mutex::new(
                poisoned.iter().map(|t| (*t).to_owned()).collect(),
            )),
        }
    }
}

/// Python's `EventCountersViewTestCase`, on the store alone: tracking records commit with
/// the view's changes; a record at or below the position (also one covering a batch that
/// overlaps it) is refused and changes nothing; a failing transaction changes nothing;
/// `wait` returns once processed and times out before.
pub fn a_transaction_commits_changes_and_tracking_together<V: CounterView>(
    make: &dyn Fn() -> V,
    _storage: &dyn Fn() -> Open,
) {
    let view = make();
    let store = view.store();
    store.migrate(|tx| view.create(tx)).unwrap();
    assert_eq!(store.max_tracking_id("upstream").unwrap(), None);
    for (id, key) in [(1, "created"), (2, "subsequent"), (3, "subsequent")] {
        store
            .transact(&Tracking::new("upstream", id), |tx| view.add(tx, key, 1))
            .unwrap();
    }
    let expected: Counts = [("created".into(), 1), ("subsequent".into(), 2)].into();
    assert_eq!(view.counts().unwrap(), expected);
    assert_eq!(store.max_tracking_id("upstream").unwrap(), Some(3));
    let e = store
        .transact(&Tracking::new("upstream", 3), |tx| {
            view.add(tx, "created", 1)
        })
        .unwrap_err();
    assert!(e.is_tracking_conflict(), "a repeated record: {e}");
    let e = store
        .transact(&Tracking::batch("upstream", 2, 5), |tx| {
            view.add(tx, "created", 1)
        })
        .unwrap_err();
    assert!(
        e.is_tracking_conflict(),
        "a batch overlapping the position: {e}"
    );
    let e = store
        .transact(&Tracking::new("upstream", 4), |tx| {
            view.add(tx, "created", 1)?;
            Err::<(), _>(Error::permanent("the projection failed"))
        })
        .unwrap_err();
    assert!(!e.is_tracking_conflict(), "{e}");
    assert_eq!(
        view.counts().unwrap(),
        expected,
        "refused or failed transactions changed the view"
    );
    assert_eq!(store.max_tracking_id("upstream").unwrap(), Some(3));
    store.wait("upstream", 3, deadline(), None).unwrap();
    let e = store
        .wait("upstream", 4, Duration::from_millis(200), None)
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                kind: TimeoutKind::Wait,
                ..
            }
        ),
        "{e}"
    );
    store
        .transact(&Tracking::batch("upstream", 4, 6), |tx| {
            view.add(tx, "created", 2)
        })
        .unwrap();
    assert_eq!(store.max_tracking_id("upstream").unwrap(), Some(6));
    assert_eq!(store.max_tracking_id("another").unwrap(), None);
}

/// A projection that fails at an event in the middle of a batch: the view holds exactly the
/// events before it, its position is the one before it, every `wait` beyond returns the error
/// at once (again and again), as do `run_forever` and `stop`, and a runner started after the
/// cure applies the rest, each event once.
pub fn a_failing_event_keeps_the_events_before_it_once<V: CounterView>(
    make: &dyn Fn() -> V,
    storage: &dyn Fn() -> Open,
) where
    V::Store: Send + Sync,
{
    let Fixture {
        _open,
        app,
        view,
        poison,
    } = Fixture::new(make, storage, &["poisoned"]);
    let mut dogs = vec![tricks(0, 3), tricks(1, 2)];
    for (i, t) in dogs.iter().enumerate() {
        save_dog(&app, &format!("dog{i}"), t);
    }
    let before = app.recorder().max_notification_id().unwrap().unwrap();
    let poisoned = vec!["poisoned".to_owned(), "t9".to_owned()];
    let last = save_dog(&app, "poisoned", &poisoned);
    let runner = start(&app, &view, &poison, 500);
    let e = runner.wait(last, deadline()).unwrap_err();
    assert!(matches!(e, Error::EdgeStopped { .. }), "{e}");
    let again = runner.wait(last, Duration::from_millis(1)).unwrap_err();
    assert!(
        matches!(again, Error::EdgeStopped { .. }),
        "the error is kept: {again}"
    );
    assert!(runner.run_forever(Some(deadline())).is_err());
    let mut expected = truth(&dogs);
    *expected.entry("dogs".into()).or_default() += 1;
    assert_eq!(
        view.counts().unwrap(),
        expected,
        "the events before the failing one, once"
    );
    // The registration of the poisoned dog is applied; its first trick is where it stops.
    assert_eq!(
        view.store().max_tracking_id(app.name()).unwrap(),
        Some(before + 1)
    );
    // Python's `test_exit_raises_processing_error`: stopping returns the error too.
    let stopped = runner.stop().unwrap_err();
    assert!(
        matches!(stopped, Error::EdgeStopped { .. }),
        "stop returns the error: {stopped}"
    );
    drop(runner);
    poison.lock().unwrap().clear();
    let runner = start(&app, &view, &poison, 500);
    runner.wait(last, deadline()).unwrap();
    dogs.push(poisoned);
    assert_eq!(view.counts().unwrap(), truth(&dogs));
}

/// Runners started, stopped, dropped mid-way and restarted with different batch sizes while
/// events are saved: the view ends with every event applied exactly once and its position at
/// the end of the log.
pub fn each_event_is_applied_once_across_restarts<V: CounterView>(
    make: &dyn Fn() -> V,
    storage: &dyn Fn() -> Open,
) where
    V::Store: Send + Sync,
{
    let Fixture {
        _open,
        app,
        view,
        poison,
    } = Fixture::new(make, storage, &[]);
    let mut dogs = Vec::new();
    for round in 0..6 {
        let batch = [1, 3, 500][round % 3];
        let runner = start(&app, &view, &poison, batch);
        let mut last = 0;
        for d in 0..4 {
            let t = tricks(round * 4 + d, d + 1);
            last = save_dog(&app, &format!("dog{round}-{d}"), &t);
            dogs.push(t);
        }
        if round % 2 == 0 {
            runner.wait(last, deadline()).unwrap();
        }
        // Odd rounds drop the runner wherever it is.
        drop(runner);
    }
    let runner = start(&app, &view, &poison, 7);
    let last = app.recorder().max_notification_id().unwrap().unwrap();
    runner.wait(last, deadline()).unwrap();
    assert_eq!(view.counts().unwrap(), truth(&dogs));
    assert_eq!(
        view.store().max_tracking_id(app.name()).unwrap(),
        Some(last)
    );
}

/// Three runners on one view while a writer saves: every event applied exactly once, no
/// runner failed.
pub fn competing_runners_apply_each_event_once<V: CounterView>(
    make: &dyn Fn() -> V,
    storage: &dyn Fn() -> Open,
) where
    V::Store: Send + Sync,
{
    let Fixture {
        _open,
        app,
        view,
        poison,
    } = Fixture::new(make, storage, &[]);
    // Each runner knows where it starts when `start` returns: all three start before the
    // first event, so each reads every event and must not apply what another applied.
    let runners: Vec<_> = [1, 1, 3]
        .into_iter()
        .map(|batch| start(&app, &view, &poison, batch))
        .collect();
    let dogs: Vec<_> = (0..40).map(|d| tricks(d, d % 4)).collect();
    let mut last = 0;
    for (d, t) in dogs.iter().enumerate() {
        last = save_dog(&app, &format!("dog{d}"), t);
    }
    // Each runner, not only the first, must have come to the end: the view is checked after
    // all three have read every event.
    let started = std::time::Instant::now();
    for runner in &runners {
        runner.wait(last, deadline()).unwrap();
        while runner.health().unwrap().followed < Some(last) {
            assert!(
                started.elapsed() < deadline(),
                "a runner stayed behind: {:?}",
                runner.health().unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    for runner in &runners {
        let health = runner.health().unwrap();
        assert!(
            !matches!(health.state, EdgeState::Failed { .. }),
            "{health:?}"
        );
    }
    assert_eq!(view.counts().unwrap(), truth(&dogs));
}

/// Events the projection does not follow (another aggregate's) still advance its position:
/// `wait` on them returns (the Python library's `wait` times out there) and the view is
/// unchanged.
pub fn filtered_events_are_waited_for<V: CounterView>(
    make: &dyn Fn() -> V,
    storage: &dyn Fn() -> Open,
) where
    V::Store: Send + Sync,
{
    let Fixture {
        _open,
        app,
        view,
        poison,
    } = Fixture::new(make, storage, &[]);
    let dogs = vec![tricks(0, 2)];
    save_dog(&app, "dog", &dogs[0]);
    let mut counter = Counter::start("foreign");
    let last = app
        .save(&mut counter)
        .unwrap()
        .last()
        .unwrap()
        .notification_id;
    let runner = start(&app, &view, &poison, 500);
    runner.wait(last, deadline()).unwrap();
    assert_eq!(view.counts().unwrap(), truth(&dogs));
    assert_eq!(
        view.store().max_tracking_id(app.name()).unwrap(),
        Some(last)
    );
    let health = runner.health().unwrap();
    assert_eq!((health.lag, health.position), (0, Some(last)), "{health:?}");
}

/// `wait` beyond the log times out; `run_forever` returns at its timeout; after `stop`, `wait`
/// is interrupted and `run_forever` returns; a panicking projection fails with the panic,
/// shown in health, and the events before it are kept.
pub fn wait_stop_and_panics<V: CounterView>(make: &dyn Fn() -> V, storage: &dyn Fn() -> Open)
where
    V::Store: Send + Sync,
{
    let Fixture {
        _open,
        app,
        view,
        poison,
    } = Fixture::new(make, storage, &["panic-now"]);
    let dogs = vec![tricks(0, 1)];
    let last = save_dog(&app, "dog", &dogs[0]);
    let runner = start(&app, &view, &poison, 500);
    runner.wait(last, deadline()).unwrap();
    let e = runner
        .wait(last + 1, Duration::from_millis(100))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                kind: TimeoutKind::Wait,
                ..
            }
        ),
        "{e}"
    );
    runner.run_forever(Some(Duration::from_millis(50))).unwrap();
    // Stopped from this thread while two others block in `wait` and `run_forever` (Python's
    // `test_runner_stop`): both return, `wait` interrupted.
    std::thread::scope(|s| {
        let waiting = s.spawn(|| runner.wait(last + 1, deadline() * 4));
        let running = s.spawn(|| runner.run_forever(None));
        std::thread::sleep(Duration::from_millis(20));
        runner.stop().unwrap();
        let e = waiting.join().unwrap().unwrap_err();
        assert!(matches!(e, Error::WaitInterrupted), "{e}");
        running.join().unwrap().unwrap();
    });
    let e = runner.wait(last + 1, deadline()).unwrap_err();
    assert!(matches!(e, Error::WaitInterrupted), "{e}");
    runner.run_forever(None).unwrap();
    drop(runner);

    let runner = start(&app, &view, &poison, 500);
    let last = save_dog(&app, "panicky", &["panic-now".to_owned()]);
    let e = runner.wait(last, deadline()).unwrap_err();
    assert!(
        e.report().to_string().contains("cannot tally panic-now"),
        "{}",
        e.report()
    );
    let health = runner.health().unwrap();
    assert!(
        matches!(&health.state, EdgeState::Failed { error } if error.contains("panic")),
        "{health:?}"
    );
    let mut expected = truth(&dogs);
    *expected.entry("dogs".into()).or_default() += 1;
    assert_eq!(view.counts().unwrap(), expected);
}
