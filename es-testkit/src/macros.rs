//! The macros that expand the suites into one `#[test]` per property at the call site.
//!
//! Options are literal tokens after the factory: `gap_free` (the backend's notification ids
//! never skip: also check that), `no_subscribe` (the backend's `subscribe` returns
//! `NotSupported`: skip exactly the subscription properties, saying so) and `no_leases` (its
//! lease methods return `NotSupported`: skip exactly the lease properties, saying so). Any
//! other token is a compile error, so an option cannot be misspelt into silence.

/// Checks one option token: a compile error for anything but the known options.
#[doc(hidden)]
#[macro_export]
macro_rules! __option {
    (gap_free) => {};
    (no_subscribe) => {};
    (no_leases) => {};
}

/// `$($body)*` when `$want` is among the options.
#[doc(hidden)]
#[macro_export]
macro_rules! __with_option {
    (gap_free [gap_free $($rest:ident)*] $($body:tt)*) => { $($body)* };
    (no_subscribe [no_subscribe $($rest:ident)*] $($body:tt)*) => { $($body)* };
    (no_leases [no_leases $($rest:ident)*] $($body:tt)*) => { $($body)* };
    ($want:ident [$other:ident $($rest:ident)*] $($body:tt)*) => {
        $crate::__with_option!($want [$($rest)*] $($body)*);
    };
    ($want:ident [] $($body:tt)*) => {};
}

/// `$($body)*` unless `$want` is among the options.
#[doc(hidden)]
#[macro_export]
macro_rules! __without_option {
    (gap_free [gap_free $($rest:ident)*] $($body:tt)*) => {};
    (no_subscribe [no_subscribe $($rest:ident)*] $($body:tt)*) => {};
    (no_leases [no_leases $($rest:ident)*] $($body:tt)*) => {};
    ($want:ident [$other:ident $($rest:ident)*] $($body:tt)*) => {
        $crate::__without_option!($want [$($rest)*] $($body)*);
    };
    ($want:ident [] $($body:tt)*) => { $($body)* };
}

/// Expands `name => path` pairs into `#[test]` functions calling `path(&make)` on a thread
/// bounded by [`property_deadline`](crate::property_deadline), each first evaluating the
/// condition and returning early (skipping) when it is false.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($cond:expr, $make:expr; $($name:ident => $path:path),* $(,)?) => {$(
        #[test]
        fn $name() {
            if !($cond) {
                return;
            }
            $crate::bounded(stringify!($name), || $path(&$make));
        }
    )*};
}

