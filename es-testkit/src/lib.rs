#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod aggregate;
pub mod application;
pub mod apps;
pub mod batching;
pub mod concurrent;
pub mod failures;
mod fixture;
pub mod follows;
pub mod lease_races;
pub mod leased;
pub mod leases;
pub mod limits;
pub mod model;
pub mod ordering;
pub mod parking;
pub mod process;
mod run;
pub mod strategies;
pub mod subscriptions;
pub mod support;
pub mod systems;
pub mod tracking;

mod macros;

pub use fixture::Guarded;
pub use run::{DEFAULT_CASES, bounded, config, property_deadline, regressions_file};

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

/// Runs every property of every suite, one after another, on recorders made by `make`: what
/// [`all_recorder_tests!`] checks, as one call (for a doctest, an example or a custom harness).
/// `gap_free` adds the properties of backends whose notification ids never skip. Panics on
/// the first violation, with the property's message.
pub fn check_process_recorder<R: es_core::ProcessRecorder>(make: &dyn Fn() -> R, gap_free: bool) {
    let properties: [fn(&dyn Fn() -> R); 24] = [
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
        ordering::polling_readers_never_go_back,
        limits::a_selection_is_capped,
        limits::an_oversized_state_is_refused,
        subscriptions::subscriptions_under_concurrent_writes,
        tracking::insert_tracking,
        tracking::wait,
        tracking::model_based,
        process::insert_select,
        process::has_tracking_id,
        process::raises_when_lower_inserted_later,
        process::batch_tracking_covers_its_first_notification,
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
