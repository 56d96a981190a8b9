//! The aggregates and applications the application and system suites run: the Python
//! tutorial's Dog and Counter, DogSchool and Counters, and `Strict`, a Counters that fails on
//! poisoned tricks until they are cured.

#![allow(missing_docs)]

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use es_core::domain::{Aggregate, Event, Root, uuid5_url};
use es_core::system::{ProcessApplication, Processing, Received, System};
use es_core::{Error, Result, Uuid, app};
use serde::{Deserialize, Serialize};

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

impl Dog {
    pub fn register(name: &str) -> Root<Self> {
        Root::create(DogEvent::Registered { name: name.into() })
    }
    pub fn add_trick(&self, trick: &str) -> DogEvent {
        DogEvent::TrickAdded {
            trick: trick.into(),
        }
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
    pub fn start(name: &str) -> Root<Self> {
        Root::create_with_id(
            Self::create_id(name),
            CounterEvent::Created { name: name.into() },
        )
    }
}

app! {
    /// The tutorial's leader.
    pub struct DogSchool;
}

impl DogSchool {
    pub fn register_dog(&self, name: &str) -> Result<Uuid> {
        let mut dog = Dog::register(name);
        self.save(&mut dog)?;
        Ok(dog.id())
    }
    pub fn add_trick(&self, id: Uuid, trick: &str) -> Result<()> {
        let mut dog = self.get::<Dog>(id)?;
        dog.trigger(dog.add_trick(trick));
        self.save(&mut dog).map(drop)
    }
    /// The last notification id of DogSchool's log (0 when empty).
    pub fn last_id(&self) -> u64 {
        self.recorder().max_notification_id().unwrap().unwrap_or(0)
    }
}

/// Tricks that make [`Strict`] fail, until removed; those named `panic-…` make it panic, and
/// those named `permanent-…` fail with [`Error::permanent`].
pub static POISON: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

app! {
    /// Counts tricks (the tutorial's Counters), failing on poisoned ones.
    pub struct Strict as "Counters";
}

impl ProcessApplication for Strict {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
            if POISON.lock().unwrap().contains(&trick) {
                if trick.starts_with("panic-") {
                    panic!("cannot count {trick}");
                }
                if trick.starts_with("permanent-") {
                    return Err(Error::permanent(format!("will never count {trick}")));
                }
                return Err(Error::data(format!("cannot count {trick}")));
            }
            let mut counter = self.get_or(Counter::create_id(&trick), || Counter::start(&trick))?;
            counter.trigger(CounterEvent::Incremented);
            processing.collect(counter);
        }
        Ok(())
    }
}

impl Strict {
    pub fn count(&self, trick: &str) -> u64 {
        let counter = self.find::<Counter>(Counter::create_id(trick)).unwrap();
        counter.map_or(0, |c| c.count)
    }
}

/// DogSchool followed by the counting process application.
pub fn system() -> System {
    System::builder()
        .pipe::<DogSchool, Strict>()
        .build()
        .unwrap()
}
