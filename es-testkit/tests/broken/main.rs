//! The kit can fail: for every property, at least one deliberately broken recorder that it
//! catches, run `KIT_CATCH_RUNS` times (1 by default; `.ci/run` sets 20 and its log shows the
//! catch counts). The racy flaws pause as a store's round trip would (ids taken before the lock
//! by writers of different speeds, a check and an act a round trip apart), so that they are
//! caught with every thread pinned to one core too.

mod dcb;
mod flaws;
mod lease_flaws;
mod leases;
mod push;
mod stores;
mod suites;
mod views;

use std::panic::{RefUnwindSafe, catch_unwind};
use std::sync::{Mutex, Once, PoisonError, RwLock};
use std::time::Duration;

use es_popo::PopoProcessRecorder;
use es_testkit::{
    aggregate, application, concurrent, limits, ordering, process, subscriptions, support, tracking,
};

use flaws::{Broken, Flaw};
use push::{Handoff, push_recorder};
use stores::{Ids, Unordered};

/// How many times each broken recorder meets each property that must catch it.
fn runs() -> usize {
    std::env::var("KIT_CATCH_RUNS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// The longest failure message a property may print: a reader sees what went wrong at a glance
/// (ids and counts, never whole vectors of events).
const LONGEST_MESSAGE: usize = 800;

/// The failure messages longer than [`LONGEST_MESSAGE`], from any thread of this binary.
static LONG_MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs (once) a panic hook that records over-long messages, then reports as usual.
fn watch_message_lengths() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            if message.len() > LONGEST_MESSAGE {
                let head: String = message.chars().take(200).collect();
                let mut long = LONG_MESSAGES.lock().unwrap_or_else(PoisonError::into_inner);
                long.push(format!("{} chars: {head}...", message.len()));
            }
            report(info);
        }));
    });
}

/// Held shared by every [`caught`] (which shortens the kit's deadline for the process) and
/// exclusively by every [`control`] (which runs with the kit's own deadline).
static DEADLINES: RwLock<()> = RwLock::new(());

/// Runs a correct store through properties that must pass, with the kit's own deadline (a
/// user's), while no [`caught`] runs: the shortened deadline of the negative controls is
/// theirs, and failed a correct store on a busy machine.
pub(crate) fn control(run: impl FnOnce()) {
    let _alone = DEADLINES.write().unwrap_or_else(PoisonError::into_inner);
    support::clear_deadline();
    run();
}

/// Runs `property` [`runs`] times and asserts that it failed every time, with messages no longer
/// than [`LONGEST_MESSAGE`]; prints the count.
fn caught(what: &str, property: impl Fn() + RefUnwindSafe) {
    let _shared = DEADLINES.read().unwrap_or_else(PoisonError::into_inner);
    // A recorder that never wakes is caught at the deadline: keep it short here.
    support::set_deadline(Duration::from_secs(1));
    watch_message_lengths();
    let runs = runs();
    let caught = (0..runs)
        .filter(|_| catch_unwind(&property).is_err())
        .count();
    eprintln!("caught {caught}/{runs}: {what}");
    assert_eq!(
        caught, runs,
        "{what}: the property passed a broken recorder"
    );
    let long = std::mem::take(&mut *LONG_MESSAGES.lock().unwrap_or_else(PoisonError::into_inner));
    assert!(
        long.is_empty(),
        "{what} (or a property running beside it) failed with messages over {LONGEST_MESSAGE} \
         characters: {long:?}"
    );
}

fn broken(flaw: Flaw) -> impl Fn() -> Broken {
    move || Broken::new(flaw)
}

#[test]
fn half_written_batches_are_caught() {
    let make = broken(Flaw::HalfBatch);
    caught("aggregate::insert_and_select / HalfBatch", || {
        aggregate::insert_and_select(&make)
    });
    caught("aggregate::model_based / HalfBatch", || {
        aggregate::model_based(&make)
    });
    caught("application::model_based / HalfBatch", || {
        application::model_based(&make)
    });
}

