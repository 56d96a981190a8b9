//! The kit's one table of recorder properties, a list per suite and capability. The test
//! macros ([`all_recorder_tests!`](crate::all_recorder_tests) and the per-trait ones) and
//! [`check_process_recorder`](crate::check_process_recorder) are both made from these lists, so
//! they cannot diverge: a property is added here, once.
//!
//! Each list macro takes the name of a macro of this crate and its leading arguments, and
//! invokes it with `; name => path, ...` appended.

/// Properties of every [`AggregateRecorder`](es_core::AggregateRecorder).
#[doc(hidden)]
#[macro_export]
macro_rules! __aggregate_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            insert_and_select => $crate::aggregate::insert_and_select,
            events_round_trip => $crate::aggregate::events_round_trip,
            model_based => $crate::aggregate::model_based,
            racing_writers_one_winner => $crate::concurrent::racing_writers_one_winner,
        }
    };
}

/// Properties of every [`ApplicationRecorder`](es_core::ApplicationRecorder).
#[doc(hidden)]
#[macro_export]
macro_rules! __application_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            insert_select => $crate::application::insert_select,
            empty_insert_returns_no_ids => $crate::application::empty_insert_returns_no_ids,
            model_based => $crate::application::model_based,
            non_interleaving_batches => $crate::concurrent::non_interleaving_batches,
            polling_readers_never_go_back => $crate::ordering::polling_readers_never_go_back,
            a_selection_is_capped => $crate::limits::a_selection_is_capped,
            an_oversized_state_is_refused => $crate::limits::an_oversized_state_is_refused,
        }
    };
}

/// Properties of an application recorder's subscriptions (skipped with `no_subscribe`).
#[doc(hidden)]
#[macro_export]
macro_rules! __subscription_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            subscribe_catches_up_then_follows => $crate::application::subscribe_catches_up_then_follows,
            subscription_wakes_on_insert_and_stop => $crate::application::subscription_wakes_on_insert_and_stop,
            tailing_readers_never_go_back => $crate::concurrent::tailing_readers_never_go_back,
            subscriptions_under_concurrent_writes => $crate::subscriptions::subscriptions_under_concurrent_writes,
        }
    };
}

/// Properties of application recorders whose ids never skip (run with `gap_free`).
#[doc(hidden)]
#[macro_export]
macro_rules! __application_gap_free_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            model_based_gap_free => $crate::application::model_based_gap_free,
        }
    };
}

/// Properties of every [`TrackingRecorder`](es_core::TrackingRecorder).
#[doc(hidden)]
#[macro_export]
macro_rules! __tracking_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            insert_tracking => $crate::tracking::insert_tracking,
            wait => $crate::tracking::wait,
            model_based => $crate::tracking::model_based,
        }
    };
}

/// Properties of every [`ProcessRecorder`](es_core::ProcessRecorder).
#[doc(hidden)]
#[macro_export]
macro_rules! __process_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            insert_select => $crate::process::insert_select,
            has_tracking_id => $crate::process::has_tracking_id,
            raises_when_lower_inserted_later => $crate::process::raises_when_lower_inserted_later,
            batch_tracking_covers_its_first_notification => $crate::process::batch_tracking_covers_its_first_notification,
            model_based => $crate::process::model_based,
            competing_followers_process_once => $crate::concurrent::competing_followers_process_once,
        }
    };
}

/// Properties of a process recorder's leases (skipped with `no_leases`).
#[doc(hidden)]
#[macro_export]
macro_rules! __lease_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            lease_one_holder_renews_and_releases => $crate::leases::one_holder_renews_and_releases,
            lease_expired_is_free_for_another => $crate::leases::an_expired_lease_is_free_for_another,
            lease_racing_acquirers_one_winner => $crate::leases::racing_acquirers_one_winner,
            lease_release_never_frees_a_lease_passed_on => $crate::lease_races::a_release_never_frees_a_lease_passed_on,
            lease_racing_acquirers_of_an_expired_lease_one_winner => $crate::lease_races::racing_acquirers_of_an_expired_lease_one_winner,
            lease_names_and_holders_of_every_shape => $crate::lease_races::names_and_holders_of_every_shape,
        }
    };
}

/// Properties of process recorders whose ids never skip (run with `gap_free`).
#[doc(hidden)]
#[macro_export]
macro_rules! __process_gap_free_properties {
    ($then:ident $($args:tt)*) => {
        $crate::$then! { $($args)*;
            model_based_gap_free => $crate::process::model_based_gap_free,
        }
    };
}

/// Calls each property of a list on `$make`, in order (for the `check_*` functions).
#[doc(hidden)]
#[macro_export]
macro_rules! __check_each {
    ($make:ident; $($name:ident => $path:path),* $(,)?) => {
        $( $path($make); )*
    };
}
