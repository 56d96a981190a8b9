//! Safe inside tokio. The driver is synchronous: each call blocks on a runtime of its own,
//! which tokio forbids on a thread that drives async tasks ("Cannot start a runtime from within
//! a runtime"). Called from such a thread (in `#[tokio::main]`, a handler, a task), every
//! blocking call of this crate runs on a scoped helper thread instead, and the calling thread
//! waits for it. Outside tokio nothing changes. The call still blocks the async worker while it
//! runs, as any blocking call does: in async code, call the recorders through the async facade
//! (or inside [`es_core::backend::on_blocking_thread`] on `tokio::task::spawn_blocking`) to
//! keep the worker free. A thread so marked has the runtime's context but drives no tasks, so
//! the driver blocks on it directly, without the helper thread.

/// True when the current thread is inside a tokio runtime.
pub(crate) fn in_runtime() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// Runs `f` here, or on a scoped helper thread when this thread is inside a tokio runtime.
pub(crate) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if !in_runtime() || es_core::backend::may_block() {
        return f();
    }
    std::thread::scope(|s| s.spawn(f).join())
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
