//! Failures that must never be silent: a panicking policy, a topic under a followed prefix
//! that the follower does not know (system suite), and a snapshot that no longer decodes
//! (application suite).

use std::time::Instant;

use es_core::domain::{Aggregate, Fields, Root};
use es_core::system::{App, EdgeState, MultiThreadedRunner, Runner, SingleThreadedRunner};
use es_core::{Env, Error, EventQuery, StoredEvent, Uuid};
use serde::{Deserialize, Serialize};

use crate::apps::domain::{Dog, DogEvent, DogSchool, POISON, Strict, system};
use crate::apps::{Open, application};
use crate::support::deadline;
use crate::systems::factory;

/// True when `e`, through the runners' wrappers, is a panic whose message has `text`.
fn is_panic(e: &Error, text: &str) -> bool {
    match e {
        Error::Panicked { message } => message.contains(text),
        Error::Processing { source, .. } | Error::Recorded { source, .. } => is_panic(source, text),
        Error::EdgeStopped { source, .. } => is_panic(source, text),
        _ => false,
    }
}

/// The edge's state, from health.
fn state(runner: &impl Runner) -> EdgeState {
    runner.health().unwrap()[0].state.clone()
}

/// A policy that panics fails its edge in both runners instead of vanishing: the single
/// runner's save returns `Recorded` (the leader's events are stored) with the panic inside;
/// the multi-threaded runner's edge shows `Failed`, its `wait` returns at once, `has_errored`
/// sees it and `stop` returns it. A restart with the poison still there starts (`Ok`, the
/// failure in health: no crash loop), and after the cure the event is processed once.
pub fn a_panicking_policy_fails_its_edge(storage: &dyn Fn() -> Open) {
    let trick = format!("panic-{}", Uuid::new_v4());
    POISON.lock().unwrap().insert(trick.clone());
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let e = school.add_trick(dog, &trick).unwrap_err();
    assert!(
        e.recorded_ids().is_some() && is_panic(&e, &trick),
        "a Recorded error with the panic: {}",
        e.report()
    );
    let started = Instant::now();
    let waited = runner
        .wait::<Strict>(DogSchool::NAME, school.last_id(), deadline())
        .unwrap_err();
    assert!(
        is_panic(&waited, &trick) && started.elapsed() < deadline() / 2,
        "wait fails at once: {}",
        waited.report()
    );
    assert!(
        matches!(state(&runner), EdgeState::Failed { error } if error.contains("panicked")),
        "{:?}",
        runner.health()
    );
    runner.stop().unwrap();
    runner
        .start()
        .expect("a failing backlog does not fail start");
    assert!(matches!(state(&runner), EdgeState::Failed { .. }));
    POISON.lock().unwrap().remove(&trick);
    let school = runner.get::<DogSchool>().unwrap();
    school.add_trick(dog, "sit").unwrap();
    let strict = runner.get::<Strict>().unwrap();
    assert_eq!((strict.count(&trick), strict.count("sit")), (1, 1));
    runner.stop().unwrap();

    let trick = format!("panic-{}", Uuid::new_v4());
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
        is_panic(&waited, &trick) && started.elapsed() < deadline() / 2,
        "wait fails at once: {}",
        waited.report()
    );
    assert!(runner.has_errored());
    assert!(
        matches!(state(&runner), EdgeState::Failed { error } if error.contains("panicked")),
        "{:?}",
        runner.health()
    );
    let stopped = runner.stop().unwrap_err();
    assert!(is_panic(&stopped, &trick), "{}", stopped.report());
    // Restarted with the poison still there: started, failed in health, not a crash.
    runner.start().unwrap();
    let waited = runner
        .wait::<Strict>(DogSchool::NAME, poisoned, deadline())
        .unwrap_err();
    assert!(is_panic(&waited, &trick), "{}", waited.report());
    drop(waited);
    let _ = runner.stop();
    POISON.lock().unwrap().remove(&trick);
    runner.start().unwrap();
    runner
        .wait::<Strict>(DogSchool::NAME, poisoned, deadline())
        .unwrap();
    assert_eq!(runner.get::<Strict>().unwrap().count(&trick), 1);
    runner.stop().unwrap();
}

