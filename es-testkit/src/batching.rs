//! The batching property: a follower that processes notifications in batches (many in one
//! transaction, with one tracking record) records exactly what processing them one at a time
//! records, for random upstream logs, batch sizes, poisoned events and store outages.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use es_core::application::Application;
use es_core::system::{App, process_notification, process_notifications};
use es_core::{Env, Error, Notification, NotificationId, NotificationQuery, Uuid};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};

use crate::apps::Open;
use crate::apps::domain::{Counter, DogSchool, POISON, Strict};
use crate::fixture::Outage;

/// The upstream log and the failures of one case.
#[derive(Debug, Clone)]
struct Case {
    /// Tricks added, in order: which of four, and whether it is poisoned.
    tricks: Vec<(u8, bool)>,
    /// The most notifications per transaction.
    batch: usize,
    /// For each attempt in turn, whether the follower's store is down during it.
    outages: Vec<bool>,
    /// Whether the follower has an aggregate cache.
    cache: bool,
    /// How many notifications another instance of the follower processes (one at a time)
    /// after this one read its position: its first batch must conflict, not repeat them.
    other: usize,
}

fn case() -> impl Strategy<Value = Case> {
    (
        vec((0..4_u8, prop::bool::weighted(0.1)), 1..30),
        1..9_usize,
        vec(prop::bool::weighted(0.3), 0..12),
        any::<bool>(),
        prop_oneof![2 => Just(0_usize), 1 => 1..6_usize],
    )
        .prop_map(|(tricks, batch, outages, cache, other)| Case {
            tricks,
            batch,
            outages,
            cache,
            other,
        })
}

/// Random upstream logs processed by Counters in batches of a random size, with poisoned
/// tricks (the policy fails until they are cured) and outages of the follower's store during
/// random attempts (retried from the tracking position, as a runner does): while poisoned,
/// processing stops just before the first poisoned notification with everything before it
/// recorded; after the cure it completes; and at both points the follower's tracking
/// position, its log of counter events and its counts are those of one-at-a-time processing.
pub fn batched_processing_equals_one_at_a_time(storage: &dyn Fn() -> Open) {
    let mut config = crate::config("batching");
    config.cases = config.cases.min(24);
    let mut runner = TestRunner::new(config);
    match runner.run(&case(), |case| check(storage, &case)) {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => panic!("{why}\nminimal failing case: {case:#?}"),
        Err(e) => panic!("{e}"),
    }
}

fn check(storage: &dyn Fn() -> Open, case: &Case) -> Result<(), TestCaseError> {
    let open = storage();
    let down = Arc::new(AtomicBool::new(false));
    let tag = Uuid::new_v4().simple().to_string();
    let trick = |t: u8, poisoned: bool| match poisoned {
        true => format!("{tag}-poison-{t}"),
        false => format!("{tag}-{t}"),
    };
    let leader = app::<DogSchool>(&open, None, false);
    let dog = leader.register_dog("Fido").map_err(fail)?;
    for &(t, poisoned) in &case.tricks {
        if poisoned {
            POISON.lock().unwrap().insert(trick(t, true));
        }
        leader.add_trick(dog, &trick(t, poisoned)).map_err(fail)?;
    }
    let log = leader
        .recorder()
        .select_notifications(&NotificationQuery::new(1_000))
        .map_err(fail)?;
    let follower = app::<Strict>(&open, Some(&down), case.cache);
    let mut stale = Some(
        follower
            .recorder()
            .max_tracking_id(DogSchool::NAME)
            .map_err(fail)?,
    );
    let other = app::<Strict>(&open, None, false);
    for n in log.iter().take(case.other) {
        if process_notification(&other, DogSchool::NAME, leader.mapper(), n).is_err() {
            break;
        }
    }
    let mut outages = case.outages.iter().copied();
    // Every attempt records a batch, fails in an outage or stops at a poisoned trick, or
    // meets the other instance's tracking once: more attempts than that is no progress.
    let attempts = log.len() + case.outages.len() + 2;
    let mut drive = || -> Result<(), TestCaseError> {
        for _ in 0..attempts {
            let position = match stale.take() {
                Some(position) => position,
                None => follower
                    .recorder()
                    .max_tracking_id(DogSchool::NAME)
                    .map_err(fail)?,
            };
            let rest: Vec<Notification> = log
                .iter()
                .filter(|n| position.is_none_or(|p| n.id > p))
                .take(case.batch)
                .cloned()
                .collect();
            if rest.is_empty() {
                return Ok(());
            }
            down.store(outages.next().unwrap_or(false), Ordering::SeqCst);
            let result = process_notifications(&follower, DogSchool::NAME, leader.mapper(), &rest);
            down.store(false, Ordering::SeqCst);
            match result {
                Ok(()) => {}
                Err(e) if e.is_tracking_conflict() => {}
                Err(Error::Processing { source, .. }) if source.is_operational() => {}
                Err(Error::Processing { source, .. }) if source.is_data() => return Ok(()),
                Err(e) => return Err(fail(e)),
            }
        }
        Err(TestCaseError::fail(format!(
            "no progress after {attempts} attempts: tracking does not advance"
        )))
    };
    drive()?;
    let poisoned = case.tricks.iter().position(|&(_, p)| p);
    expect(&follower, &log, &trick, case, poisoned)?;
    for &(t, _) in &case.tricks {
        POISON.lock().unwrap().remove(&trick(t, true));
    }
    drive()?;
    expect(&follower, &log, &trick, case, None)
}

