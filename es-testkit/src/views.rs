//! The view suite: what a projection's [`ViewStore`] and the [`ProjectionRunner`] over it
//! guarantee on a backend. A backend states how a view of counters is written and read in it
//! ([`CounterView`], a few lines of SQL), and every property runs on that.
//!
//! The properties port the Python library's projection tests (`EventCountersViewTestCase`,
//! the runner's tests) and add what it lacks: batches, restarts, competing instances, filtered
//! events that `wait` does not hang on, and panics.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_core::application::Application;
use es_core::domain::Topics;
use es_core::system::{Projection, ProjectionOptions, ProjectionRunner, Received};
use es_core::{Error, Result, TimeoutKind, Tracking, TrackingRecorder, ViewStore};

use crate::apps::domain::{Counter, Dog, DogEvent};
use crate::apps::{Open, application};
use crate::support::deadline;

/// Counters by key.
pub type Counts = BTreeMap<String, u64>;

/// A view of counters in a backend's [`ViewStore`]: how the kit creates, changes and reads it.
/// Each value is one fresh view (its own tables); the suite makes one per property.
pub trait CounterView: Send + Sync + 'static {
    /// The backend's view store.
    type Store: ViewStore;

    /// The store (clones share it).
    fn store(&self) -> Arc<Self::Store>;

    /// Creates the counters table.
    ///
    /// # Errors
    ///
    /// The store's.
    fn create(&self, tx: &mut <Self::Store as ViewStore>::Tx<'_>) -> Result<()>;

    /// Adds `by` to counter `key` (creating it at `by`).
    ///
    /// # Errors
    ///
    /// The store's.
    fn add(&self, tx: &mut <Self::Store as ViewStore>::Tx<'_>, key: &str, by: u64) -> Result<()>;

    /// Every counter, as committed.
    ///
    /// # Errors
    ///
    /// The store's.
    fn counts(&self) -> Result<Counts>;
}

/// [`CounterView`] for a store whose transaction is the [`Counts`] themselves (in memory).
pub struct MapCounters<S>(pub Arc<S>, pub fn(&S) -> Counts);

impl<S: std::fmt::Debug> std::fmt::Debug for MapCounters<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MapCounters").field(&self.0).finish()
    }
}

impl<S> CounterView for MapCounters<S>
where
    S: for<'a> ViewStore<Tx<'a> = Counts> + Send + Sync,
{
    type Store = S;

    fn store(&self) -> Arc<S> {
        Arc::clone(&self.0)
    }

    fn create(&self, _: &mut Counts) -> Result<()> {
        Ok(())
    }

    fn add(&self, tx: &mut Counts, key: &str, by: u64) -> Result<()> {
        *tx.entry(key.to_owned()).or_default() += by;
        Ok(())
    }

    fn counts(&self) -> Result<Counts> {
        Ok((self.1)(&self.0))
    }
}

/// The kit's projection: counts dogs, tricks and each trick, following `Dog` events only
/// (the tutorial's counters, as a view). Tricks in its poison set fail it: `panic-…` ones
/// panic, the others fail with a permanent error.
pub struct Tally<V> {
    view: Arc<V>,
    poison: Arc<Mutex<HashSet<String>>>,
    _v: PhantomData<fn() -> V>,
}

impl<V> std::fmt::Debug for Tally<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally").finish_non_exhaustive()
    }
}

impl<V> Tally<V> {
    /// A tally writing through `view`, failing on the tricks of `poison`.
    pub fn new(view: &Arc<V>, poison: &Arc<Mutex<HashSet<String>>>) -> Self {
        Self {
            view: Arc::clone(view),
            poison: Arc::clone(poison),
            _v: PhantomData,
        }
    }
}

impl<V: CounterView> Projection<V::Store> for Tally<V> {
    const NAME: &'static str = "tally";

    fn follows() -> Option<Topics> {
        Some(Topics::new().event::<DogEvent>())
    }

    fn create_view(&self, tx: &mut <V::Store as ViewStore>::Tx<'_>) -> Result<()> {
        self.view.create(tx)
    }

    fn process(
        &self,
        event: &Received<'_>,
        tx: &mut <V::Store as ViewStore>::Tx<'_>,
    ) -> Result<()> {
        match event.decode::<DogEvent>()? {
            Some(DogEvent::Registered { .. }) => self.view.add(tx, "dogs", 1),
            Some(DogEvent::TrickAdded { trick }) => {
                if self.poison.lock().unwrap().contains(&trick) {
                    if trick.starts_with("panic-") {
                        panic!("cannot tally {trick}");
                    }
                    return Err(Error::permanent(format!("will not tally {trick}")));
                }
                self.view.add(tx, "tricks", 1)?;
                self.view.add(tx, &format!("trick:{trick}"), 1)
            }
            None => Ok(()),
        }
    }
}

