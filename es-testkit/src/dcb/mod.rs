//! The DCB suite: what every [`DcbRecorder`](es_core::persistence::dcb::DcbRecorder)
//! guarantees, on any backend. [`dcb_tests!`](crate::dcb_tests)
//! expands it into one `#[test]` per property.
//!
//! - A port of the Python library's recorder test case (`eventsourcing/dcb/tests.py`): every
//!   step of `_test_append_read`, from an empty log and from one holding other events, and
//!   `_test_append_subscribe` with the PostgreSQL recorder's extras ([`port`]).
//! - Model-based properties over generated histories and every query shape: a conditional
//!   append is refused if and only if a matching event follows its position; reads equal the
//!   model with Python's head rules ([`model`]). Python's PostgreSQL recorder refuses several
//!   query shapes ("Unsupported query"); the kit generates them all.
//! - Concurrency: racing decisions never overbook; an append's events are one block; readers
//!   never see a late arrival, the defect that lets Python's PostgreSQL recorder accept a
//!   conditional append over a matching event and its subscribers skip events for ever
//!   ([`concurrent`]).
//!
//! `es-testkit/tests/broken/dcb.rs` runs each property against a broken recorder that it must
//! fail.

pub mod concurrent;
pub mod model;
pub mod port;

use es_core::persistence::dcb::{DcbSequencedEvent, DcbSubscription, Position};

use crate::support::{Watchdog, deadline};

pub use concurrent::{
    conditions_hold_under_concurrency, non_interleaving_blocks, non_interleaving_blocks_gap_free,
    total_order_no_late_arrivals,
};
pub use model::{read_equals_model, refused_iff_match_after, refused_iff_match_after_gap_free};
pub use port::{
    an_empty_append_is_refused, append_read, append_read_after_other_events, append_subscribe,
};

/// The positions of `events`.
pub fn positions(events: &[DcbSequencedEvent]) -> Vec<Position> {
    events.iter().map(|e| e.position).collect()
}

/// The next `n` positions of `sub`, or a panic that says what was awaited and what came, when
/// the subscription ends, fails or [`deadline`] passes first.
pub fn next_positions(sub: &mut DcbSubscription, n: usize, what: &str) -> Vec<Position> {
    let watchdog = Watchdog::new(sub.stop_handle());
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match sub.next() {
            Some(Ok(e)) => got.push(e.position),
            Some(Err(e)) => panic!(
                "{what}: the subscription failed after {} events: {e}",
                got.len()
            ),
            None if watchdog.fired() => panic!(
                "{what}: waited {:?} (ES_TESTKIT_DEADLINE) for {n} events, got {}",
                deadline(),
                crate::support::ids_summary(&got)
            ),
            None => panic!(
                "{what}: the subscription ended after {} events, {n} expected",
                got.len()
            ),
        }
    }
    got
}

/// One `#[test]` per DCB property, in a module `dcb`, for the recorders `$make` returns (a
/// fresh, empty log each call). Options: `gap_free` (positions never skip: also check that).
/// A trailing `; if COND` skips when `COND` is false.
///
/// ```
/// es_testkit::dcb_tests!(es_popo::PopoDcbRecorder::default, gap_free);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! dcb_tests {
    ($make:expr $(, $opt:ident)* $(; if $cond:expr)?) => {
        mod dcb {
            #[allow(unused_imports)]
            use super::*;
            $($crate::__option!($opt);)*
            $crate::__dcb_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
            $crate::__with_option!(gap_free [$($opt)*]
                $crate::__dcb_gap_free_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
            );
        }
    };
}

/// The DCB properties of every backend.
#[doc(hidden)]
#[macro_export]
macro_rules! __dcb_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            append_read => $crate::dcb::append_read,
            append_read_after_other_events => $crate::dcb::append_read_after_other_events,
            append_subscribe => $crate::dcb::append_subscribe,
            an_empty_append_is_refused => $crate::dcb::an_empty_append_is_refused,
            refused_iff_match_after => $crate::dcb::refused_iff_match_after,
            read_equals_model => $crate::dcb::read_equals_model,
            conditions_hold_under_concurrency => $crate::dcb::conditions_hold_under_concurrency,
            non_interleaving_blocks => $crate::dcb::non_interleaving_blocks,
            total_order_no_late_arrivals => $crate::dcb::total_order_no_late_arrivals,
        }
    };
}

/// The DCB properties of gap-free logs (run with `gap_free`).
#[doc(hidden)]
#[macro_export]
macro_rules! __dcb_gap_free_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            refused_iff_match_after_gap_free => $crate::dcb::refused_iff_match_after_gap_free,
            non_interleaving_blocks_gap_free => $crate::dcb::non_interleaving_blocks_gap_free,
        }
    };
}
