//! Group commit: concurrent appends to one table share a transaction.
//!
//! Under the table's EXCLUSIVE lock, concurrent writers would each wait for the previous
//! commit. Instead, while one caller's insert runs, later callers queue; when it finishes, the
//! same thread records the whole queue in one statement, each caller's events and tracking in
//! its own subtransaction, so one caller's conflict fails only that caller. A caller that finds
//! no insert running inserts directly: no queueing cost without contention.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use es_core::{Error, NotificationId, Result, StoredEvent, Tracking};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One queued caller.
pub(crate) struct Slot {
    pub(crate) events: Vec<StoredEvent>,
    pub(crate) tracking: Option<Tracking>,
    result: Mutex<Option<Result<Vec<NotificationId>>>>,
    done: Condvar,
}

impl Slot {
    fn finish(&self, result: Result<Vec<NotificationId>>) {
        *lock(&self.result) = Some(result);
        self.done.notify_all();
    }

    fn wait(&self) -> Result<Vec<NotificationId>> {
        let mut guard = lock(&self.result);
        loop {
            if let Some(result) = guard.take() {
                return result;
            }
            guard = self
                .done
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Whether an insert is running, and who waits for the next one.
#[derive(Default)]
pub(crate) struct Combiner {
    state: Mutex<(bool, Vec<Arc<Slot>>)>,
}

impl std::fmt::Debug for Combiner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Combiner")
            .field("busy", &state.0)
            .field("queued", &state.1.len())
            .finish()
    }
}

impl Combiner {
    /// Inserts `events` and `tracking`: directly with `single` when no insert is running, else
    /// queued into the next group, which `many` records.
    pub(crate) fn run(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
        single: impl FnOnce() -> Result<Vec<NotificationId>>,
        many: impl Fn(&[Arc<Slot>]) -> Vec<Result<Vec<NotificationId>>>,
    ) -> Result<Vec<NotificationId>> {
        let mut state = lock(&self.state);
        if state.0 {
            let slot = Arc::new(Slot {
                events: events.to_vec(),
                tracking: tracking.cloned(),
                result: Mutex::new(None),
                done: Condvar::new(),
            });
            state.1.push(Arc::clone(&slot));
            drop(state);
            return slot.wait();
        }
        state.0 = true;
        drop(state);
        let result = single();
        loop {
            let group = {
                let mut state = lock(&self.state);
                if state.1.is_empty() {
                    state.0 = false;
                    break;
                }
                std::mem::take(&mut state.1)
            };
            for (slot, r) in group.iter().zip(many(&group)) {
                slot.finish(r);
            }
        }
        result
    }
}

/// A copy of `e` for each caller of a failed group (errors are not `Clone`).
pub(crate) fn share(e: &Error) -> Error {
    let source = e.to_string().into();
    match e {
        Error::OutcomeUnknown { .. } => Error::OutcomeUnknown { source },
        Error::Timeout { kind, waited } => Error::Timeout {
            kind: *kind,
            waited: *waited,
        },
        Error::Programming { .. } => Error::Programming { source },
        Error::Data { .. } => Error::Data { source },
        _ if e.is_operational() => Error::Operational { source },
        _ => Error::Internal { source },
    }
}
