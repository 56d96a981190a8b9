//! A follower that declares what it follows ([`ProcessApplication::follows`]) (system suite):
//! its policy sees only the declared types' topics, the runner moves past the others, health
//! shows the declaration, and a topic under a declared prefix that the type does not know stops
//! the edge even though the policy, which reads topics as strings, would have ignored it.

use std::sync::Mutex;

use es_core::domain::Topics;
use es_core::system::{
    App, EdgeState, ProcessApplication, Processing, Received, SingleThreadedRunner, System,
};
use es_core::{Env, Result, StoredEvent};

use crate::apps::Open;
use crate::apps::domain::{DogEvent, DogSchool};
use crate::systems::factory;

es_core::app! {
    /// Notes the topic of every notification its policy receives.
    pub struct Topical;
}

/// The topics [`Topical`]'s policy received, by instance (tests run at once).
static SEEN: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());

impl ProcessApplication for Topical {
    fn follows() -> Option<Topics> {
        Some(Topics::new().event::<DogEvent>())
    }

    fn policy(&self, event: &Received<'_>, _: &mut Processing) -> Result<()> {
        let seen = (std::ptr::from_ref(self) as usize, event.topic().to_owned());
        SEEN.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(seen);
        Ok(())
    }
}

fn seen_by(topical: &Topical) -> Vec<String> {
    let instance = std::ptr::from_ref(topical) as usize;
    SEEN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(i, _)| *i == instance)
        .map(|(_, topic)| topic.clone())
        .collect()
}

/// Writes `topic` into DogSchool's store as another process would, returning its id.
fn insert(school: &DogSchool, topic: &str, version: u64) -> u64 {
    let state = school
        .mapper()
        .encode_state(br#"{"timestamp":"2026-12-07T00:00:00+00:00"}"#.to_vec())
        .unwrap();
    let event = StoredEvent {
        originator_id: es_core::Uuid::new_v4(),
        originator_version: version,
        topic: topic.to_owned(),
        state,
    };
    school.recorder().insert_events(&[event]).unwrap()[0]
}

/// A declared follower: a foreign topic never reaches its policy and tracking moves past it;
/// health shows what it follows; a `Dog.…` topic `DogEvent` does not know stops the edge, named,
/// with tracking just before it.
pub fn a_declared_follower_sees_only_its_topics(storage: &dyn Fn() -> Open) {
    let open = storage();
    let system = System::builder()
        .pipe::<DogSchool, Topical>()
        .build()
        .unwrap();
    let runner = SingleThreadedRunner::new(system, Env::new(""), factory(&open));
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let foreign = insert(&school, "Cat.Registered", 1);
    school.register_dog("Rex").unwrap();
    let topical = runner.get::<Topical>().unwrap();
    let tracked = topical.recorder().max_tracking_id(DogSchool::NAME).unwrap();
    assert!(
        tracked > Some(foreign),
        "tracking moved past the foreign topic: {tracked:?}"
    );
    assert_eq!(
        seen_by(&topical),
        ["Dog.Registered"],
        "the policy saw only the declared type's topics"
    );
    let health = runner.health().unwrap();
    assert_eq!(
        health[0].follows.as_deref(),
        Some(&["Dog"][..]),
        "{health:?}"
    );

    let unknown = insert(&school, "Dog.Vanished", 1);
    let e = school.register_dog("Max").unwrap_err();
    let text = e.report().to_string();
    assert!(
        e.recorded_ids().is_some() && text.contains("Dog.Vanished") && text.contains("DogEvent"),
        "{text}"
    );
    assert_eq!(
        topical.recorder().max_tracking_id(DogSchool::NAME).unwrap(),
        Some(unknown - 1),
        "tracking stops before the unknown topic"
    );
    assert!(
        matches!(&runner.health().unwrap()[0].state, EdgeState::Failed { error } if error.contains("Dog.Vanished")),
        "{:?}",
        runner.health()
    );
    runner.stop().unwrap();
}
