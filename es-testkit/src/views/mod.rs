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

use es_core::application::Application;
use es_core::domain::Topics;
use es_core::system::{Projection, ProjectionOptions, ProjectionRunner, Received};
use es_core::{Error, Result, ViewStore};

use crate::apps::Open;
use crate::apps::domain::{Dog, DogEvent};

mod properties;

pub use properties::{
    a_failing_event_keeps_the_events_before_it_once,
    a_transaction_commits_changes_and_tracking_together, competing_runners_apply_each_event_once,
    each_event_is_applied_once_across_restarts, filtered_events_are_waited_for,
    wait_stop_and_panics,
};

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
pub(crate) fn truth(dogs: &[Vec<String>]) -> Counts {
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
pub(crate) fn save_dog(app: &Application, name: &str, tricks: &[String]) -> u64 {
    let mut dog = Dog::register(name);
    for t in tricks {
        dog.trigger(dog.add_trick(t));
    }
    let recordings = app.save(&mut dog).unwrap();
    recordings.last().unwrap().notification_id
}

pub(crate) type Runner<V> = ProjectionRunner<<V as CounterView>::Store, Tally<V>>;

pub(crate) fn start<V: CounterView>(
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

pub(crate) fn tricks(dog: usize, n: usize) -> Vec<String> {
    (0..n).map(|t| format!("t{}", (dog + t) % 5)).collect()
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
