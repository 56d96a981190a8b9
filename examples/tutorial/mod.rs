//! The Python library's "Tutorial - Part 4 - Systems", in Rust: the DogSchool application and
//! its Dog aggregate, the Counters process application and its Counter aggregate, and the
//! system. `harness` is the tutorial's `test()`, generic over the runner. Shared by
//! `examples/dog_school.rs` and the facade's tests.

#![allow(dead_code, missing_docs, unreachable_pub)]

mod harness;

#[allow(unused_imports)] // Not every includer runs the test.
pub use harness::test;

use eventsourcing::domain::{Aggregate, Event, PythonTopics, Root, uuid5_url};
use eventsourcing::system::{ProcessApplication, Processing, Received, System};
use eventsourcing::{Result, Uuid, app};
use serde::{Deserialize, Serialize};

app!(pub struct DogSchool);

impl DogSchool {
    pub fn register_dog(&self, name: &str) -> Result<Uuid> {
        let mut dog = Root::<Dog>::create(DogEvent::Registered { name: name.into() });
        self.save(&mut dog)?;
        Ok(dog.id())
    }

    pub fn add_trick(&self, dog_id: Uuid, trick: &str) -> Result<()> {
        let mut dog = self.get::<Dog>(dog_id)?;
        dog.trigger(DogEvent::TrickAdded {
            trick: trick.into(),
        });
        self.save(&mut dog).map(drop)
    }

    pub fn get_dog(&self, dog_id: Uuid) -> Result<Dog> {
        Ok(self.get::<Dog>(dog_id)?.into_state())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dog {
    pub name: String,
    pub tricks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DogEvent {
    Registered { name: String },
    TrickAdded { trick: String },
}

impl Event for DogEvent {
    const PREFIX: &'static str = "Dog";
    // With `STORED_FORMAT=python`, stored as the Python tutorial stores them.
    const PYTHON: Option<PythonTopics> = Some(PythonTopics::new("tutorial.domainmodel:Dog"));
}

impl Aggregate for Dog {
    type Event = DogEvent;
    fn apply(&mut self, event: &DogEvent) {
        match event {
            DogEvent::Registered { name } => self.name = name.clone(),
            DogEvent::TrickAdded { trick } => self.tricks.push(trick.clone()),
        }
    }
}

app!(pub struct Counters);

impl ProcessApplication for Counters {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
            let mut counter = self.get_or(Counter::create_id(&trick), || Counter::new(&trick))?;
            counter.trigger(CounterEvent::Incremented);
            processing.collect(counter);
        }
        Ok(())
    }
}

impl Counters {
    pub fn get_count(&self, trick: &str) -> Result<u64> {
        Ok(self
            .find::<Counter>(Counter::create_id(trick))?
            .map_or(0, |c| c.count))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counter {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CounterEvent {
    Created { name: String },
    Incremented,
}

impl Event for CounterEvent {
    const PREFIX: &'static str = "Counter";
    const PYTHON: Option<PythonTopics> = Some(PythonTopics::new("tutorial.domainmodel:Counter"));
}

impl Aggregate for Counter {
    type Event = CounterEvent;
    fn apply(&mut self, event: &CounterEvent) {
        match event {
            CounterEvent::Created { name } => self.name = name.clone(),
            CounterEvent::Incremented => self.count += 1,
        }
    }
}

impl Counter {
    pub fn create_id(name: &str) -> Uuid {
        uuid5_url(&format!("/counters/{name}"))
    }

    pub fn new(name: &str) -> Root<Self> {
        let id = Self::create_id(name);
        Root::create_with_id(id, CounterEvent::Created { name: name.into() })
    }
}

pub fn system() -> Result<System> {
    System::builder().pipe::<DogSchool, Counters>().build()
}
