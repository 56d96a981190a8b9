//! Blocking without busy-spinning: wakers, notifiers and stop handles.
//!
//! A thread that waits (a [`Subscription`](crate::Subscription), a tracking
//! [`wait`](crate::TrackingRecorder::wait)) owns one [`Waker`] and registers it with every
//! [`Notifier`] that may end the wait: the recorder's insert notifier and a [`StopHandle`]. A
//! wake is sticky, so a notification that arrives between a check and the wait is never lost.

use crate::sync::lock;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// One waiting thread's wake-up flag.
#[derive(Debug, Default)]
pub struct Waker {
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Waker {
    /// A new, unwoken waker.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Wakes the waiting thread, or the next wait if none is waiting now.
    pub fn wake(&self) {
        *lock(&self.woken) = true;
        self.condvar.notify_all();
    }

    /// Blocks until woken or until `timeout` passes (`None` waits without limit), and consumes
    /// the wake. Returns true when woken.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut woken = lock(&self.woken);
        while !*woken {
            match deadline {
                // No timeout, or one too large to represent: wait without limit.
                None => {
                    woken = self
                        .condvar
                        .wait(woken)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    woken = self
                        .condvar
                        .wait_timeout(woken, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
        *woken = false;
        true
    }
}

/// Wakes every registered [`Waker`]: recorders call [`notify`](Self::notify) after each commit.
#[derive(Default)]
pub struct Notifier {
    wakers: Mutex<Vec<Weak<Waker>>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("wakers", &lock(&self.wakers).len())
            .finish()
    }
}

impl Notifier {
    /// A notifier with no wakers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `waker` until it is dropped.
    pub fn register(&self, waker: &Arc<Waker>) {
        lock(&self.wakers).push(Arc::downgrade(waker));
    }

    /// Wakes every live registered waker and forgets the dropped ones.
    pub fn notify(&self) {
        let mut wakers = lock(&self.wakers);
        if wakers.is_empty() {
            return;
        }
        wakers.retain(|weak| match weak.upgrade() {
            Some(waker) => {
                waker.wake();
                true
            }
            None => false,
        });
    }
}

#[derive(Debug, Default)]
struct StopInner {
    stopped: AtomicBool,
    notifier: Notifier,
}

/// Stops a [`Subscription`](crate::Subscription) or interrupts a tracking
/// [`wait`](crate::TrackingRecorder::wait) from another thread. Clones share one flag.
#[derive(Debug, Clone, Default)]
pub struct StopHandle {
    inner: Arc<StopInner>,
}

impl StopHandle {
    /// A handle that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the flag and wakes every thread waiting on it.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.notifier.notify();
    }

    /// True once [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Registers `waker` to be woken by [`stop`](Self::stop); wakes it at once if already stopped.
    pub fn register(&self, waker: &Arc<Waker>) {
        self.inner.notifier.register(waker);
        if self.is_stopped() {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn a_wake_before_the_wait_is_not_lost() {
        let waker = Waker::new();
        let notifier = Notifier::new();
        notifier.register(&waker);
        notifier.notify();
        assert!(waker.wait(Some(Duration::from_secs(5))));
        assert!(
            !waker.wait(Some(Duration::from_millis(1))),
            "a wake is consumed once"
        );
    }

    #[test]
    fn stop_wakes_a_blocked_thread() {
        let stop = StopHandle::new();
        let waker = Waker::new();
        stop.register(&waker);
        let other = stop.clone();
        let t = thread::spawn(move || other.stop());
        assert!(waker.wait(None));
        t.join().unwrap();
        assert!(stop.is_stopped());
    }

    #[test]
    fn dropped_wakers_are_forgotten() {
        let notifier = Notifier::new();
        notifier.register(&Waker::new());
        notifier.notify();
        assert_eq!(lock(&notifier.wakers).len(), 0);
    }
}
