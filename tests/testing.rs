//! The test helpers fail when they should: `Given`'s checks on the wrong events, an
//! unexpected error, an unexpected success; `PolicyTest` records tracking as a runner does, so
//! the same notification is not processed twice.

mod common;

use common::tutorial::{Counter, CounterEvent, Counters, Dog, DogEvent};
use eventsourcing::domain::{Envelope, Root, Timestamp};
use eventsourcing::testing::{Given, PolicyTest};
use eventsourcing::{Error, Uuid};

fn registered() -> DogEvent {
    DogEvent::Registered {
        name: "Fido".into(),
    }
}

fn add(trick: &str) -> impl FnOnce(&mut Root<Dog>) -> Result<(), String> {
    let trick = trick.to_owned();
    move |dog| {
        dog.execute(|d| match d.tricks.contains(&trick) {
            true => Err(format!("knows {trick}")),
            false => Ok(DogEvent::TrickAdded {
                trick: trick.clone(),
            }),
        })
    }
}

#[test]
fn given_checks_events_and_state() {
    let then = Given::<Dog>::events([registered()]).when(add("sit"));
    assert_eq!(then.root().tricks, ["sit"]);
    let dog = then.then_events([DogEvent::TrickAdded {
        trick: "sit".into(),
    }]);
    assert_eq!((dog.version(), dog.name.as_str()), (2, "Fido"));
    let mut knows = Root::<Dog>::create(registered());
    knows.trigger(DogEvent::TrickAdded {
        trick: "sit".into(),
    });
    let dog = Given::<Dog>::root(knows)
        .when(add("sit"))
        .then_error_matches(|e: &String| e == "knows sit");
    assert_eq!(dog.version(), 2, "a refused command changes nothing");
}

#[test]
#[should_panic(expected = "are not those expected")]
fn given_refuses_other_events() {
    Given::<Dog>::events([registered()])
        .when(add("sit"))
        .then_events([DogEvent::TrickAdded {
            trick: "stay".into(),
        }]);
}

#[test]
#[should_panic(expected = "the command failed with")]
fn given_refuses_an_error_when_events_are_expected() {
    Given::<Dog>::events([
        registered(),
        DogEvent::TrickAdded {
            trick: "sit".into(),
        },
    ])
    .when(add("sit"))
    .then_events([]);
}

#[test]
#[should_panic(expected = "expected an error")]
fn given_refuses_a_success_when_an_error_is_expected() {
    Given::<Dog>::events([registered()])
        .when(add("sit"))
        .then_error("knows sit".to_owned());
}

#[test]
fn policy_test_records_with_tracking() {
    let mut test = PolicyTest::<Counters>::new("DogSchool").unwrap();
    assert!(test.process(registered()).unwrap().notifications.is_empty());
    let dog = Uuid::new_v4();
    let trick = |version| Envelope {
        originator_id: dog,
        originator_version: version,
        timestamp: Timestamp::now(),
        event: DogEvent::TrickAdded {
            trick: "sit".into(),
        },
    };
    let first = test.process_envelope(&trick(2)).unwrap();
    assert!(matches!(
        first.events::<CounterEvent>().unwrap()[..],
        [CounterEvent::Created { .. }, CounterEvent::Incremented]
    ));
    test.process_envelope(&trick(3)).unwrap();
    assert_eq!(test.follower().get_count("sit").unwrap(), 2);
    let tracked = test
        .follower()
        .recorder()
        .max_tracking_id("DogSchool")
        .unwrap();
    assert_eq!(tracked, Some(3), "every notification is tracked");
    let counter = test
        .follower()
        .get::<Counter>(Counter::create_id("sit"))
        .unwrap();
    assert_eq!(counter.version(), 3);
    // A follower that cannot be opened is the opening's error.
    let e: Error = PolicyTest::<Counters>::with_builder(
        "DogSchool",
        eventsourcing::ApplicationBuilder::new("Counters")
            .without_process_env()
            .var("PERSISTENCE_MODULE", "nonsense"),
    )
    .unwrap_err();
    assert!(e.is_config(), "{}", e.report());
}
