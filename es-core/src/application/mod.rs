//! Applications: save aggregates atomically, get them back (with snapshots and a cache), and
//! read the notification log.
//!
//! ```
//! # use es_testkit::apps::domain::{Dog, DogEvent};
//! use es_core::domain::Root;
//! use std::sync::Arc;
//! use es_core::application::Application;
//! use es_core::persistence::Recorders;
//! use es_core::Env;
//! use es_popo::PopoProcessRecorder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let recorders = Recorders::new(Arc::new(PopoProcessRecorder::default()));
//! let school = Application::new(Env::new("DogSchool"), recorders)?;
//! let mut dog = Root::<Dog>::create(DogEvent::Registered { name: "Fido".into() });
//! dog.trigger(DogEvent::TrickAdded { trick: "roll over".into() });
//! let recordings = school.save(&mut dog)?;
//! assert_eq!(recordings.len(), 2);
//! let copy = school.get::<Dog>(dog.id())?;
//! assert_eq!(copy.tricks, ["roll over"]);
//! # Ok(())
//! # }
//! ```

mod cache;
mod format;
mod log;
mod pending;
mod read_all;
mod recording;
mod save;
mod trace;
mod unit;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use uuid::Uuid;

use crate::domain::{Aggregate, Root};
use crate::mapper::Mapper;
use crate::persistence::Recorders;
use crate::{AggregateRecorder, Env, Error, EventQuery, ProcessRecorder, Result};

use cache::Cache;
pub use log::{DEFAULT_SECTION_SIZE, NotificationLog, Reader, Section};
pub use pending::Pending;
pub use read_all::{DEFAULT_PAGE_SIZE, Events, ReadAll};
pub use recording::Recording;
pub use save::Prepared;
pub(crate) use unit::UnitOfWork;

/// An event-sourced application: a name, an env, recorders and a mapper.
///
/// `AGGREGATE_CACHE_MAXSIZE` (unset: no cache; 0: unbounded) turns on the aggregate cache; a
/// cached aggregate is always fast-forwarded with the events recorded after it, so `get` never
/// returns state older than the store's.
pub struct Application {
    env: Env,
    recorders: Recorders,
    mapper: Mapper,
    cache: Option<Cache>,
    intervals: HashMap<&'static str, u64>,
    section_size: usize,
    listeners: RwLock<Vec<Listener>>,
}

