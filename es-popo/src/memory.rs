//! [`PopoBackend`]: the in-memory storage behind every POPO recorder.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use es_core::backend::Backend;
use es_core::persistence::wake::Notifier;
use es_core::{
    Error, EventQuery, Lease, Notification, NotificationId, NotificationQuery, Result, StoredEvent,
    Tracking, Uuid,
};

use crate::index::Index;

/// Events, their index and tracking, under one lock so that a batch and its tracking record
/// commit together.
#[derive(Debug, Default)]
struct State {
    /// Notification id `n` is `log[n - 1]`: gap-free by construction.
    log: Vec<StoredEvent>,
    /// Originator id to version to position in `log`.
    index: Index,
    /// Upstream application name to the notification id processed up to.
    tracking: HashMap<String, NotificationId>,
    /// Lease name to its holder and when it expires.
    leases: HashMap<String, (String, Instant)>,
}

/// The in-memory storage of one application (or of several sharing it): events, the
/// notification log, tracking records and leases, under one lock. Thread-safe; every write
/// takes the lock, so notification ids follow commit order with no gaps.
#[derive(Default)]
pub struct PopoBackend {
    state: RwLock<State>,
    /// Notified after each committed insert of events.
    events: Notifier,
    /// Notified after each committed tracking record.
    tracking: Notifier,
}

fn id_of(position: usize) -> NotificationId {
    NotificationId::try_from(position).map_or(NotificationId::MAX, |p| p.saturating_add(1))
}

impl PopoBackend {
    // No code panics while holding the lock, and every write validates before it mutates, so a
    // poisoned lock still guards consistent state.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many events are stored, and for how many upstream applications tracking is.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.read();
        (state.log.len(), state.tracking.len())
    }
}

/// The counts, not the events: states hold what users wrote.
impl std::fmt::Debug for PopoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (events, tracked) = self.counts();
        f.debug_struct("PopoBackend")
            .field("events", &events)
            .field("tracked_applications", &tracked)
            .finish()
    }
}

impl Backend for PopoBackend {
    /// Stores `events` and `tracking` atomically and returns the events' notification ids.
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        let ids = {
            let mut state = self.write();
            if let Some(t) = tracking
                && state
                    .tracking
                    .get(&t.application_name)
                    .is_some_and(|&max| t.first_notification_id <= max)
            {
                return Err(Error::tracking_conflict(
                    &t.application_name,
                    t.notification_id,
                ));
            }
            state.index_batch(events)?;
            let first = state.log.len();
            state.log.extend_from_slice(events);
            if let Some(t) = tracking {
                match state.tracking.get_mut(&t.application_name) {
                    Some(max) => *max = t.notification_id,
                    None => {
                        state
                            .tracking
                            .insert(t.application_name.clone(), t.notification_id);
                    }
                }
            }
            (first..first + events.len()).map(id_of).collect::<Vec<_>>()
        };
        if !events.is_empty() {
            self.events.notify();
        }
        if tracking.is_some() {
            self.tracking.notify();
        }
        Ok(ids)
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        if let (Some(gt), Some(lte)) = (query.gt, query.lte)
            && gt >= lte
        {
            return Ok(Vec::new());
        }
        let limit = query.limit.unwrap_or(usize::MAX);
        let state = self.read();
        let Some(versions) = state.index.get(&originator_id) else {
            return Ok(Vec::new());
        };
        let range = versions.range(query.gt, query.lte).map(|p| &state.log[p]);
        Ok(if query.desc {
            range.rev().take(limit).cloned().collect()
        } else {
            range.take(limit).cloned().collect()
        })
    }

    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        let Some(first) = query.first_id() else {
            return Ok(Vec::new());
        };
        let skip = usize::try_from(first.saturating_sub(1)).unwrap_or(usize::MAX);
        let stop = query.stop.unwrap_or(NotificationId::MAX);
        let state = self.read();
        Ok(state
            .log
            .iter()
            .enumerate()
            .skip(skip)
            .map(|(p, e)| (id_of(p), e))
            .take_while(|&(id, _)| id <= stop)
            .filter(|(_, e)| query.admits_topic(&e.topic))
            .take(query.effective_limit())
            .map(|(id, e)| Notification::new(id, e.clone()))
            .collect())
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        let len = self.read().log.len();
        Ok(len.checked_sub(1).map(id_of))
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        Ok(self.read().tracking.get(application_name).copied())
    }

    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let now = Instant::now();
        let mut state = self.write();
        let taken = state
            .leases
            .get(name)
            .is_some_and(|(h, expires)| h != holder && *expires > now);
        if !taken {
            let expires = now.checked_add(ttl).unwrap_or(now);
            state
                .leases
                .insert(name.to_owned(), (holder.to_owned(), expires));
        }
        Ok(!taken)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        let mut state = self.write();
        if state.leases.get(name).is_some_and(|(h, _)| h == holder) {
            state.leases.remove(name);
        }
        Ok(())
    }

    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        let now = Instant::now();
        let mut live: Vec<Lease> = self
            .read()
            .leases
            .iter()
            .filter(|(name, (_, expires))| name.starts_with(prefix) && *expires > now)
            .map(|(name, (holder, _))| Lease {
                name: name.clone(),
                holder: holder.clone(),
            })
            .collect();
        live.sort();
        Ok(live)
    }

    fn events_notifier(&self) -> &Notifier {
        &self.events
    }

    fn tracking_notifier(&self) -> &Notifier {
        &self.tracking
    }
}

impl State {
    /// Adds `events` to the index at the positions they will take in the log, or, when one
    /// conflicts with a stored event or an earlier one of the batch, removes what it added and
    /// fails.
    fn index_batch(&mut self, events: &[StoredEvent]) -> Result<()> {
        let first = self.log.len();
        for (i, event) in events.iter().enumerate() {
            let versions = self.index.entry(event.originator_id).or_default();
            if !versions.insert(event.originator_version, first + i) {
                for undo in &events[..i] {
                    if let Some(v) = self.index.get_mut(&undo.originator_id) {
                        v.remove(undo.originator_version);
                        if v.is_empty() {
                            self.index.remove(&undo.originator_id);
                        }
                    }
                }
                return Err(Error::version_conflict(
                    event.originator_id,
                    event.originator_version,
                ));
            }
        }
        Ok(())
    }
}