/// A notification whose topic is under the prefix of an event type the policy decodes, but
/// none of its topics (an event renamed without an alias), stops the edge with the topic named,
/// instead of tracking advancing over it; what comes after it waits.
pub fn an_unknown_topic_under_a_followed_prefix_stops_the_edge(storage: &dyn Fn() -> Open) {
    let open = storage();
    let runner = SingleThreadedRunner::new(system(), Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let dog = school.register_dog("Rex").unwrap();
    let renamed = StoredEvent {
        originator_id: dog,
        originator_version: 2,
        topic: "Dog.TrickLearned".to_owned(),
        state: school
            .mapper()
            .encode_state(br#"{"trick":"beg","timestamp":"2026-12-07T00:00:00+00:00"}"#.to_vec())
            .unwrap(),
    };
    // Straight into the store, as another process would: the runner sees it at the next save.
    let renamed_id = school.recorder().insert_events(&[renamed]).unwrap()[0];
    let e = school.register_dog("Max").unwrap_err();
    let text = e.report().to_string();
    assert!(
        e.recorded_ids().is_some()
            && text.contains("Dog.TrickLearned")
            && text.contains("DogSchool"),
        "{text}"
    );
    let strict = runner.get::<Strict>().unwrap();
    assert_eq!(
        strict.recorder().max_tracking_id(DogSchool::NAME).unwrap(),
        Some(renamed_id - 1),
        "tracking stops before the unknown topic"
    );
    assert!(
        matches!(state(&runner), EdgeState::Failed { error } if error.contains("Dog.TrickLearned")),
        "{:?}",
        runner.health()
    );
    runner.stop().unwrap();
}

/// Dog at snapshot version 2: `legacy` marks state that came through the upcaster.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DogV2 {
    name: String,
    tricks: Vec<String>,
    legacy: bool,
}

impl Aggregate for DogV2 {
    type Event = DogEvent;
    const NAME: &'static str = "Dog";
    fn apply(&mut self, event: &DogEvent) {
        match event {
            DogEvent::Registered { name } => self.name.clone_from(name),
            DogEvent::TrickAdded { trick } => self.tricks.push(trick.clone()),
        }
    }
    const SNAPSHOT_UPCASTS: &'static [fn(&mut Fields)] = &[|state| {
        state.insert("legacy".into(), true.into());
    }];
}

/// Inserts a snapshot of `dog` at version 2 as an older Dog wrote it, with `state`.
fn old_snapshot(
    app: &es_core::application::Application,
    dog: &Root<Dog>,
    state: serde_json::Value,
) {
    let old = serde_json::json!({
        "created_on": dog.created_on(),
        "modified_on": dog.modified_on(),
        "state": state,
    });
    let snapshot = StoredEvent {
        originator_id: dog.id(),
        originator_version: 2,
        topic: "Dog.Snapshot".to_owned(),
        state: app
            .mapper()
            .encode_state(serde_json::to_vec(&old).unwrap())
            .unwrap(),
    };
    app.snapshot_recorder()
        .unwrap()
        .insert_events(&[snapshot])
        .unwrap();
}

/// A snapshot that no longer decodes (a field added without a default) is ignored with a
/// warning and the aggregate replayed from its events; an aggregate with snapshot upcasters
/// reads an older snapshot through them, and writes its own at its current version.
pub fn a_snapshot_that_does_not_decode_is_replayed(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], true);
    let saved = |name: &str| {
        let mut dog = Dog::register(name);
        for trick in ["a", "b"] {
            dog.trigger(dog.add_trick(trick));
        }
        app.save(&mut dog).unwrap();
        dog
    };
    let (a, b) = (saved("Fido"), saved("Rex"));
    old_snapshot(&app, &a, serde_json::json!({"name": "Fido"}));
    let loaded: Root<Dog> = app.get(a.id()).unwrap();
    assert_eq!(
        (loaded.version(), loaded.tricks.as_slice()),
        (3, &["a".to_owned(), "b".to_owned()][..]),
        "replayed from the events"
    );
    // Through the upcaster: the snapshot's state, marked, then event 3 on it (a replay
    // would leave `legacy` false).
    old_snapshot(
        &app,
        &b,
        serde_json::json!({"name": "Rex", "tricks": ["a"]}),
    );
    let upcast: Root<DogV2> = app.get(b.id()).unwrap();
    assert!(upcast.legacy, "the snapshot was read through its upcaster");
    assert_eq!(
        (upcast.version(), upcast.tricks.as_slice()),
        (3, &["a".to_owned(), "b".to_owned()][..])
    );
    app.take_snapshot::<DogV2>(b.id(), None).unwrap();
    let snapshots = app.snapshot_recorder().unwrap();
    let latest = snapshots
        .select_events(b.id(), &EventQuery::new().descending().limit(1))
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&app.mapper().decode_state(&latest[0].state).unwrap()).unwrap();
    assert_eq!(
        (latest[0].originator_version, &json["class_version"]),
        (3, &serde_json::json!(2)),
        "{json}"
    );
    let again: Root<DogV2> = app.get(b.id()).unwrap();
    assert!(again.legacy && again.version() == 3);
}
