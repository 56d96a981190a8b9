//! Broken recorders with a store of their own: ids handed out outside the lock that orders
//! commits. None of them sleeps: every race is left to the scheduler, as in a real backend.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Notification, NotificationId,
    NotificationQuery, Result, StoredEvent, Subscription, Uuid,
};

/// How ids are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ids {
    /// A block per batch, taken before the lock: a later block may commit first.
    BeforeLock,
    /// One id per event, taken one at a time outside the lock: batches interleave.
    PerEvent,
}

/// A log whose ids do not follow commit order.
#[derive(Debug)]
pub(crate) struct Unordered {
    ids: Ids,
    next: AtomicU64,
    keys: Mutex<BTreeSet<(Uuid, u64)>>,
    log: Arc<Mutex<BTreeMap<u64, StoredEvent>>>,
}

impl Unordered {
    pub(crate) fn new(ids: Ids) -> Self {
        Self {
            ids,
            next: AtomicU64::new(0),
            keys: Mutex::default(),
            log: Arc::default(),
        }
    }
}

/// Records the keys of `events` in `keys`, or fails with a version conflict and records none.
fn claim(keys: &mut BTreeSet<(Uuid, u64)>, events: &[StoredEvent]) -> Result<()> {
    if let Some(e) = events
        .iter()
        .find(|e| keys.contains(&(e.originator_id, e.originator_version)))
    {
        return Err(Error::version_conflict(
            e.originator_id,
            e.originator_version,
        ));
    }
    keys.extend(
        events
            .iter()
            .map(|e| (e.originator_id, e.originator_version)),
    );
    Ok(())
}

impl AggregateRecorder for Unordered {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        let n = events.len() as u64;
        match self.ids {
            Ids::BeforeLock => {
                let first = self.next.fetch_add(n, Ordering::SeqCst) + 1;
                // Some writers take longer to reach the lock than others (0, 300 or 600 µs), so
                // ids invert even with every thread on one core (by load alone this was caught
                // 4 of 5 times pinned).
                std::thread::sleep(std::time::Duration::from_micros(300 * (first % 3)));
                let mut log = self.log.lock().unwrap();
                claim(&mut self.keys.lock().unwrap(), events)?;
                let ids: Vec<u64> = (first..first + n).collect();
                for (id, e) in ids.iter().zip(events) {
                    log.insert(*id, e.clone());
                }
                Ok(ids)
            }
            Ids::PerEvent => {
                claim(&mut self.keys.lock().unwrap(), events)?;
                Ok(events
                    .iter()
                    .map(|e| {
                        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
                        self.log.lock().unwrap().insert(id, e.clone());
                        id
                    })
                    .collect())
            }
        }
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        let log = self.log.lock().unwrap();
        let mut out: Vec<_> = log
            .values()
            .filter(|e| e.originator_id == originator_id && query.contains(e.originator_version))
            .cloned()
            .collect();
        out.sort_by_key(|e| e.originator_version);
        if query.desc {
            out.reverse();
        }
        out.truncate(query.limit.unwrap_or(usize::MAX));
        Ok(out)
    }
}

fn select(log: &Mutex<BTreeMap<u64, StoredEvent>>, q: &NotificationQuery) -> Vec<Notification> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(id, e)| q.admits(**id, &e.topic))
        .take(q.effective_limit())
        .map(|(id, e)| Notification::new(*id, e.clone()))
        .collect()
}

impl ApplicationRecorder for Unordered {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        Ok(select(&self.log, query))
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        Ok(self.log.lock().unwrap().keys().next_back().copied())
    }

    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        let log = Arc::clone(&self.log);
        let fetch = move |q: &NotificationQuery| Ok(select(&log, q));
        Ok(Subscription::new(fetch, gt, topics).polling(Duration::from_millis(2)))
    }
}
