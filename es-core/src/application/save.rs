//! Saving in two halves: [`Application::prepare`] encodes (no I/O), [`Application::commit`]
//! writes. [`Application::record`] runs both; an async caller runs the second on a blocking
//! thread, so the aggregates never cross threads.

use std::any::Any;
use std::fmt;
use std::sync::PoisonError;

use uuid::Uuid;

use super::recording::recorded;
use super::{Application, Pending, Recording, trace};
use crate::{Error, Result, StoredEvent, Tracking};

/// A save encoded and ready to commit: the events, the snapshots that will be due and the
/// aggregates' copies for the cache. See [`Application::prepare`].
pub struct Prepared {
    events: Vec<StoredEvent>,
    aggregates: usize,
    snapshots: Vec<StoredEvent>,
    cached: Vec<(Uuid, u64, Box<dyn Any + Send + Sync>)>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("events", &self.events.len())
            .field("aggregates", &self.aggregates)
            .field("snapshots", &self.snapshots.len())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The encoded events, in order.
    pub fn events(&self) -> &[StoredEvent] {
        &self.events
    }
}

impl Application {
    /// Saves as [`save_all`](Self::save_all), together with `tracking` when given, in one
    /// transaction: how process applications record what a policy produced.
    ///
    /// # Errors
    ///
    /// As [`save_all`](Self::save_all), and [`Error::TrackingConflict`].
    pub fn record(
        &self,
        aggregates: &mut [&mut dyn Pending],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<Recording>> {
        let prepared = self.prepare(aggregates.iter().map(|a| &**a))?;
        let result = self.commit(prepared, tracking);
        if matches!(result, Ok(_) | Err(Error::Recorded { .. })) {
            for a in aggregates.iter_mut() {
                a.clear_pending();
            }
        }
        result
    }

    /// The first half of a save: encodes the pending events of `aggregates` (and the
    /// snapshots the save will make due, and the cache's copies), with no I/O. The aggregates
    /// are not changed: after a successful [`commit`](Self::commit) (or one that fails with
    /// [`Error::Recorded`]) call [`Pending::clear_pending`] on each.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when an event or a due snapshot cannot be encoded.
    pub fn prepare<'a>(
        &self,
        aggregates: impl IntoIterator<Item = &'a dyn Pending>,
    ) -> Result<Prepared> {
        let mut prepared = Prepared {
            events: Vec::new(),
            aggregates: 0,
            snapshots: Vec::new(),
            cached: Vec::new(),
        };
        let aggregates: Vec<&dyn Pending> = aggregates.into_iter().collect();
        for a in &aggregates {
            let stored = a.stored_events(self.mapper())?;
            let saved = u64::try_from(stored.len()).unwrap_or(u64::MAX);
            prepared.events.extend(stored);
            prepared.aggregates += 1;
            let (_, version) = a.position();
            let due = self
                .intervals
                .get(a.type_name())
                .is_some_and(|&n| (version - saved.min(version) + 1..=version).any(|v| v % n == 0));
            if due && self.recorders.snapshots.is_some() {
                prepared.snapshots.push(a.snapshot(self.mapper())?);
            }
        }
        if self.cache.is_some() {
            // A follower's batch collects one aggregate many times: cache its last copy only.
            let mut seen = std::collections::HashSet::with_capacity(aggregates.len());
            for a in aggregates.iter().rev() {
                let (id, version) = a.position();
                if seen.insert(id) {
                    prepared.cached.push((id, version, a.cache_copy()));
                }
            }
        }
        Ok(prepared)
    }

    /// The second half of a save: inserts the prepared events (with `tracking` when given)
    /// in one transaction, then updates the cache, records the due snapshots and calls the
    /// listeners. Blocks on the store.
    ///
    /// # Errors
    ///
    /// As [`record`](Self::record).
    pub fn commit(
        &self,
        prepared: Prepared,
        tracking: Option<&Tracking>,
    ) -> Result<Vec<Recording>> {
        let events = prepared.events;
        let ids = match tracking {
            Some(t) => self
                .recorders
                .events
                .insert_events_with_tracking(&events, t)?,
            None => self.recorders.events.insert_events(&events)?,
        };
        let recordings: Vec<Recording> = events
            .into_iter()
            .zip(ids)
            .map(|(e, notification_id)| Recording {
                originator_id: e.originator_id,
                originator_version: e.originator_version,
                topic: e.topic,
                notification_id,
            })
            .collect();
        if let Some(cache) = &self.cache {
            for (id, version, copy) in prepared.cached {
                cache.put(id, version, copy);
            }
        }
        // Only after every aggregate's events are in: a failing snapshot loses none of them.
        if let Some(snapshots) = &self.recorders.snapshots {
            for snapshot in &prepared.snapshots {
                snapshots
                    .insert_events(std::slice::from_ref(snapshot))
                    .map_err(|e| recorded(&recordings, e))?;
            }
        }
        trace::saved(self.name(), prepared.aggregates, &recordings);
        if !recordings.is_empty() {
            let listeners = self
                .listeners
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            for listener in listeners {
                listener(&recordings).map_err(|e| recorded(&recordings, e))?;
            }
        }
        Ok(recordings)
    }
}
