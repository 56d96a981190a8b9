//! The application and system suites against storage of broken recorders, and the correct
//! storage passing them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use es_core::{Env, ProcessRecorder, Recorders};
use es_popo::{PopoAggregateRecorder, PopoProcessRecorder};
use es_testkit::apps::Open;
use es_testkit::{apps, batching, failures, follows, leased, parking, systems};

use super::caught;
use super::flaws::{Broken, Flaw};

/// A property of the application or system suite.
type Suite = fn(&dyn Fn() -> Open);

/// Storage whose applications' event recorders `make` makes (one per application name, kept
/// for the storage's life); snapshots are in memory and correct.
pub(crate) fn storage_of<R: ProcessRecorder + 'static>(
    make: impl Fn() -> R + Send + Sync + 'static,
) -> Open {
    type Apps<R> = HashMap<String, (Arc<R>, Arc<PopoAggregateRecorder>)>;
    let apps: Mutex<Apps<R>> = Mutex::default();
    Arc::new(move |env: &Env, snapshots: bool| {
        let (events, snaps) = apps
            .lock()
            .unwrap()
            .entry(env.name().to_owned())
            .or_insert_with(|| (Arc::new(make()), Arc::default()))
            .clone();
        let recorders = Recorders::new(events);
        Ok(if snapshots {
            recorders.with_snapshots(snaps)
        } else {
            recorders
        })
    })
}

/// Storage whose event recorders have `flaw`.
fn broken_storage(flaw: Flaw) -> impl Fn() -> Open {
    move || storage_of(move || Broken::new(flaw))
}

#[test]
fn broken_recorders_fail_the_application_suite() {
    let cases: [(&str, Flaw, Suite); 8] = [
        (
            "save_get_versions_and_not_found",
            Flaw::LossyState,
            apps::save_get_versions_and_not_found,
        ),
        (
            "concurrent_writers_get_a_version_conflict_and_can_retry",
            Flaw::GenericConflict,
            apps::concurrent_writers_get_a_version_conflict_and_can_retry,
        ),
        (
            "one_save_of_several_aggregates_is_atomic",
            Flaw::HalfBatch,
            apps::one_save_of_several_aggregates_is_atomic,
        ),
        (
            "snapshots_are_taken_at_intervals_and_used_on_load",
            Flaw::IgnoresGt,
            apps::snapshots_are_taken_at_intervals_and_used_on_load,
        ),
        (
            "notification_log_sections_and_reader",
            Flaw::Gappy,
            apps::notification_log_sections_and_reader,
        ),
        (
            "the_cache_never_returns_state_older_than_the_store",
            Flaw::IgnoresGt,
            apps::the_cache_never_returns_state_older_than_the_store,
        ),
        (
            "round_trip_with_cipher_and_compression",
            Flaw::LossyState,
            apps::round_trip_with_cipher_and_compression,
        ),
        (
            "a_snapshot_that_does_not_decode_is_replayed",
            Flaw::LossyState,
            failures::a_snapshot_that_does_not_decode_is_replayed,
        ),
    ];
    for (name, flaw, property) in cases {
        let storage = broken_storage(flaw);
        caught(&format!("apps::{name} / {flaw:?}"), || property(&storage));
    }
}

#[test]
fn broken_recorders_fail_the_system_suite() {
    let cases: [(&str, Flaw, Suite); 11] = [
        (
            "a_panicking_policy_fails_its_edge",
            Flaw::ForgetsTracking,
            failures::a_panicking_policy_fails_its_edge,
        ),
        (
            "a_parked_notification_is_retried_or_dropped_once",
            Flaw::ForgetsTracking,
            parking::a_parked_notification_is_retried_or_dropped_once,
        ),
        (
            "permanent_errors_are_parked_when_configured",
            Flaw::ForgetsTracking,
            parking::permanent_errors_are_parked_when_configured,
        ),
        (
            "an_unknown_topic_under_a_followed_prefix_stops_the_edge",
            Flaw::ForgetsTracking,
            failures::an_unknown_topic_under_a_followed_prefix_stops_the_edge,
        ),
        (
            "a_declared_follower_sees_only_its_topics",
            Flaw::ForgetsTracking,
            follows::a_declared_follower_sees_only_its_topics,
        ),
        (
            "leased_instances_share_edges_and_take_over",
            Flaw::SharedLease,
            leased::leased_instances_share_edges_and_take_over,
        ),
        (
            "batched_processing_equals_one_at_a_time",
            Flaw::ForgetsTracking,
            batching::batched_processing_equals_one_at_a_time,
        ),
        (
            "the_tutorial_on_both_runners",
            Flaw::DeafSubscription,
            systems::the_tutorial_on_both_runners,
        ),
        (
            "both_runners_catch_up_with_a_backlog_at_start",
            Flaw::TailOnly,
            systems::both_runners_catch_up_with_a_backlog_at_start,
        ),
        (
            "competing_follower_instances_process_each_event_once",
            Flaw::NoTrackingCheck,
            systems::competing_follower_instances_process_each_event_once,
        ),
        (
            "a_poison_event_is_processed_once_after_the_cure",
            Flaw::ForgetsTracking,
            systems::a_poison_event_is_processed_once_after_the_cure,
        ),
    ];
    for (name, flaw, property) in cases {
        let storage = broken_storage(flaw);
        caught(&format!("systems::{name} / {flaw:?}"), || {
            property(&storage)
        });
    }
}

/// The correct in-memory storage passes the application and system suites.
#[test]
fn the_correct_storage_passes_the_application_and_system_suites() {
    crate::control(|| {
        let storage = || storage_of(PopoProcessRecorder::default);
        apps::save_get_versions_and_not_found(&storage);
        apps::snapshots_are_taken_at_intervals_and_used_on_load(&storage);
        apps::the_cache_never_returns_state_older_than_the_store(&storage);
        systems::both_runners_catch_up_with_a_backlog_at_start(&storage);
        systems::a_poison_event_is_processed_once_after_the_cure(&storage);
        failures::a_panicking_policy_fails_its_edge(&storage);
        failures::an_unknown_topic_under_a_followed_prefix_stops_the_edge(&storage);
        follows::a_declared_follower_sees_only_its_topics(&storage);
        failures::a_snapshot_that_does_not_decode_is_replayed(&storage);
        parking::a_parked_notification_is_retried_or_dropped_once(&storage);
        parking::permanent_errors_are_parked_when_configured(&storage);
    });
}
