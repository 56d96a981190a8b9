//! The system suite: the Python tutorial's system on both runners, catch-up at start, competing
//! follower instances, and a poison event, for a factory of the backend's storage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use es_core::application::Application;
use es_core::domain::Root;
use es_core::system::{App, AppFactory, EdgeState, MultiThreadedRunner, SingleThreadedRunner};
use es_core::{Env, Error, Uuid};

use crate::apps::Open;
use crate::apps::domain::{Dog, DogSchool, POISON, Strict, system};
use crate::support::deadline;

/// The runners' factory of applications on `open`.
pub(crate) fn factory(open: &Open) -> AppFactory {
    let open = Arc::clone(open);
    Arc::new(move |env: Env| {
        let recorders = open(&env, false)?;
        Application::new(env, recorders)
    })
}

/// DogSchool on `open`, outside any runner.
fn school(open: &Open) -> DogSchool {
    let env = Env::new(DogSchool::NAME);
    DogSchool::from_application(Application::new(env.clone(), open(&env, false).unwrap()).unwrap())
        .unwrap()
}

/// The tutorial's `test()` with either runner: three dogs, tricks, and the counts after each
/// step (3, 2, 1), waiting for the follower instead of sleeping.
pub fn the_tutorial_on_both_runners(storage: &dyn Fn() -> Open) {
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    tutorial(
        &runner.get().unwrap(),
        &runner.get().unwrap(),
        "single",
        &|last| {
            runner
                .wait::<Strict>(DogSchool::NAME, last, deadline())
                .unwrap();
        },
    );
    runner.stop().unwrap();
    let open = storage();
    let runner = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    tutorial(
        &runner.get().unwrap(),
        &runner.get().unwrap(),
        "multi",
        &|last| {
            runner
                .wait::<Strict>(DogSchool::NAME, last, deadline())
                .unwrap();
            // Let the follower go idle, so that the next step's events reach it only if its
            // subscription wakes: a follower still selecting finds them without a wake (a
            // subscription that is never woken passed 2 runs in 20 under CI's load so).
            std::thread::sleep(Duration::from_millis(100));
        },
    );
    runner.stop().unwrap();
}

/// The tutorial's steps on a started runner whose `wait` waits for the follower.
fn tutorial(school: &DogSchool, strict: &Strict, runner: &str, wait: &dyn Fn(u64)) {
    let dogs: Vec<Uuid> = ["Billy", "Milly", "Scrappy"]
        .iter()
        .map(|name| school.register_dog(name).unwrap())
        .collect();
    let steps: [(&[usize], &str, [u64; 3]); 3] = [
        (&[0, 1, 2], "roll over", [3, 0, 0]),
        (&[0, 1], "fetch ball", [3, 2, 0]),
        (&[0], "play dead", [3, 2, 1]),
    ];
    for (who, trick, counts) in steps {
        for &d in who {
            school.add_trick(dogs[d], trick).unwrap();
        }
        wait(school.last_id());
        let got = ["roll over", "fetch ball", "play dead"].map(|t| strict.count(t));
        assert_eq!(
            got, counts,
            "{runner}-threaded runner: counts after adding {trick:?}"
        );
    }
    let billy: Root<Dog> = school.get(dogs[0]).unwrap();
    assert_eq!(billy.tricks, ["roll over", "fetch ball", "play dead"]);
}

/// A runner started after the leader recorded events processes them without a new save.
pub fn both_runners_catch_up_with_a_backlog_at_start(storage: &dyn Fn() -> Open) {
    for multi in [false, true] {
        let open = storage();
        let school = school(&open);
        let dog = school.register_dog("Milly").unwrap();
        let trick = format!("backlog-{}", Uuid::new_v4());
        for _ in 0..3 {
            school.add_trick(dog, &trick).unwrap();
        }
        let last = school.last_id();
        let count = if multi {
            let runner = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
            runner.start().unwrap();
            runner
                .wait::<Strict>(DogSchool::NAME, last, deadline())
                .unwrap();
            let count = runner.get::<Strict>().unwrap().count(&trick);
            runner.stop().unwrap();
            count
        } else {
            let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
            runner.start().unwrap();
            runner
                .wait::<Strict>(DogSchool::NAME, last, Duration::ZERO)
                .unwrap();
            let count = runner.get::<Strict>().unwrap().count(&trick);
            runner.stop().unwrap();
            count
        };
        assert_eq!(count, 3, "multi={multi}: the backlog is processed at start");
    }
}

