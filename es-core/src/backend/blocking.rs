//! Threads where blocking is expected: [`on_blocking_thread`] marks one (an async runtime's
//! blocking pool), and a backend whose driver cannot block on a runtime's own threads asks
//! [`may_block`] before moving a call elsewhere.

use std::cell::Cell;

thread_local! {
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with this thread marked as one where blocking calls belong (for example a thread
/// of tokio's blocking pool, which has the runtime's context but drives no async tasks). The
/// async facade runs every store call through it.
pub fn on_blocking_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            MAY_BLOCK.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(MAY_BLOCK.with(|m| m.replace(true)));
    f()
}

/// True inside [`on_blocking_thread`].
pub fn may_block() -> bool {
    MAY_BLOCK.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_holds_inside_only_even_through_a_panic() {
        assert!(!may_block());
        assert!(on_blocking_thread(may_block));
        assert!(on_blocking_thread(
            || on_blocking_thread(may_block) && may_block()
        ));
        assert!(std::panic::catch_unwind(|| on_blocking_thread(|| panic!("inside"))).is_err());
        assert!(!may_block());
        assert!(
            !std::thread::spawn(|| on_blocking_thread(|| std::thread::spawn(may_block)
                .join()
                .unwrap()))
            .join()
            .unwrap()
        );
    }
}