/// The follower's state after one-at-a-time processing of the trick notifications before
/// `stop` (all when `None`): its tracking position, its log of (counter, version) and counts.
fn expect(
    follower: &Strict,
    log: &[Notification],
    trick: &dyn Fn(u8, bool) -> String,
    case: &Case,
    stop: Option<usize>,
) -> Result<(), TestCaseError> {
    let processed = stop.unwrap_or(case.tricks.len());
    // The registration, then one notification per trick.
    let position: Option<NotificationId> = log.get(processed).map(|n| n.id);
    let tracked = follower
        .recorder()
        .max_tracking_id(DogSchool::NAME)
        .map_err(fail)?;
    prop_assert_eq!(tracked, position, "tracking after {} tricks", processed);
    let mut versions: std::collections::HashMap<Uuid, u64> = Default::default();
    let mut expected = Vec::new();
    for &(t, poisoned) in &case.tricks[..processed] {
        let id = Counter::create_id(&trick(t, poisoned));
        let version = versions.entry(id).or_insert(0);
        if *version == 0 {
            *version = 1;
            expected.push((id, 1));
        }
        *version += 1;
        expected.push((id, *version));
    }
    let recorded: Vec<(Uuid, u64)> = follower
        .recorder()
        .select_notifications(&NotificationQuery::new(1_000))
        .map_err(fail)?
        .iter()
        .map(|n| (n.originator_id, n.originator_version))
        .collect();
    prop_assert_eq!(&recorded, &expected, "the follower's log");
    for (t, poisoned) in [false, true]
        .into_iter()
        .flat_map(|p| (0..4).map(move |t| (t, p)))
    {
        let name = trick(t, poisoned);
        let count = versions
            .get(&Counter::create_id(&name))
            .map_or(0, |v| v - 1);
        prop_assert_eq!(follower.count(&name), count, "the count of {}", name);
    }
    Ok(())
}

/// Application `T` on `open`, with an aggregate cache when `cache`; its events recorder
/// fails writes while `down` is true.
fn app<T: App>(open: &Open, down: Option<&Arc<AtomicBool>>, cache: bool) -> T {
    let mut env = Env::new(T::NAME);
    if cache {
        env = env.with("AGGREGATE_CACHE_MAXSIZE", "100");
    }
    let mut recorders = open(&env, false).unwrap();
    if let Some(down) = down {
        recorders.events = Arc::new(Outage::new(recorders.events, Arc::clone(down)));
    }
    T::from_application(Application::new(env, recorders).unwrap()).unwrap()
}

fn fail(e: Error) -> TestCaseError {
    TestCaseError::fail(e.report().to_string())
}
