//! [`Combiner`]: the queue of group commit, which knows nothing of PostgreSQL or of what is
//! written (the backend's `group_commit` module supplies the insert of a whole queue of events,
//! the DCB log its append of a whole queue of appends).
//!
//! Under the table's EXCLUSIVE lock, concurrent writers would each wait for the previous
//! commit. Instead, while one caller's insert runs, later callers queue; when it finishes, the
//! same thread records the whole queue in one statement, each caller's events and tracking in
//! its own subtransaction, so one caller's conflict fails only that caller. A caller that finds
//! no insert running inserts directly: no queueing cost without contention.

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use es_core::sync::lock;
use es_core::{Error, NotificationId, Result, StoredEvent, Tracking};

/// An insert of the event store: events and an optional tracking record.
pub(crate) struct Insert {
    pub(crate) events: Vec<StoredEvent>,
    pub(crate) tracking: Option<Tracking>,
}

/// What a queued caller is told.
enum Outcome<O> {
    Waiting,
    /// Record the queue (this caller's slot included).
    Lead,
    Done(O),
}

/// One queued caller: its request `R`, and where its outcome `O` arrives.
pub(crate) struct Slot<R = Insert, O = Result<Vec<NotificationId>>> {
    pub(crate) request: R,
    outcome: Mutex<Outcome<O>>,
    changed: Condvar,
}

impl<R, O> Slot<R, O> {
    fn tell(&self, outcome: Outcome<O>) {
        *lock(&self.outcome) = outcome;
        self.changed.notify_all();
    }

    fn wait(&self) -> Outcome<O> {
        let mut guard = lock(&self.outcome);
        loop {
            match std::mem::replace(&mut *guard, Outcome::Waiting) {
                Outcome::Waiting => {}
                other => return other,
            }
            guard = self
                .changed
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Whether a group is being recorded, and who waits for the next one.
type Queue<R, O> = (bool, Vec<Arc<Slot<R, O>>>);

/// The queue of group commit: while one caller's write runs, later callers wait in it.
pub(crate) struct Combiner<R = Insert, O = Result<Vec<NotificationId>>> {
    state: Mutex<Queue<R, O>>,
}

impl<R, O> Default for Combiner<R, O> {
    fn default() -> Self {
        Self {
            state: Mutex::new((false, Vec::new())),
        }
    }
}

impl<R, O> std::fmt::Debug for Combiner<R, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Combiner")
            .field("busy", &state.0)
            .field("queued", &state.1.len())
            .finish()
    }
}

impl<R, O> Combiner<R, O> {
    /// Records a request: directly with `single` when nothing is being recorded; otherwise
    /// queued (as `request()` makes it), and recorded with everyone queued by one call of `many`
    /// (made by the first queued caller, once the running write finishes). `many` returns one
    /// outcome per slot, in order; `missing` is the outcome of a slot it left out.
    pub(crate) fn run(
        &self,
        request: impl FnOnce() -> R,
        single: impl FnOnce() -> O,
        many: impl Fn(&[Arc<Slot<R, O>>]) -> Vec<O>,
        missing: impl Fn() -> O,
    ) -> O {
        let slot = {
            let mut state = lock(&self.state);
            if !state.0 {
                state.0 = true;
                drop(state);
                let result = single();
                self.hand_off();
                return result;
            }
            let slot = Arc::new(Slot {
                request: request(),
                outcome: Mutex::new(Outcome::Waiting),
                changed: Condvar::new(),
            });
            state.1.push(Arc::clone(&slot));
            slot
        };
        match slot.wait() {
            Outcome::Done(result) => result,
            Outcome::Waiting | Outcome::Lead => {
                let group = std::mem::take(&mut lock(&self.state).1);
                let mut own = None;
                let mut results = many(&group).into_iter();
                for member in &group {
                    let result = results.next().unwrap_or_else(&missing);
                    if Arc::ptr_eq(member, &slot) {
                        own = Some(result);
                    } else {
                        member.tell(Outcome::Done(result));
                    }
                }
                self.hand_off();
                own.unwrap_or_else(missing)
            }
        }
    }

    /// Lets the first queued caller record the queue, or marks the combiner idle.
    fn hand_off(&self) {
        let mut state = lock(&self.state);
        match state.1.first() {
            Some(first) => first.tell(Outcome::Lead),
            None => state.0 = false,
        }
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
