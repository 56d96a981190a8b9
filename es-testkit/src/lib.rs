#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod aggregate;
pub mod application;
pub mod concurrent;
mod fixture;
pub mod model;
pub mod process;
mod run;
pub mod strategies;
pub mod support;
pub mod tracking;

pub use fixture::Guarded;
pub use run::{DEFAULT_CASES, config};

/// Returns the value of `var`. If `var` is unset, returns `None` (the caller skips the test and
/// says why), but panics when `CI` is set, so that a misconfigured pipeline cannot pass by
/// skipping.
pub fn env_or_skip(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) => Some(v),
        Err(_) if std::env::var_os("CI").is_some() => panic!("{var} must be set when CI is set"),
        Err(_) => {
            eprintln!("skipping: set {var} to run this test");
            None
        }
    }
}

/// Expands `name => path` pairs into `#[test]` functions calling `path(&make)`, each first
/// evaluating the optional condition and returning early (skipping) when it is false.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ([] $cond:expr, $make:expr; $($name:ident => $path:path),* $(,)?) => {};
    ([$($flag:ident)?] $cond:expr, $make:expr; $($name:ident => $path:path),* $(,)?) => {$(
        #[test]
        fn $name() {
            if !($cond) {
                return;
            }
            $path(&$make)
        }
    )*};
}

/// The condition of a suite: `true` when none is given.
#[doc(hidden)]
#[macro_export]
macro_rules! __condition {
    () => {
        true
    };
    ($cond:expr) => {
        $cond
    };
}

/// One `#[test]` per [`AggregateRecorder`](es_core::AggregateRecorder) property, in a module
/// `aggregate_recorder`. `$make` is a factory (a function or closure) returning a fresh recorder.
/// A trailing `; if COND` skips every test when `COND` is false (see [`env_or_skip`]).
#[macro_export]
macro_rules! aggregate_recorder_tests {
    ($make:expr $(; if $cond:expr)?) => {
        mod aggregate_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!([run] $crate::__condition!($($cond)?), $make;
                insert_and_select => $crate::aggregate::insert_and_select,
                events_round_trip => $crate::aggregate::events_round_trip,
                model_based => $crate::aggregate::model_based,
                racing_writers_one_winner => $crate::concurrent::racing_writers_one_winner,
            );
        }
    };
}

/// One `#[test]` per [`ApplicationRecorder`](es_core::ApplicationRecorder) property, in a module
/// `application_recorder`. Add `, gap_free` for backends whose ids have no gaps (in-memory,
/// SQLite), to check that too; a trailing `; if COND` skips when `COND` is false.
#[macro_export]
macro_rules! application_recorder_tests {
    ($make:expr $(, $gap_free:ident)? $(; if $cond:expr)?) => {
        mod application_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!([run] $crate::__condition!($($cond)?), $make;
                insert_select => $crate::application::insert_select,
                empty_insert_returns_no_ids => $crate::application::empty_insert_returns_no_ids,
                model_based => $crate::application::model_based,
                subscribe_catches_up_then_follows => $crate::application::subscribe_catches_up_then_follows,
                subscription_wakes_on_insert_and_stop => $crate::application::subscription_wakes_on_insert_and_stop,
                non_interleaving_batches => $crate::concurrent::non_interleaving_batches,
                tailing_readers_never_go_back => $crate::concurrent::tailing_readers_never_go_back,
            );
            $crate::__conformance_tests!([$($gap_free)?] $crate::__condition!($($cond)?), $make;
                model_based_gap_free => $crate::application::model_based_gap_free,
            );
        }
    };
}

/// One `#[test]` per [`TrackingRecorder`](es_core::TrackingRecorder) property, in a module
/// `tracking_recorder`; a trailing `; if COND` skips when `COND` is false.
#[macro_export]
macro_rules! tracking_recorder_tests {
    ($make:expr $(; if $cond:expr)?) => {
        mod tracking_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!([run] $crate::__condition!($($cond)?), $make;
                insert_tracking => $crate::tracking::insert_tracking,
                wait => $crate::tracking::wait,
                model_based => $crate::tracking::model_based,
            );
        }
    };
}

/// One `#[test]` per [`ProcessRecorder`](es_core::ProcessRecorder) property, in a module
/// `process_recorder`. Add `, gap_free` for backends whose ids have no gaps; a trailing
/// `; if COND` skips when `COND` is false.
#[macro_export]
macro_rules! process_recorder_tests {
    ($make:expr $(, $gap_free:ident)? $(; if $cond:expr)?) => {
        mod process_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!([run] $crate::__condition!($($cond)?), $make;
                insert_select => $crate::process::insert_select,
                has_tracking_id => $crate::process::has_tracking_id,
                raises_when_lower_inserted_later => $crate::process::raises_when_lower_inserted_later,
                model_based => $crate::process::model_based,
                competing_followers_process_once => $crate::concurrent::competing_followers_process_once,
            );
            $crate::__conformance_tests!([$($gap_free)?] $crate::__condition!($($cond)?), $make;
                model_based_gap_free => $crate::process::model_based_gap_free,
            );
        }
    };
}

/// Every suite, for a factory of [`ProcessRecorder`](es_core::ProcessRecorder)s (which are
/// aggregate, application and tracking recorders too). Add `, gap_free` for backends whose ids
/// have no gaps; a trailing `; if COND` skips every test when `COND` is false, for example
/// `; if es_testkit::env_or_skip("POSTGRES_DBNAME").is_some()`.
#[macro_export]
macro_rules! all_recorder_tests {
    ($make:expr $(, $gap_free:ident)? $(; if $cond:expr)?) => {
        $crate::aggregate_recorder_tests!($make $(; if $cond)?);
        $crate::application_recorder_tests!($make $(, $gap_free)? $(; if $cond)?);
        $crate::tracking_recorder_tests!($make $(; if $cond)?);
        $crate::process_recorder_tests!($make $(, $gap_free)? $(; if $cond)?);
    };
}

/// Runs every property of every suite, one after another, on recorders made by `make`: what
/// [`all_recorder_tests!`] checks, as one call (for a doctest, an example or a custom harness).
/// `gap_free` adds the properties of backends whose notification ids never skip. Panics on
/// the first violation, with the property's message.
pub fn check_process_recorder<R: es_core::ProcessRecorder>(make: &dyn Fn() -> R, gap_free: bool) {
    let properties: [fn(&dyn Fn() -> R); 19] = [
        aggregate::insert_and_select,
        aggregate::events_round_trip,
        aggregate::model_based,
        concurrent::racing_writers_one_winner,
        application::insert_select,
        application::empty_insert_returns_no_ids,
        application::model_based,
        application::subscribe_catches_up_then_follows,
        application::subscription_wakes_on_insert_and_stop,
        concurrent::non_interleaving_batches,
        concurrent::tailing_readers_never_go_back,
        tracking::insert_tracking,
        tracking::wait,
        tracking::model_based,
        process::insert_select,
        process::has_tracking_id,
        process::raises_when_lower_inserted_later,
        process::model_based,
        concurrent::competing_followers_process_once,
    ];
    for property in properties {
        property(make);
    }
    if gap_free {
        application::model_based_gap_free(make);
        process::model_based_gap_free(make);
    }
}