/// Called after every successful record of an application with its recordings; an error is
/// returned to the caller of `save` as [`Error::Recorded`] (the events stay recorded). Runners
/// use it to prompt followers.
pub type Listener = Arc<dyn Fn(&[Recording]) -> Result<()> + Send + Sync>;

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("name", &self.name())
            .field("recorders", &self.recorders)
            .field("mapper", &self.mapper)
            .field("cache", &self.cache)
            .field("intervals", &self.intervals)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// The application named `env.name()`, with the mapper `env` configures.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for malformed cipher, compressor or cache settings, and naming
    /// `STORED_FORMAT` when the log holds topics of the other stored format (the Python
    /// library's `module:Qualname` topics, or this library's); the errors of reading the log's
    /// ends, except operational ones.
    pub fn new(env: Env, recorders: Recorders) -> Result<Self> {
        let mapper = Mapper::from_env(&env)?;
        format::check_log(mapper.format(), &*recorders.events, &env)?;
        let cache = env
            .parse::<usize>("AGGREGATE_CACHE_MAXSIZE")?
            .map(Cache::new);
        let section_size = log::section_size(&env)?;
        Ok(Self {
            env,
            recorders,
            mapper,
            cache,
            intervals: HashMap::new(),
            section_size,
            listeners: RwLock::new(Vec::new()),
        })
    }

    /// Snapshots aggregates of type `A` whenever a save takes one to a multiple of `interval`.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when the application has no snapshot store or `interval` is 0.
    pub fn with_snapshotting_interval<A: Aggregate>(self, interval: u64) -> Result<Self> {
        self.with_snapshotting_interval_for(A::NAME, interval)
    }

    /// As [`with_snapshotting_interval`](Self::with_snapshotting_interval), for the aggregate
    /// type named `aggregate` ([`Aggregate::NAME`]).
    ///
    /// # Errors
    ///
    /// As [`with_snapshotting_interval`](Self::with_snapshotting_interval).
    pub fn with_snapshotting_interval_for(
        mut self,
        aggregate: &'static str,
        interval: u64,
    ) -> Result<Self> {
        if self.recorders.snapshots.is_none() || interval == 0 {
            return Err(Error::programming(
                "snapshotting intervals need a snapshot store (IS_SNAPSHOTTING_ENABLED) and an interval above 0",
            ));
        }
        self.intervals.insert(aggregate, interval);
        Ok(self)
    }

    /// Adds a listener, called after each successful record.
    pub fn add_listener(&self, listener: Listener) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Removes every listener.
    pub fn clear_listeners(&self) {
        self.listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.env.name()
    }

    /// The env.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The events recorder.
    pub fn recorder(&self) -> &Arc<dyn ProcessRecorder> {
        &self.recorders.events
    }

    /// The snapshot recorder, when snapshotting is on.
    pub fn snapshot_recorder(&self) -> Option<&Arc<dyn AggregateRecorder>> {
        self.recorders.snapshots.as_ref()
    }

    /// The mapper.
    pub fn mapper(&self) -> &Mapper {
        &self.mapper
    }

    /// True when snapshots are stored.
    pub fn snapshotting(&self) -> bool {
        self.recorders.snapshots.is_some()
    }

    /// Saves the pending events of `aggregate` in one atomic insert.
    ///
    /// # Errors
    ///
    /// As [`save_all`](Self::save_all).
    pub fn save<P: Pending>(&self, aggregate: &mut P) -> Result<Vec<Recording>> {
        self.save_all(&mut [aggregate])
    }

    /// Saves the pending events of every aggregate in one atomic insert, in order, and returns
    /// their recordings. On success the events are no longer pending; on error nothing is
    /// recorded and they stay pending.
    ///
    /// # Errors
    ///
    /// [`Error::VersionConflict`] when another writer saved one of these aggregates first
    /// (reload and retry); [`Error::Encode`]; the recorder's errors. [`Error::Recorded`] when
    /// the events were recorded but the snapshot or a listener (a single-threaded runner's
    /// followers) failed afterwards: do not repeat the command.
    pub fn save_all(&self, aggregates: &mut [&mut dyn Pending]) -> Result<Vec<Recording>> {
        self.record(aggregates, None)
    }

    /// The latest version of aggregate `id`. While a runner processes a batch of
    /// notifications for this application, its policy gets (on the processing thread) the
    /// aggregates it changed for earlier notifications of the batch, as one-at-a-time
    /// processing would have committed them.
    ///
    /// # Errors
    ///
    /// [`Error::AggregateNotFound`] when it has no events; [`Error::Decode`]; the recorder's
    /// errors.
    pub fn get<A: Aggregate>(&self, id: Uuid) -> Result<Root<A>> {
        if let Some(changed) = unit::lookup::<Root<A>>(self, id) {
            return Ok(changed);
        }
        let Some(cache) = &self.cache else {
            let aggregate: Root<A> = self.load(id, None)?;
            trace::loaded(self.name(), id, aggregate.version(), false);
            return Ok(aggregate);
        };
        let (aggregate, cached) = match cache.get::<Root<A>>(id) {
            Some(mut cached) => {
                let after = EventQuery::new().after(cached.version());
                self.replay(id, &mut cached, &after)?;
                (cached, true)
            }
            None => (self.load(id, None)?, false),
        };
        trace::loaded(self.name(), id, aggregate.version(), cached);
        cache.put(id, aggregate.version(), Box::new(aggregate.clone()));
        Ok(aggregate)
    }

    /// Aggregate `id`, or a new one from `create` when it has no events.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), except not-found.
    pub fn get_or<A: Aggregate>(
        &self,
        id: Uuid,
        create: impl FnOnce() -> Root<A>,
    ) -> Result<Root<A>> {
        match self.get(id) {
            Err(e) if e.is_not_found() => Ok(create()),
            other => other,
        }
    }

    /// Aggregate `id`, or `None` when it has no events.
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get), except not-found.
    pub fn find<A: Aggregate>(&self, id: Uuid) -> Result<Option<Root<A>>> {
        match self.get(id) {
            Err(e) if e.is_not_found() => Ok(None),
            other => other.map(Some),
        }
    }

    /// Aggregate `id` as it was at `version` (or its latest version below it).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    pub fn get_at<A: Aggregate>(&self, id: Uuid, version: u64) -> Result<Root<A>> {
        self.load(id, Some(version))
    }

    /// True when aggregate `id` has events.
    ///
    /// # Errors
    ///
    /// The recorder's errors.
    pub fn contains(&self, id: Uuid) -> Result<bool> {
        if unit::holds(self, id) {
            return Ok(true);
        }
        let first = EventQuery::new().limit(1);
        Ok(!self.recorders.events.select_events(id, &first)?.is_empty())
    }

    /// Recorders a snapshot of aggregate `id` at `version` (the latest when `None`).
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] without a snapshot store; as [`get_at`](Self::get_at).
    pub fn take_snapshot<A: Aggregate>(&self, id: Uuid, version: Option<u64>) -> Result<()> {
        let Some(snapshots) = &self.recorders.snapshots else {
            return Err(Error::programming(
                "cannot take a snapshot: snapshotting is not enabled (IS_SNAPSHOTTING_ENABLED)",
            ));
        };
        let aggregate: Root<A> = self.load(id, version)?;
        match snapshots.insert_events(&[aggregate.snapshot(&self.mapper)?]) {
            // A snapshot of this version exists already: the same state.
            Err(e) if e.is_version_conflict() => Ok(()),
            other => other.map(drop),
        }
    }

    /// The notification log, in sections of `LOG_SECTION_SIZE` (10 by default, as the Python
    /// library's).
    pub fn notification_log(&self) -> NotificationLog {
        NotificationLog::new(Arc::clone(&self.recorders.events), self.section_size)
    }

    fn load<A: Aggregate>(&self, id: Uuid, version: Option<u64>) -> Result<Root<A>> {
        let mut aggregate = Root::<A>::empty(id);
        if let Some(snapshots) = &self.recorders.snapshots {
            let mut q = EventQuery::new().descending().limit(1);
            q.lte = version;
            if let Some(s) = snapshots.select_events(id, &q)?.first() {
                match self.mapper.restore_snapshot(s) {
                    Ok(restored) => aggregate = restored,
                    // The model changed since (a new field without a default, no upcaster):
                    // the events still hold everything.
                    Err(e) => tracing::warn!(
                        target: "eventsourcing::application",
                        application = self.name(),
                        aggregate = A::NAME,
                        %id,
                        version = s.originator_version,
                        error = %e.report(),
                        "a snapshot does not decode: replaying the aggregate from its events"
                    ),
                }
            }
        }
        let mut q = EventQuery::new().after(aggregate.version());
        q.lte = version;
        self.replay(id, &mut aggregate, &q)?;
        if aggregate.version() == 0 {
            return Err(Error::AggregateNotFound { id, version });
        }
        Ok(aggregate)
    }

    fn replay<A: Aggregate>(
        &self,
        id: Uuid,
        aggregate: &mut Root<A>,
        query: &EventQuery,
    ) -> Result<()> {
        for stored in &self.recorders.events.select_events(id, query)? {
            aggregate.mutate(&self.mapper.decode(stored)?)?;
        }
        Ok(())
    }
}
