//! [`lock`]: a mutex guard whatever the poisoning; [`catch_panic`]: a panic as an error.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, also when a thread panicked while holding it. For state that every critical
/// section leaves consistent (no code panics half-way through a change), which is how the
/// library's own locks are written; a backend whose critical sections are not so must not use
/// it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f`, turning a panic into [`Error::Panicked`](crate::Error::Panicked): for user code
/// run on a library thread (a policy), so that a panic stops what it was doing with an error
/// that health, waits and logs show, instead of killing the thread silently.
///
/// # Errors
///
/// [`Error::Panicked`](crate::Error::Panicked) when `f` panicked.
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> crate::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|payload| crate::Error::panicked(&*payload))
}
