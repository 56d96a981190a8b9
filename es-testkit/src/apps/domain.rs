//! The aggregates and applications the application and system suites run: the Python
//! tutorial's Dog and Counter, DogSchool and Counters, and `Strict`, a Counters that fails on
//! poisoned tricks until they are cured.

#![allow(missing_docs)]

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use es_core::application::Application;
use es_core::domain::{Aggregate, uuid5_url};
use es_core::system::{App, Node, ProcessApplication, Processing, Received, System};
use es_core::{Error, Result, Uuid, aggregate};
use serde::{Deserialize, Serialize};

aggregate! {
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct Dog {
        pub name: String,
        pub tricks: Vec<String>,
    }
    pub enum DogEvent {
        Registered { name: String } => |dog| dog.name = name.clone(),
        TrickAdded { trick: String } => |dog| dog.tricks.push(trick.clone()),
    }
}

impl Dog {
    pub fn new(name: &str) -> Self {
        Self::create(DogEvent::Registered { name: name.into() })
    }
    pub fn add_trick(&mut self, trick: &str) {
        self.trigger(DogEvent::TrickAdded {
            trick: trick.into(),
        });
    }
}

aggregate! {
    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    pub struct Counter {
        pub name: String,
        pub count: u64,
    }
    pub enum CounterEvent {
        Created { name: String } => |counter| counter.name = name.clone(),
        Incremented {} => |counter| counter.count += 1,
    }
}

impl Counter {
    pub fn create_id(name: &str) -> Uuid {
        uuid5_url(&format!("/counters/{name}"))
    }
    pub fn new(name: &str) -> Self {
        Self::create_with_id(
            Self::create_id(name),
            CounterEvent::Created { name: name.into() },
        )
    }
    pub fn increment(&mut self) {
        self.trigger(CounterEvent::Incremented {});
    }
}

/// The tutorial's leader.
#[derive(Debug)]
pub struct DogSchool(pub Application);

impl App for DogSchool {
    const NAME: &'static str = "DogSchool";
    fn from_application(app: Application) -> Result<Self> {
        Ok(Self(app))
    }
    fn application(&self) -> &Application {
        &self.0
    }
}

impl DogSchool {
    pub fn register_dog(&self, name: &str) -> Result<Uuid> {
        let mut dog = Dog::new(name);
        self.0.save(&mut dog)?;
        Ok(dog.id())
    }
    pub fn add_trick(&self, id: Uuid, trick: &str) -> Result<()> {
        let mut dog: Dog = self.0.get(id)?;
        dog.add_trick(trick);
        self.0.save(&mut dog).map(drop)
    }
    /// The last notification id of DogSchool's log (0 when empty).
    pub fn last_id(&self) -> u64 {
        self.0
            .recorder()
            .max_notification_id()
            .unwrap()
            .unwrap_or(0)
    }
}

/// Tricks that make [`Strict`] fail, until removed.
pub static POISON: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

/// Counts tricks (the tutorial's Counters), failing on poisoned ones.
#[derive(Debug)]
pub struct Strict(pub Application);

impl App for Strict {
    const NAME: &'static str = "Counters";
    fn from_application(app: Application) -> Result<Self> {
        Ok(Self(app))
    }
    fn application(&self) -> &Application {
        &self.0
    }
}

impl ProcessApplication for Strict {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
            if POISON.lock().unwrap().contains(&trick) {
                return Err(Error::data(format!("cannot count {trick}")));
            }
            let mut counter = self
                .0
                .get_or(Counter::create_id(&trick), || Counter::new(&trick))?;
            counter.increment();
            processing.collect(counter);
        }
        Ok(())
    }
}

impl Strict {
    pub fn count(&self, trick: &str) -> u64 {
        self.0
            .get_or(Counter::create_id(trick), Counter::default)
            .unwrap()
            .count
    }
}

/// DogSchool followed by the counting process application.
pub fn system() -> System {
    System::new([vec![Node::app::<DogSchool>(), Node::process::<Strict>()]]).unwrap()
}
