#![doc = include_str!("../README.md")]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

pub mod aggregate;
pub mod application;
pub mod apps;
pub mod batching;
pub mod concurrent;
pub mod dcb;
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
pub mod views;

mod macros;
mod table;

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

/// What a backend declares to the `check_*` functions, as the macros' literal options do
/// (`gap_free`, `no_subscribe`, `no_leases`): `Options::default().gap_free().no_leases()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// The backend's notification ids never skip: also check that.
    pub gap_free: bool,
    /// `subscribe` returns `NotSupported`: skip the subscription properties.
    pub no_subscribe: bool,
    /// The lease methods return `NotSupported`: skip the lease properties.
    pub no_leases: bool,
}

impl Options {
    /// With `gap_free`.
    #[must_use]
    pub fn gap_free(mut self) -> Self {
        self.gap_free = true;
        self
    }

    /// With `no_subscribe`.
    #[must_use]
    pub fn no_subscribe(mut self) -> Self {
        self.no_subscribe = true;
        self
    }

    /// With `no_leases`.
    #[must_use]
    pub fn no_leases(mut self) -> Self {
        self.no_leases = true;
        self
    }
}

/// Runs every recorder property of the kit, one after another, on recorders made by `make`:
/// what [`all_recorder_tests!`] checks with the same options, from the same table, as one call
/// (for a doctest, an example or a custom harness). Panics on the first violation, with the
/// property's message.
pub fn check_process_recorder<R: es_core::ProcessRecorder>(make: &dyn Fn() -> R, options: Options) {
    crate::__aggregate_properties!(__check_each make);
    crate::__application_properties!(__check_each make);
    if !options.no_subscribe {
        crate::__subscription_properties!(__check_each make);
    }
    crate::__tracking_properties!(__check_each make);
    crate::__process_properties!(__check_each make);
    if !options.no_leases {
        crate::__lease_properties!(__check_each make);
    }
    if options.gap_free {
        crate::__application_gap_free_properties!(__check_each make);
        crate::__process_gap_free_properties!(__check_each make);
    }
}