/// Two multi-threaded runners on the same storage (two instances of one service): every
/// event is processed once.
pub fn competing_follower_instances_process_each_event_once(storage: &dyn Fn() -> Open) {
    let open = storage();
    // A third of the events are a backlog that both instances start on; the rest arrive in
    // two rounds while they run, after pauses in which both have surely started following
    // (a thread that starts late would otherwise find everything done, and nothing would be
    // processed twice whatever the recorder).
    let backlog = school(&open);
    let dog = backlog.register_dog("Scrappy").unwrap();
    let trick = format!("fetch-{}", Uuid::new_v4());
    for _ in 0..10 {
        backlog.add_trick(dog, &trick).unwrap();
    }
    let a = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
    let b = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
    a.start().unwrap();
    b.start().unwrap();
    let school = a.get::<DogSchool>().unwrap();
    for _ in 0..2 {
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..10 {
            school.add_trick(dog, &trick).unwrap();
        }
    }
    let last = school.last_id();
    a.wait::<Strict>(DogSchool::NAME, last, deadline()).unwrap();
    b.wait::<Strict>(DogSchool::NAME, last, deadline()).unwrap();
    // The tracking both waits read is shared: an instance that lags may still be about to
    // process again what the other did (which a recorder without the tracking check lets
    // through). Give it the time to, before counting.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(a.get::<Strict>().unwrap().count(&trick), 30);
    assert_eq!(b.get::<Strict>().unwrap().count(&trick), 30);
    assert!(
        a.watch_for_errors(Duration::ZERO).is_ok() && b.watch_for_errors(Duration::ZERO).is_ok()
    );
    a.stop().unwrap();
    b.stop().unwrap();
}

/// A poison event: the single-threaded runner reports the policy's error to the saver (the
/// leader's event is recorded, tracking stops before it) and processes it once on the next
/// save after the cure; the multi-threaded runner stops with the error, and processes the
/// event once after the cure and a restart.
pub fn a_poison_event_is_processed_once_after_the_cure(storage: &dyn Fn() -> Open) {
    let trick = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick.clone());
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let strict = runner.get::<Strict>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let e = school.add_trick(dog, &trick).unwrap_err();
    assert_eq!(
        e.recorded_ids(),
        Some(&[school.last_id()][..]),
        "the save says its event is recorded: {e}"
    );
    let Error::Recorded { source, .. } = &e else {
        unreachable!()
    };
    assert!(
        matches!(&**source, Error::EdgeStopped { leader, source, .. }
            if leader == "DogSchool" && matches!(**source, Error::Processing { .. })),
        "{e}"
    );
    let started = Instant::now();
    let waited = runner
        .wait::<Strict>(DogSchool::NAME, school.last_id(), deadline())
        .unwrap_err();
    assert!(
        matches!(waited, Error::EdgeStopped { .. }) && started.elapsed() < deadline() / 2,
        "wait returns the error at once: {waited}"
    );
    let health = runner.health().unwrap();
    assert!(
        matches!(&health[0].state, EdgeState::Failed { error } if error.contains("cannot count"))
            && health[0].lag == 1,
        "{health:?}"
    );
    let recorded: Root<Dog> = school.get(dog).unwrap();
    assert_eq!(
        recorded.tricks,
        std::slice::from_ref(&trick),
        "the leader's event is recorded"
    );
    let tracked = strict.recorder().max_tracking_id(DogSchool::NAME).unwrap();
    assert_eq!(
        tracked,
        Some(school.last_id() - 1),
        "tracking stops before the poison event"
    );
    POISON.lock().unwrap().remove(&trick);
    school.add_trick(dog, "sit").unwrap();
    assert_eq!(
        (strict.count(&trick), strict.count("sit")),
        (1, 1),
        "once after the cure"
    );
    let health = runner.health().unwrap();
    assert!(
        health[0].state == EdgeState::CaughtUp
            && health[0].lag == 0
            && health[0].last_processed.is_some(),
        "{health:?}"
    );
    runner.stop().unwrap();

    let trick = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick.clone());
    let open = storage();
    let runner = MultiThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school.add_trick(dog, &trick).unwrap();
    let poisoned = school.last_id();
    let started = Instant::now();
    let waited = runner
        .wait::<Strict>(DogSchool::NAME, poisoned, deadline())
        .unwrap_err();
    assert!(
        matches!(&waited, Error::EdgeStopped { follower, source, .. }
            if follower == Strict::NAME && matches!(**source, Error::Processing { .. }))
            && started.elapsed() < deadline() / 2,
        "wait returns the policy's error, not a timeout: {waited}"
    );
    drop(waited);
    let health = runner.health().unwrap();
    assert!(
        matches!(&health[0].state, EdgeState::Failed { error } if error.contains("cannot count")),
        "{health:?}"
    );
    let e = runner.watch_for_errors(deadline()).unwrap_err();
    assert!(
        matches!(e, Error::Processing { notification_id, .. } if notification_id == poisoned),
        "{e}"
    );
    assert!(
        matches!(runner.get::<DogSchool>(), Err(Error::RunnerNotStarted)),
        "stopped by the error"
    );
    runner.stop().unwrap();
    POISON.lock().unwrap().remove(&trick);
    runner.start().unwrap();
    runner
        .wait::<Strict>(DogSchool::NAME, poisoned, deadline())
        .unwrap();
    assert!(runner.watch_for_errors(Duration::from_millis(50)).is_ok());
    assert_eq!(runner.get::<Strict>().unwrap().count(&trick), 1);
    // A failing policy surfaces from stop() too.
    let trick2 = format!("poison-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick2.clone());
    runner
        .get::<DogSchool>()
        .unwrap()
        .add_trick(dog, &trick2)
        .unwrap();
    let until = Instant::now() + deadline();
    while !runner.has_errored() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    let err = runner.stop().unwrap_err();
    assert!(
        err.report().to_string().contains("cannot count"),
        "{}",
        err.report()
    );
    POISON.lock().unwrap().remove(&trick2);
}