/// What a view that applied every event of `tricks` exactly once holds: one dog per entry,
/// and its tricks.
fn truth(dogs: &[Vec<String>]) -> Counts {
    let mut counts = Counts::new();
    let mut add = |k: String| *counts.entry(k).or_default() += 1;
    for tricks in dogs {
        add("dogs".into());
        for t in tricks {
            add("tricks".into());
            add(format!("trick:{t}"));
        }
    }
    counts
}

/// Saves a dog with `tricks` (one event each); returns the last notification id.
fn save_dog(app: &Application, name: &str, tricks: &[String]) -> u64 {
    let mut dog = Dog::register(name);
    for t in tricks {
        dog.trigger(dog.add_trick(t));
    }
    let recordings = app.save(&mut dog).unwrap();
    recordings.last().unwrap().notification_id
}

type Runner<V> = ProjectionRunner<<V as CounterView>::Store, Tally<V>>;

fn start<V: CounterView>(
    app: &Arc<Application>,
    view: &Arc<V>,
    poison: &Arc<Mutex<HashSet<String>>>,
    batch: usize,
) -> Runner<V>
where
    V::Store: Send + Sync,
{
    ProjectionRunner::start_with(
        Arc::clone(app),
        Tally::new(view, poison),
        view.store(),
        ProjectionOptions::default().batch(batch),
    )
    .unwrap()
}

fn tricks(dog: usize, n: usize) -> Vec<String> {
    (0..n).map(|t| format!("t{}", (dog + t) % 5)).collect()
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
/// at once (again and again), and a runner started after the cure applies the rest, each
/// event once.
pub fn a_failing_event_keeps_the_events_before_it_once<V: CounterView>(
    make: &dyn Fn() -> V,
    storage: &dyn Fn() -> Open,
) where
    V::Store: Send + Sync,
{
    let open = storage();
    let app = Arc::new(application(&open, "views", &[], false));
    let view = Arc::new(make());
    let poison = Arc::new(Mutex::new(HashSet::from(["poisoned".to_owned()])));
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
    let open = storage();
    let app = Arc::new(application(&open, "views", &[], false));
    let view = Arc::new(make());
    let poison = Arc::new(Mutex::new(HashSet::new()));
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
    let open = storage();
    let app = Arc::new(application(&open, "views", &[], false));
    let view = Arc::new(make());
    let poison = Arc::new(Mutex::new(HashSet::new()));
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
    for runner in &runners {
        runner.wait(last, deadline()).unwrap();
    }
    for runner in &runners {
        let health = runner.health().unwrap();
        assert!(
            !matches!(health.state, es_core::system::EdgeState::Failed { .. }),
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
    let open = storage();
    let app = Arc::new(application(&open, "views", &[], false));
    let view = Arc::new(make());
    let poison = Arc::new(Mutex::new(HashSet::new()));
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
    let open = storage();
    let app = Arc::new(application(&open, "views", &[], false));
    let view = Arc::new(make());
    let poison = Arc::new(Mutex::new(HashSet::from(["panic-now".to_owned()])));
    let dogs = vec![tricks(0, 1)];
    let last = save_dog(&app, "dog", &dogs[0]);
    let mut runner = start(&app, &view, &poison, 500);
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
    runner.stop().unwrap();
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
        matches!(&health.state, es_core::system::EdgeState::Failed { error } if error.contains("panic")),
        "{health:?}"
    );
    let mut expected = truth(&dogs);
    *expected.entry("dogs".into()).or_default() += 1;
    assert_eq!(view.counts().unwrap(), expected);
}

/// Runs every property of the suite on views from `make` and upstream applications on
/// `storage`.
pub fn check_view_store<V: CounterView>(make: &dyn Fn() -> V, storage: &dyn Fn() -> Open)
where
    V::Store: Send + Sync,
{
    a_transaction_commits_changes_and_tracking_together(make, storage);
    a_failing_event_keeps_the_events_before_it_once(make, storage);
    each_event_is_applied_once_across_restarts(make, storage);
    competing_runners_apply_each_event_once(make, storage);
    filtered_events_are_waited_for(make, storage);
    wait_stop_and_panics(make, storage);
}

/// One `#[test]` per view property, in a module `views`: `view_tests!(make, storage)` with
/// `make` a `fn() -> impl CounterView` (a fresh view each call) and `storage` the application
/// suite's storage factory, for the upstream applications; a trailing `; if COND` skips when
/// `COND` is false.
#[macro_export]
macro_rules! view_tests {
    ($make:expr, $storage:expr $(; if $cond:expr)?) => {
        mod views {
            #[allow(unused_imports)]
            use super::*;
            $crate::__view_tests!($crate::__condition!($($cond)?), $make, $storage;
                a_transaction_commits_changes_and_tracking_together,
                a_failing_event_keeps_the_events_before_it_once,
                each_event_is_applied_once_across_restarts,
                competing_runners_apply_each_event_once,
                filtered_events_are_waited_for,
                wait_stop_and_panics,
            );
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __view_tests {
    ($cond:expr, $make:expr, $storage:expr; $($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            if !($cond) {
                return;
            }
            $crate::bounded(stringify!($name), || $crate::views::$name(&$make, &$storage));
        }
    )*};
}
