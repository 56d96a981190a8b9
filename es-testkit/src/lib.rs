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

/// One `#[test]` per [`AggregateRecorder`](es_core::AggregateRecorder) property, in a module
/// `aggregate_recorder`. `$make` is a factory (a function or closure) returning a fresh recorder.
#[macro_export]
macro_rules! aggregate_recorder_tests {
    ($make:expr) => {
        mod aggregate_recorder {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn insert_and_select() {
                $crate::aggregate::insert_and_select(&$make)
            }
            #[test]
            fn events_round_trip() {
                $crate::aggregate::events_round_trip(&$make)
            }
            #[test]
            fn model_based() {
                $crate::aggregate::model_based(&$make)
            }
            #[test]
            fn racing_writers_one_winner() {
                $crate::concurrent::racing_writers_one_winner(&$make)
            }
        }
    };
}

/// One `#[test]` per [`ApplicationRecorder`](es_core::ApplicationRecorder) property, in a module
/// `application_recorder`. Add `, gap_free` for backends whose ids have no gaps (in-memory,
/// SQLite), to check that too.
#[macro_export]
macro_rules! application_recorder_tests {
    ($make:expr) => {
        $crate::application_recorder_tests!(@suite $make, {});
    };
    ($make:expr, gap_free) => {
        $crate::application_recorder_tests!(@suite $make, {
            #[test]
            fn model_based_gap_free() {
                $crate::application::model_based_gap_free(&$make)
            }
        });
    };
    (@suite $make:expr, {$($extra:item)*}) => {
        mod application_recorder {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn insert_select() {
                $crate::application::insert_select(&$make)
            }
            #[test]
            fn empty_insert_returns_no_ids() {
                $crate::application::empty_insert_returns_no_ids(&$make)
            }
            #[test]
            fn model_based() {
                $crate::application::model_based(&$make)
            }
            #[test]
            fn subscribe_catches_up_then_follows() {
                $crate::application::subscribe_catches_up_then_follows(&$make)
            }
            #[test]
            fn subscription_wakes_on_insert_and_stop() {
                $crate::application::subscription_wakes_on_insert_and_stop(&$make)
            }
            #[test]
            fn non_interleaving_batches() {
                $crate::concurrent::non_interleaving_batches(&$make)
            }
            #[test]
            fn tailing_readers_never_go_back() {
                $crate::concurrent::tailing_readers_never_go_back(&$make)
            }
            $($extra)*
        }
    };
}

/// One `#[test]` per [`TrackingRecorder`](es_core::TrackingRecorder) property, in a module
/// `tracking_recorder`.
#[macro_export]
macro_rules! tracking_recorder_tests {
    ($make:expr) => {
        mod tracking_recorder {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn insert_tracking() {
                $crate::tracking::insert_tracking(&$make)
            }
            #[test]
            fn wait() {
                $crate::tracking::wait(&$make)
            }
            #[test]
            fn model_based() {
                $crate::tracking::model_based(&$make)
            }
        }
    };
}

/// One `#[test]` per [`ProcessRecorder`](es_core::ProcessRecorder) property, in a module
/// `process_recorder`. Add `, gap_free` for backends whose ids have no gaps.
#[macro_export]
macro_rules! process_recorder_tests {
    ($make:expr) => {
        $crate::process_recorder_tests!(@suite $make, {});
    };
    ($make:expr, gap_free) => {
        $crate::process_recorder_tests!(@suite $make, {
            #[test]
            fn model_based_gap_free() {
                $crate::process::model_based_gap_free(&$make)
            }
        });
    };
    (@suite $make:expr, {$($extra:item)*}) => {
        mod process_recorder {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn insert_select() {
                $crate::process::insert_select(&$make)
            }
            #[test]
            fn has_tracking_id() {
                $crate::process::has_tracking_id(&$make)
            }
            #[test]
            fn raises_when_lower_inserted_later() {
                $crate::process::raises_when_lower_inserted_later(&$make)
            }
            #[test]
            fn model_based() {
                $crate::process::model_based(&$make)
            }
            #[test]
            fn competing_followers_process_once() {
                $crate::concurrent::competing_followers_process_once(&$make)
            }
            $($extra)*
        }
    };
}

/// Every suite, for a factory of [`ProcessRecorder`](es_core::ProcessRecorder)s (which are
/// aggregate, application and tracking recorders too). Add `, gap_free` for backends whose ids
/// have no gaps.
#[macro_export]
macro_rules! all_recorder_tests {
    ($make:expr $(, $gap_free:ident)?) => {
        $crate::aggregate_recorder_tests!($make);
        $crate::application_recorder_tests!($make $(, $gap_free)?);
        $crate::tracking_recorder_tests!($make);
        $crate::process_recorder_tests!($make $(, $gap_free)?);
    };
}
