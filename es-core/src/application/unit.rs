//! A unit of work: while a follower processes a batch of notifications, the aggregates its
//! policy changed for earlier notifications of the batch (not yet committed) are what
//! [`Application::get`](super::Application::get) returns on the processing thread, so the
//! policy sees the batch's own effects exactly as one-at-a-time processing would.
//!
//! The view is per thread and per application: other threads (queries of the same
//! application, other edges) see only what is committed.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

use uuid::Uuid;

use super::{Application, Pending};

type View = HashMap<Uuid, Box<dyn Any + Send + Sync>>;

thread_local! {
    /// The open units of work of this thread, by application address.
    static VIEWS: RefCell<Vec<(usize, View)>> = const { RefCell::new(Vec::new()) };
}

fn key(application: &Application) -> usize {
    std::ptr::from_ref(application) as usize
}

/// A unit of work open on this thread for one application; closed (its view forgotten) on
/// drop, whether the batch committed or not.
#[derive(Debug)]
pub(crate) struct UnitOfWork {
    key: usize,
}

impl UnitOfWork {
    /// Opens a unit of work for `application` on this thread.
    pub(crate) fn begin(application: &Application) -> Self {
        let key = key(application);
        VIEWS.with_borrow_mut(|views| views.push((key, View::new())));
        Self { key }
    }

    /// Makes `aggregate` (as it is after its pending events) what `get` returns for its id
    /// on this thread until the unit of work closes.
    pub(crate) fn changed(&self, aggregate: &dyn Pending) {
        let (id, _) = aggregate.position();
        let copy = aggregate.cache_copy();
        VIEWS.with_borrow_mut(|views| {
            if let Some((_, view)) = views.iter_mut().rev().find(|(k, _)| *k == self.key) {
                view.insert(id, copy);
            }
        });
    }
}

impl Drop for UnitOfWork {
    fn drop(&mut self) {
        VIEWS.with_borrow_mut(|views| {
            if let Some(at) = views.iter().rposition(|(k, _)| *k == self.key) {
                views.remove(at);
            }
        });
    }
}

/// The aggregate `id` as an open unit of work of `application` on this thread holds it.
pub(super) fn lookup<A: Clone + 'static>(application: &Application, id: Uuid) -> Option<A> {
    VIEWS.with_borrow(|views| {
        if views.is_empty() {
            return None;
        }
        let key = key(application);
        let (_, view) = views.iter().rev().find(|(k, _)| *k == key)?;
        view.get(&id)?.downcast_ref::<A>().cloned()
    })
}

/// True when an open unit of work of `application` on this thread holds aggregate `id`.
pub(super) fn holds(application: &Application, id: Uuid) -> bool {
    VIEWS.with_borrow(|views| {
        let key = key(application);
        views
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .is_some_and(|(_, view)| view.contains_key(&id))
    })
}
