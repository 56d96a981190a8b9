//! [`lock`]: a mutex guard whatever the poisoning.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, also when a thread panicked while holding it. For state that every critical
/// section leaves consistent (no code panics half-way through a change), which is how the
/// library's own locks are written; a backend whose critical sections are not so must not use
/// it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