/// The follower's store refuses writes for a while (an outage): the multi-threaded runner
/// retries with back-off and shows the edge as retrying, then processes everything once; the
/// single-threaded runner's save says its event was recorded and the processing failed, and
/// the next save catches up.
pub fn an_outage_shows_as_retrying_and_recovers(storage: &dyn Fn() -> Open) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let down = Arc::new(AtomicBool::new(false));
    let open = storage();
    let (inner, switch) = (Arc::clone(&open), Arc::clone(&down));
    let flaky: Open = Arc::new(move |env: &Env, snapshots: bool| {
        let mut recorders = inner(env, snapshots)?;
        if env.name() == Strict::NAME {
            recorders.events = Arc::new(crate::fixture::Outage::new(
                recorders.events,
                Arc::clone(&switch),
            ));
        }
        Ok(recorders)
    });
    let trick = format!("outage-{}", Uuid::new_v4());
    let runner = MultiThreadedRunner::new(system(), Env::new(""), factory(&flaky));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    school.add_trick(dog, &trick).unwrap();
    runner
        .wait::<Strict>(DogSchool::NAME, school.last_id(), deadline())
        .unwrap();
    down.store(true, Ordering::SeqCst);
    school.add_trick(dog, &trick).unwrap();
    school.add_trick(dog, &trick).unwrap();
    let until = Instant::now() + deadline();
    let retrying = loop {
        let health = runner.health().unwrap();
        if matches!(health[0].state, EdgeState::Retrying { .. }) || Instant::now() > until {
            break health;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(
        matches!(&retrying[0].state, EdgeState::Retrying { error } if error.contains("unreachable"))
            && retrying[0].lag >= 2,
        "{retrying:?}"
    );
    down.store(false, Ordering::SeqCst);
    runner
        .wait::<Strict>(DogSchool::NAME, school.last_id(), deadline())
        .unwrap();
    assert_eq!(runner.get::<Strict>().unwrap().count(&trick), 3);
    let health = runner.health().unwrap();
    assert!(
        health[0].state == EdgeState::CaughtUp && health[0].lag == 0,
        "{health:?}"
    );
    runner.stop().unwrap();

    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&flaky));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    down.store(true, Ordering::SeqCst);
    let e = school.add_trick(dog, &trick).unwrap_err();
    assert!(
        e.recorded_ids() == Some(&[school.last_id()][..]) && !e.is_operational(),
        "recorded, so not to be retried as an outage: {e}"
    );
    assert!(
        matches!(
            &runner.health().unwrap()[0].state,
            EdgeState::Retrying { .. }
        ),
        "{:?}",
        runner.health()
    );
    down.store(false, Ordering::SeqCst);
    school.add_trick(dog, &trick).unwrap();
    assert_eq!(runner.get::<Strict>().unwrap().count(&trick), 5);
    runner.stop().unwrap();
}
