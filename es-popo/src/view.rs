//! [`MemoryView`]: a projection's view in memory.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use es_core::backend::Backend;
use std::time::Duration;

use es_core::{Error, NotificationId, Result, StopHandle, Tracking, ViewStore};

use crate::memory::PopoBackend;

/// A projection's view in memory: a value of your type `S` (counters, maps), changed through
/// `&mut S` in [`ViewStore::transact`], with the tracking record in the same commit, and read
/// through [`read`](Self::read) or [`get`](Self::get). As the POPO recorders, it lives as long
/// as the process.
///
/// A transaction works on a copy of `S` (one clone per batch) that replaces the value when it
/// commits, so a failing batch leaves the view as it was and readers never see half a batch.
/// Clones share the view.
pub struct MemoryView<S> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    /// Tracking and leases.
    backend: PopoBackend,
    state: RwLock<Arc<S>>,
    /// Held by one transaction at a time.
    writer: Mutex<()>,
}

impl<S> Clone for MemoryView<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Default> Default for MemoryView<S> {
    fn default() -> Self {
        Self::new(S::default())
    }
}

impl<S> fmt::Debug for MemoryView<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryView")
            .field("state", &std::any::type_name::<S>())
            .finish_non_exhaustive()
    }
}

impl<S> MemoryView<S> {
    /// A view holding `initial`, with nothing processed.
    pub fn new(initial: S) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend: PopoBackend::default(),
                state: RwLock::new(Arc::new(initial)),
                writer: Mutex::new(()),
            }),
        }
    }

    /// Reads the view as last committed.
    pub fn read<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        f(&self.get())
    }

    /// The view as last committed.
    pub fn get(&self) -> Arc<S> {
        // Nothing panics while holding the lock: a poisoned lock guards a whole value.
        Arc::clone(
            &self
                .inner
                .state
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn backend(&self) -> &PopoBackend {
        &self.inner.backend
    }
}

impl<S: Send + Sync> es_core::TrackingRecorder for MemoryView<S> {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        let _writer = self.lock_writer();
        self.backend().insert_tracking(tracking)
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.backend().max_tracking_id(application_name)
    }

    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        es_core::wait_for_tracking(
            self,
            application_name,
            notification_id,
            timeout,
            interrupt,
            Some(self.backend().tracking_notifier()),
        )
    }
}

impl<S: Clone + Send + Sync + 'static> ViewStore for MemoryView<S> {
    type Tx<'a> = S;

    fn transact<R>(&self, tracking: &Tracking, f: impl FnOnce(&mut S) -> Result<R>) -> Result<R> {
        let _writer = self.lock_writer();
        if self
            .backend()
            .max_tracking_id(&tracking.application_name)?
            .is_some_and(|max| max >= tracking.first_notification_id)
        {
            return Err(Error::tracking_conflict(
                &tracking.application_name,
                tracking.notification_id,
            ));
        }
        let mut copy = S::clone(&self.get());
        let value = f(&mut copy)?;
        // The new value is in place before the tracking record wakes any waiter, and no
        // reader sees it before the record: readers wait for this lock.
        let mut state = self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        self.backend().insert_tracking(tracking)?;
        *state = Arc::new(copy);
        Ok(value)
    }

    fn migrate(&self, f: impl FnOnce(&mut S) -> Result<()>) -> Result<()> {
        let _writer = self.lock_writer();
        let mut copy = S::clone(&self.get());
        f(&mut copy)?;
        *self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(copy);
        Ok(())
    }
}