/// Like [`__conformance_tests!`], for the properties of an optional capability: with its
/// option (`no_subscribe`, `no_leases`) among the options each is an ignored test whose reason
/// says so.
#[doc(hidden)]
#[macro_export]
macro_rules! __capability_tests {
    ($without:ident $reason:literal $opts:tt $cond:expr, $make:expr; $($name:ident => $path:path),* $(,)?) => {$(
        $crate::__with_option!($without $opts
            #[test]
            #[ignore = $reason]
            fn $name() {}
        );
        $crate::__without_option!($without $opts
            #[test]
            fn $name() {
                if !($cond) {
                    return;
                }
                $crate::bounded(stringify!($name), || $path(&$make));
            }
        );
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
/// A trailing `; if COND` skips every test when `COND` is false (see [`env_or_skip`](crate::env_or_skip)).
#[macro_export]
macro_rules! aggregate_recorder_tests {
    ($make:expr $(; if $cond:expr)?) => {
        mod aggregate_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__aggregate_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
        }
    };
}

/// One `#[test]` per [`ApplicationRecorder`](es_core::ApplicationRecorder) property, in a module
/// `application_recorder`. Options after the factory: `gap_free`, `no_subscribe` (see the
/// module documentation); a trailing `; if COND` skips when `COND` is false.
#[macro_export]
macro_rules! application_recorder_tests {
    ($make:expr $(, $opt:ident)* $(; if $cond:expr)?) => {
        $($crate::__option!($opt);)*
        mod application_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__application_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
            $crate::__subscription_properties!(__capability_tests
                no_subscribe "skipped: the backend has no subscriptions (no_subscribe)"
                [$($opt)*] $crate::__condition!($($cond)?), $make);
            $crate::__with_option!(gap_free [$($opt)*]
                $crate::__application_gap_free_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
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
            $crate::__tracking_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
        }
    };
}

/// One `#[test]` per [`ProcessRecorder`](es_core::ProcessRecorder) property, in a module
/// `process_recorder`. Options: `gap_free`, `no_leases`; a trailing `; if COND` skips when
/// `COND` is false.
#[macro_export]
macro_rules! process_recorder_tests {
    ($make:expr $(, $opt:ident)* $(; if $cond:expr)?) => {
        $($crate::__option!($opt);)*
        mod process_recorder {
            #[allow(unused_imports)]
            use super::*;
            $crate::__process_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
            $crate::__lease_properties!(__capability_tests
                no_leases "skipped: the backend has no leases (no_leases)"
                [$($opt)*] $crate::__condition!($($cond)?), $make);
            $crate::__with_option!(gap_free [$($opt)*]
                $crate::__process_gap_free_properties!(__conformance_tests $crate::__condition!($($cond)?), $make);
            );
        }
    };
}

/// Every suite, for a factory of [`ProcessRecorder`](es_core::ProcessRecorder)s (which are
/// aggregate, application and tracking recorders too). Options after the factory: `gap_free`
/// (ids never skip), `no_subscribe` (no subscriptions) and `no_leases` (no leases); a trailing `; if COND` skips every
/// test when `COND` is false, for example
/// `; if es_testkit::env_or_skip("POSTGRES_DBNAME").is_some()`.
///
/// ```
/// es_testkit::all_recorder_tests!(es_popo::PopoProcessRecorder::default, gap_free);
/// # fn main() {}
/// ```
///
/// An option is a literal token; a misspelt one does not compile:
///
/// ```compile_fail
/// es_testkit::all_recorder_tests!(es_popo::PopoProcessRecorder::default, gap_fre);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! all_recorder_tests {
    ($make:expr $(, $opt:ident)* $(; if $cond:expr)?) => {
        $crate::aggregate_recorder_tests!($make $(; if $cond)?);
        $crate::application_recorder_tests!($make $(, $opt)* $(; if $cond)?);
        $crate::tracking_recorder_tests!($make $(; if $cond)?);
        $crate::process_recorder_tests!($make $(, $opt)* $(; if $cond)?);
    };
}

/// One `#[test]` per application property ([`apps`](crate::apps)), in a module
/// `applications`. `$storage` makes a fresh [`Open`](crate::apps::Open): the backend's opener
/// bound to new storage (a temporary database, a new schema, new in-memory recorders); a
/// trailing `; if COND` skips when `COND` is false.
#[macro_export]
macro_rules! application_tests {
    ($storage:expr $(; if $cond:expr)?) => {
        mod applications {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!($crate::__condition!($($cond)?), $storage;
                save_get_versions_and_not_found => $crate::apps::save_get_versions_and_not_found,
                concurrent_writers_get_a_version_conflict_and_can_retry => $crate::apps::concurrent_writers_get_a_version_conflict_and_can_retry,
                one_save_of_several_aggregates_is_atomic => $crate::apps::one_save_of_several_aggregates_is_atomic,
                snapshots_are_taken_at_intervals_and_used_on_load => $crate::apps::snapshots_are_taken_at_intervals_and_used_on_load,
                notification_log_sections_and_reader => $crate::apps::notification_log_sections_and_reader,
                read_all_pages_topics_and_decoding => $crate::apps::read_all_pages_topics_and_decoding,
                the_cache_never_returns_state_older_than_the_store => $crate::apps::the_cache_never_returns_state_older_than_the_store,
                round_trip_with_cipher_and_compression => $crate::apps::round_trip_with_cipher_and_compression,
                a_snapshot_that_does_not_decode_is_replayed => $crate::failures::a_snapshot_that_does_not_decode_is_replayed,
            );
        }
    };
}

/// One `#[test]` per system property ([`systems`](crate::systems)), in a module `systems`,
/// over the same kind of storage factory as [`application_tests!`]; a trailing `; if COND`
/// skips when `COND` is false.
#[macro_export]
macro_rules! system_tests {
    ($storage:expr $(; if $cond:expr)?) => {
        mod systems {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_tests!($crate::__condition!($($cond)?), $storage;
                the_tutorial_on_both_runners => $crate::systems::the_tutorial_on_both_runners,
                batched_processing_equals_one_at_a_time => $crate::batching::batched_processing_equals_one_at_a_time,
                both_runners_catch_up_with_a_backlog_at_start => $crate::systems::both_runners_catch_up_with_a_backlog_at_start,
                competing_follower_instances_process_each_event_once => $crate::systems::competing_follower_instances_process_each_event_once,
                a_poison_event_is_processed_once_after_the_cure => $crate::systems::a_poison_event_is_processed_once_after_the_cure,
                an_outage_shows_as_retrying_and_recovers => $crate::systems::an_outage_shows_as_retrying_and_recovers,
                a_panicking_policy_fails_its_edge => $crate::failures::a_panicking_policy_fails_its_edge,
                a_parked_notification_is_retried_or_dropped_once => $crate::parking::a_parked_notification_is_retried_or_dropped_once,
                permanent_errors_are_parked_when_configured => $crate::parking::permanent_errors_are_parked_when_configured,
                an_unknown_topic_under_a_followed_prefix_stops_the_edge => $crate::failures::an_unknown_topic_under_a_followed_prefix_stops_the_edge,
                a_declared_follower_sees_only_its_topics => $crate::follows::a_declared_follower_sees_only_its_topics,
                leased_instances_share_edges_and_take_over => $crate::leased::leased_instances_share_edges_and_take_over,
            );
        }
    };
}