#[test]
fn conflicts_of_the_wrong_kind_are_caught() {
    let make = broken(Flaw::GenericConflict);
    caught(
        "concurrent::racing_writers_one_winner / GenericConflict",
        || {
            concurrent::racing_writers_one_winner(&make);
        },
    );
    caught("aggregate::insert_and_select / GenericConflict", || {
        aggregate::insert_and_select(&make)
    });
    caught("aggregate::model_based / GenericConflict", || {
        aggregate::model_based(&make)
    });
}

#[test]
fn altered_states_are_caught() {
    let make = broken(Flaw::LossyState);
    caught("aggregate::events_round_trip / LossyState", || {
        aggregate::events_round_trip(&make)
    });
    caught("aggregate::model_based / LossyState", || {
        aggregate::model_based(&make)
    });
}

#[test]
fn a_limit_before_the_topic_filter_is_caught() {
    let make = broken(Flaw::LimitBeforeTopics);
    caught("application::insert_select / LimitBeforeTopics", || {
        application::insert_select(&make)
    });
    caught("application::model_based / LimitBeforeTopics", || {
        application::model_based(&make)
    });
}

#[test]
fn an_id_for_an_empty_insert_is_caught() {
    let make = broken(Flaw::PhantomId);
    caught(
        "application::empty_insert_returns_no_ids / PhantomId",
        || {
            application::empty_insert_returns_no_ids(&make);
        },
    );
}

#[test]
fn gaps_are_caught_where_ids_must_not_skip() {
    let make = broken(Flaw::Gappy);
    caught("application::model_based_gap_free / Gappy", || {
        application::model_based_gap_free(&make)
    });
    caught("process::model_based_gap_free / Gappy", || {
        process::model_based_gap_free(&make)
    });
}

#[test]
fn subscriptions_that_are_never_woken_are_caught() {
    let make = broken(Flaw::DeafSubscription);
    caught(
        "application::subscription_wakes_on_insert_and_stop / DeafSubscription",
        || {
            application::subscription_wakes_on_insert_and_stop(&make);
        },
    );
    caught(
        "concurrent::tailing_readers_never_go_back / DeafSubscription",
        || concurrent::tailing_readers_never_go_back(&make),
    );
}

#[test]
fn subscriptions_that_ignore_topics_are_caught() {
    let make = broken(Flaw::TopicBlind);
    caught(
        "application::subscribe_catches_up_then_follows / TopicBlind",
        || {
            application::subscribe_catches_up_then_follows(&make);
        },
    );
    caught(
        "subscriptions::subscriptions_under_concurrent_writes / TopicBlind",
        || {
            subscriptions::subscriptions_under_concurrent_writes(&make);
        },
    );
}

#[test]
fn the_catch_up_gap_of_a_push_subscription_is_caught() {
    caught(
        "subscriptions::subscriptions_under_concurrent_writes / PushRecorder(BacklogFirst)",
        || {
            subscriptions::subscriptions_under_concurrent_writes(&|| {
                push_recorder(Handoff::BacklogFirst)
            });
        },
    );
    caught(
        "subscriptions::subscriptions_under_concurrent_writes / PushRecorder(DrainAfterBacklog)",
        || {
            subscriptions::subscriptions_under_concurrent_writes(&|| {
                push_recorder(Handoff::DrainAfterBacklog)
            });
        },
    );
}

/// The push store written as the guide says passes the whole kit through the seam, including
/// the state-size refusal its own storage never makes.
#[test]
fn the_correct_push_store_passes_the_kit() {
    control(|| {
        es_testkit::check_process_recorder(
            &|| push_recorder(Handoff::RegisterFirst),
            es_testkit::Options::default().gap_free().no_leases(),
        );
    });
}

#[test]
fn ids_taken_before_the_lock_are_caught() {
    let make = || Unordered::new(Ids::BeforeLock);
    caught(
        "ordering::polling_readers_never_go_back / Unordered(BeforeLock)",
        || {
            ordering::polling_readers_never_go_back(&make);
        },
    );
}

