//! The leased-runner property: runner instances with `RUNNER_LEASES=on` on one storage share
//! a system's edges out (each edge processed by exactly one of them, fairly), process every
//! event once without fighting over it, and take a stopped instance's edges over at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use es_core::application::Application;
use es_core::system::{
    App, AppFactory, EdgeHealth, EdgeState, MultiThreadedRunner, ProcessApplication, Processing,
    Received, System,
};
use es_core::{Env, Result, Uuid, app};

use crate::apps::Open;
use crate::apps::domain::{Counter, CounterEvent, DogEvent, DogSchool, Strict};
use crate::support::deadline;

app! {
    /// A second counter of tricks.
    pub struct TallyB;
}
app! {
    /// A third counter of tricks.
    pub struct TallyC;
}

fn count(app: &Application, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
    if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
        let mut counter = app.get_or(Counter::create_id(&trick), || Counter::start(&trick))?;
        counter.trigger(CounterEvent::Incremented);
        processing.collect(counter);
    }
    Ok(())
}

impl ProcessApplication for TallyB {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        count(self, event, processing)
    }
}

impl ProcessApplication for TallyC {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        count(self, event, processing)
    }
}

/// The count of `trick` by a counter application.
///
/// # Panics
///
/// When the store cannot be read.
pub fn counted(app: &Application, trick: &str) -> u64 {
    let counter = app.find::<Counter>(Counter::create_id(trick)).unwrap();
    counter.map_or(0, |c| c.count)
}

/// DogSchool followed by three counters ([`Strict`], [`TallyB`], [`TallyC`]): three edges.
///
/// # Panics
///
/// Never: the system is well formed.
pub fn system() -> System {
    System::builder()
        .pipe::<DogSchool, Strict>()
        .pipe::<DogSchool, TallyB>()
        .pipe::<DogSchool, TallyC>()
        .build()
        .unwrap()
}

fn runner(open: &Open) -> MultiThreadedRunner {
    let open = Arc::clone(open);
    let factory: AppFactory = Arc::new(move |env: Env| {
        let recorders = open(&env, false)?;
        Application::new(env, recorders)
    });
    let env = Env::new("").with_all([("RUNNER_LEASES", "on"), ("RUNNER_LEASE_TTL", "2")]);
    MultiThreadedRunner::new(system(), env, factory)
}

/// The followers each runner processes (does not stand by for).
fn held(runner: &MultiThreadedRunner) -> Vec<&'static str> {
    // A stopped runner processes nothing.
    let health = runner.health().unwrap_or_default();
    let mut held: Vec<&str> = health
        .iter()
        .filter(|h| h.state != EdgeState::StandingBy)
        .map(|h| h.follower)
        .collect();
    held.sort_unstable();
    held
}

fn conflicts(health: &[EdgeHealth]) -> u64 {
    health.iter().map(|h| h.tracking_conflicts).sum()
}

/// Waits until `check` holds of the two runners' held edges, or panics saying what it saw.
fn until(
    what: &str,
    a: &MultiThreadedRunner,
    b: &MultiThreadedRunner,
    check: &dyn Fn(&[&str], &[&str]) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let (ha, hb) = (held(a), held(b));
        if check(&ha, &hb) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < deadline(),
            "{what}: instance A processes {ha:?}, instance B {hb:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Two leased instances of a three-edge system: the second to start gets a fair share (each
/// edge processed by exactly one instance); events written meanwhile are each processed once
/// by each follower with no tracking conflict; when the first stops, the second takes its
/// edges over well within the lease's time to live (released, not run out) and processes
/// what comes next.
pub fn leased_instances_share_edges_and_take_over(storage: &dyn Fn() -> Open) {
    let open = storage();
    let (a, b) = (runner(&open), runner(&open));
    a.start().unwrap();
    assert_eq!(held(&a).len(), 3, "an instance alone processes every edge");
    b.start().unwrap();
    let all = |ha: &[&str], hb: &[&str]| {
        let mut both = [ha, hb].concat();
        both.sort_unstable();
        both == ["Counters", "TallyB", "TallyC"]
    };
    until(
        "a fair share, each edge by one instance",
        &a,
        &b,
        &|ha, hb| all(ha, hb) && (1..=2).contains(&ha.len()) && (1..=2).contains(&hb.len()),
    );
    let school = a.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let trick = format!("leased-{}", Uuid::new_v4());
    for round in 0..3 {
        for _ in 0..10 {
            school.add_trick(dog, &trick).unwrap();
        }
        if round < 2 {
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    let last = school.last_id();
    a.wait::<Strict>(DogSchool::NAME, last, deadline()).unwrap();
    a.wait::<TallyB>(DogSchool::NAME, last, deadline()).unwrap();
    a.wait::<TallyC>(DogSchool::NAME, last, deadline()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let counts = |r: &MultiThreadedRunner| {
        [
            r.get::<Strict>().unwrap().count(&trick),
            counted(r.get::<TallyB>().unwrap().application(), &trick),
            counted(r.get::<TallyC>().unwrap().application(), &trick),
        ]
    };
    assert_eq!(counts(&b), [30; 3], "each follower counts each event once");
    let (health_a, health_b) = (a.health().unwrap(), b.health().unwrap());
    assert_eq!(
        conflicts(&health_a) + conflicts(&health_b),
        0,
        "no instance processed what another had: {health_a:?} {health_b:?}"
    );
    assert!(
        a.watch_for_errors(Duration::ZERO).is_ok() && b.watch_for_errors(Duration::ZERO).is_ok()
    );
    a.stop().unwrap();
    let took = until("B takes every edge over", &a, &b, &|_, hb| hb.len() == 3);
    assert!(
        took < Duration::from_millis(1_500),
        "a stopped instance frees its leases: B took {took:?}, against a 2 s time to live"
    );
    for _ in 0..5 {
        school.add_trick(dog, &trick).unwrap();
    }
    let last = school.last_id();
    for wait in [
        MultiThreadedRunner::wait::<Strict>,
        MultiThreadedRunner::wait::<TallyB>,
        MultiThreadedRunner::wait::<TallyC>,
    ] {
        wait(&b, DogSchool::NAME, last, deadline()).unwrap();
    }
    assert_eq!(counts(&b), [35; 3]);
    b.stop().unwrap();
}
