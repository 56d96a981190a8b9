//! [`Cache`]: a bounded map of recently used aggregates, by id.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use uuid::Uuid;

/// Last use, aggregate version, aggregate.
type Entry = (u64, u64, Box<dyn Any + Send + Sync>);

/// Aggregates by id, least recently used evicted beyond `max` (0: unbounded). Entries are
/// only starting points: the repository fast-forwards them from the store on every get.
#[derive(Default)]
pub(crate) struct Cache {
    max: usize,
    inner: Mutex<(u64, HashMap<Uuid, Entry>)>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("max", &self.max)
            .field("len", &self.lock().1.len())
            .finish()
    }
}

impl Cache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, (u64, HashMap<Uuid, Entry>)> {
        // Entries are replaced whole; a poisoned lock still holds a consistent map.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the cached aggregate `id` of type `A`.
    pub(crate) fn get<A: Clone + 'static>(&self, id: Uuid) -> Option<A> {
        let mut guard = self.lock();
        let (tick, map) = &mut *guard;
        *tick += 1;
        let entry = map.get_mut(&id)?;
        entry.0 = *tick;
        entry.2.downcast_ref::<A>().cloned()
    }

    /// Caches `value` (at `version`) as `id`, unless a later version is cached; evicts the
    /// least recently used entry beyond the bound.
    pub(crate) fn put(&self, id: Uuid, version: u64, value: Box<dyn Any + Send + Sync>) {
        let mut guard = self.lock();
        let (tick, map) = &mut *guard;
        *tick += 1;
        if map.get(&id).is_some_and(|e| e.1 > version) {
            return;
        }
        map.insert(id, (*tick, version, value));
        if self.max > 0 && map.len() > self.max {
            let oldest = map.iter().min_by_key(|(_, e)| e.0).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
    }
}