#[test]
fn a_position_behind_what_readers_saw_is_caught() {
    caught("ordering::polling_readers_never_go_back / StaleMax", || {
        ordering::polling_readers_never_go_back(&broken(Flaw::StaleMax));
    });
}

#[test]
fn uncapped_selections_and_unchecked_state_sizes_are_caught() {
    caught("limits::a_selection_is_capped / Uncapped", || {
        limits::a_selection_is_capped(&broken(Flaw::Uncapped));
    });
    caught(
        "limits::an_oversized_state_is_refused / NoSizeCheck",
        || {
            limits::an_oversized_state_is_refused(&broken(Flaw::NoSizeCheck));
        },
    );
}

#[test]
fn interleaved_batches_are_caught() {
    let make = || Unordered::new(Ids::PerEvent);
    caught(
        "concurrent::non_interleaving_batches / Unordered(PerEvent)",
        || {
            concurrent::non_interleaving_batches(&make);
        },
    );
}

#[test]
fn lower_tracking_ids_are_caught() {
    let make = broken(Flaw::LaxTracking);
    caught("tracking::insert_tracking / LaxTracking", || {
        tracking::insert_tracking(&make)
    });
    caught("tracking::model_based / LaxTracking", || {
        tracking::model_based(&make)
    });
    caught(
        "process::raises_when_lower_inserted_later / LaxTracking",
        || {
            process::raises_when_lower_inserted_later(&make);
        },
    );
    caught("process::model_based / LaxTracking", || {
        process::model_based(&make)
    });
}

#[test]
fn a_batch_checked_by_its_last_notification_only_is_caught() {
    let make = broken(Flaw::LastOfBatch);
    caught(
        "process::batch_tracking_covers_its_first_notification / LastOfBatch",
        || process::batch_tracking_covers_its_first_notification(&make),
    );
    caught("process::model_based / LastOfBatch", || {
        process::model_based(&make)
    });
}

#[test]
fn a_wait_that_does_not_wait_is_caught() {
    caught("tracking::wait / ImpatientWait", || {
        tracking::wait(&broken(Flaw::ImpatientWait))
    });
}

#[test]
fn has_tracking_id_off_by_one_is_caught() {
    caught("process::has_tracking_id / StrictHasTracking", || {
        process::has_tracking_id(&broken(Flaw::StrictHasTracking));
    });
}

#[test]
fn events_written_despite_a_tracking_conflict_are_caught() {
    let make = broken(Flaw::LeakyProcess);
    caught("process::insert_select / LeakyProcess", || {
        process::insert_select(&make)
    });
    caught("process::model_based / LeakyProcess", || {
        process::model_based(&make)
    });
}

#[test]
fn followers_that_process_a_position_twice_are_caught() {
    caught(
        "concurrent::competing_followers_process_once / NoTrackingCheck",
        || {
            concurrent::competing_followers_process_once(&broken(Flaw::NoTrackingCheck));
        },
    );
}

/// The correct recorder passes the properties the broken ones fail: the failures above come
/// from the flaws, not from the properties.
#[test]
fn the_correct_recorder_passes_the_same_properties() {
    control(|| {
        es_testkit::check_process_recorder(
            &PopoProcessRecorder::default,
            es_testkit::Options::default().gap_free(),
        );
    });
}

#[test]
fn subscriptions_that_skip_the_backlog_are_caught() {
    caught(
        "application::subscribe_catches_up_then_follows / TailOnly",
        || {
            application::subscribe_catches_up_then_follows(&broken(Flaw::TailOnly));
        },
    );
}

#[test]
fn dropped_tracking_records_are_caught() {
    let make = broken(Flaw::ForgetsTracking);
    caught("process::insert_select / ForgetsTracking", || {
        process::insert_select(&make)
    });
    caught("process::has_tracking_id / ForgetsTracking", || {
        process::has_tracking_id(&make)
    });
}
