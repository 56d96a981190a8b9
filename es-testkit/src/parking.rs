//! Parking a poison notification (system suite): the edge goes on past it, the parked
//! notification is listed, retried through the policy exactly once (also by racing callers), or
//! dropped; health counts what is parked.

use std::time::Instant;

use es_core::system::parked::ParkedStatus;
use es_core::system::{App, EdgeState, MultiThreadedRunner, Runner, SingleThreadedRunner};
use es_core::{Env, Error, Uuid};

use crate::apps::Open;
use crate::apps::domain::{DogSchool, POISON, Strict, system};
use crate::support::deadline;
use crate::systems::factory;

/// The parked notifications of `runner`'s Strict: (id, status).
fn listed<R: Runner>(runner: &R) -> Vec<(u64, ParkedStatus)> {
    let parked = runner.parked::<Strict>().unwrap();
    parked
        .iter()
        .map(|p| (p.notification_id, p.status))
        .collect()
}

/// Single-threaded runner: a poison notification stops the edge and holds back what follows;
/// parking it records the tracking record past it and processes what follows at once; a retry
/// while it is still poison fails and leaves it parked; after the cure, two racing retries
/// count it exactly once; a third retry is refused. Multi-threaded runner: the failed edge
/// goes on by itself once its notification is parked (`wait` for a later one returns, the
/// runner's error is cleared), and a dropped notification is never counted.
pub fn a_parked_notification_is_retried_or_dropped_once(storage: &dyn Fn() -> Open) {
    let poison = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(poison.clone());
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let (school, strict) = (
        runner.get::<DogSchool>().unwrap(),
        runner.get::<Strict>().unwrap(),
    );
    let dog = school.register_dog("Rex").unwrap();
    assert!(school.add_trick(dog, &poison).is_err());
    let poisoned = school.last_id();
    assert!(school.add_trick(dog, "after").is_err(), "held back");
    assert_eq!(strict.count("after"), 0);
    let parked = runner
        .park::<Strict>(DogSchool::NAME, "cannot count")
        .unwrap();
    assert_eq!(parked, poisoned, "the notification the edge stopped on");
    assert_eq!(
        strict.count("after"),
        1,
        "what follows is processed at once"
    );
    let health = runner.health().unwrap();
    assert!(
        health[0].state == EdgeState::CaughtUp && health[0].parked == 1,
        "{health:?}"
    );
    assert_eq!(listed(&runner), [(poisoned, ParkedStatus::Parked)]);
    let e = runner
        .retry_parked::<Strict>(DogSchool::NAME, poisoned)
        .unwrap_err();
    assert!(matches!(e, Error::Processing { .. }), "{}", e.report());
    assert_eq!(listed(&runner), [(poisoned, ParkedStatus::Parked)]);
    POISON.lock().unwrap().remove(&poison);
    let retried: Vec<bool> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    runner
                        .retry_parked::<Strict>(DogSchool::NAME, poisoned)
                        .is_ok()
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(
        retried.iter().filter(|ok| **ok).count(),
        1,
        "one of two racing retries records: {retried:?}"
    );
    assert_eq!(strict.count(&poison), 1, "retried exactly once");
    let again = runner
        .retry_parked::<Strict>(DogSchool::NAME, poisoned)
        .unwrap_err();
    assert!(again.is_programming(), "{}", again.report());
    assert_eq!(strict.count(&poison), 1);
    assert_eq!(listed(&runner), [(poisoned, ParkedStatus::Retried)]);
    assert_eq!(runner.health().unwrap()[0].parked, 0);
    let nothing = runner.park::<Strict>(DogSchool::NAME, "x").unwrap_err();
    assert!(nothing.is_programming(), "{}", nothing.report());
    runner.stop().unwrap();

    let poison = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(poison.clone());
    let open = storage();
    let runner = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school.add_trick(dog, &poison).unwrap();
    let poisoned = school.last_id();
    school.add_trick(dog, "after").unwrap();
    let after = school.last_id();
    let started = Instant::now();
    assert!(
        runner
            .wait::<Strict>(DogSchool::NAME, poisoned, deadline())
            .is_err()
            && started.elapsed() < deadline() / 2
    );
    assert_eq!(
        runner.park::<Strict>(DogSchool::NAME, "give up").unwrap(),
        poisoned
    );
    runner
        .wait::<Strict>(DogSchool::NAME, after, deadline())
        .expect("the failed edge goes on once its notification is parked");
    let strict = runner.get::<Strict>().unwrap();
    assert_eq!(strict.count("after"), 1);
    assert!(!runner.has_errored(), "the edge's failure is cleared");
    runner
        .drop_parked::<Strict>(DogSchool::NAME, poisoned, "not worth it")
        .unwrap();
    assert_eq!(listed(&runner), [(poisoned, ParkedStatus::Dropped)]);
    let e = runner
        .retry_parked::<Strict>(DogSchool::NAME, poisoned)
        .unwrap_err();
    assert!(e.is_programming(), "{}", e.report());
    POISON.lock().unwrap().remove(&poison);
    assert_eq!(strict.count(&poison), 0, "dropped: never counted");
    assert_eq!(runner.health().unwrap()[0].parked, 0);
    runner.stop().unwrap();
}

/// With `PARK_PERMANENT_ERRORS` on, a notification whose policy fails with
/// `Error::permanent` is parked by the runner itself, with the error as the reason, and the edge
/// goes on (both runners); with it off (the default) the edge stops as for any error.
pub fn permanent_errors_are_parked_when_configured(storage: &dyn Fn() -> Open) {
    let trick = format!("permanent-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick.clone());
    let on = Env::new("").with("PARK_PERMANENT_ERRORS", "yes");
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), on.clone(), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school
        .add_trick(dog, &trick)
        .expect("parked by the runner: the save succeeds");
    let parked = school.last_id();
    school.add_trick(dog, "after").unwrap();
    let strict = runner.get::<Strict>().unwrap();
    assert_eq!((strict.count(&trick), strict.count("after")), (0, 1));
    let listed = runner.parked::<Strict>().unwrap();
    assert!(
        listed.len() == 1
            && listed[0].notification_id == parked
            && listed[0].reason.contains("will never count"),
        "{listed:?}"
    );
    let health = runner.health().unwrap();
    assert!(
        health[0].parked == 1 && health[0].state == EdgeState::CaughtUp,
        "{health:?}"
    );
    runner.stop().unwrap();

    let open = storage();
    let runner = MultiThreadedRunner::new(system(), on, factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school.add_trick(dog, &trick).unwrap();
    school.add_trick(dog, "after").unwrap();
    runner
        .wait::<Strict>(DogSchool::NAME, school.last_id(), deadline())
        .expect("parked by the runner: the edge goes on");
    assert_eq!(runner.parked::<Strict>().unwrap().len(), 1);
    assert!(!runner.has_errored());
    runner.stop().unwrap();

    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let e = school.add_trick(dog, &trick).unwrap_err();
    assert!(e.is_permanent(), "off by default: {}", e.report());
    assert!(runner.parked::<Strict>().unwrap().is_empty());
    runner.stop().unwrap();
    POISON.lock().unwrap().remove(&trick);
}
