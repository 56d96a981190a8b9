//! The Python library's "Tutorial - Part 4 - Systems", in Rust: the DogSchool application and
//! its Dog aggregate, the Counters process application and its Counter aggregate, the system,
//! and the tutorial's `test()` with waits instead of sleeps. Shared by `examples/dog_school.rs`
//! and the facade's tutorial tests.

#![allow(dead_code, missing_docs, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use eventsourcing::application::Application;
use eventsourcing::domain::{Aggregate, uuid5_url};
use eventsourcing::system::{
    App, MultiThreadedRunner, Node, ProcessApplication, Processing, Received, SingleThreadedRunner,
    System,
};
use eventsourcing::{Result, Uuid, aggregate};
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

pub struct DogSchool {
    app: Application,
}

impl App for DogSchool {
    const NAME: &'static str = "DogSchool";
    fn from_application(app: Application) -> Result<Self> {
        Ok(Self { app })
    }
    fn application(&self) -> &Application {
        &self.app
    }
}

impl DogSchool {
    pub fn register_dog(&self, name: &str) -> Result<Uuid> {
        let mut dog = Dog::new(name);
        self.app.save(&mut dog)?;
        Ok(dog.id())
    }

    pub fn add_trick(&self, dog_id: Uuid, trick: &str) -> Result<()> {
        let mut dog: Dog = self.app.get(dog_id)?;
        dog.add_trick(trick);
        self.app.save(&mut dog)?;
        Ok(())
    }

    pub fn get_dog(&self, dog_id: Uuid) -> Result<(String, Vec<String>)> {
        let dog: Dog = self.app.get(dog_id)?;
        Ok((dog.name, dog.tricks))
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

pub struct Counters {
    app: Application,
}

impl App for Counters {
    const NAME: &'static str = "Counters";
    fn from_application(app: Application) -> Result<Self> {
        Ok(Self { app })
    }
    fn application(&self) -> &Application {
        &self.app
    }
}

impl ProcessApplication for Counters {
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
        if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
            let mut counter = self
                .app
                .get_or(Counter::create_id(&trick), || Counter::new(&trick))?;
            counter.increment();
            processing.collect(counter);
        }
        Ok(())
    }
}

impl Counters {
    pub fn get_count(&self, trick: &str) -> Result<u64> {
        let counter = self
            .app
            .get_or(Counter::create_id(trick), Counter::default)?;
        Ok(counter.count)
    }
}

pub fn system() -> Result<System> {
    System::new([vec![Node::app::<DogSchool>(), Node::process::<Counters>()]])
}

/// What `test()` needs of a runner.
pub trait Runner {
    fn start(&self) -> Result<()>;
    fn stop(&self) -> Result<()>;
    fn school(&self) -> Result<Arc<DogSchool>>;
    fn counters(&self) -> Result<Arc<Counters>>;
    fn wait_for_counters(&self, notification_id: u64) -> Result<()>;
}

macro_rules! runner_impl {
    ($runner:ty) => {
        impl Runner for $runner {
            fn start(&self) -> Result<()> {
                <$runner>::start(self)
            }
            fn stop(&self) -> Result<()> {
                <$runner>::stop(self)
            }
            fn school(&self) -> Result<Arc<DogSchool>> {
                self.get::<DogSchool>()
            }
            fn counters(&self) -> Result<Arc<Counters>> {
                self.get::<Counters>()
            }
            fn wait_for_counters(&self, notification_id: u64) -> Result<()> {
                self.wait::<Counters>(DogSchool::NAME, notification_id, Duration::from_secs(20))
            }
        }
    };
}

runner_impl!(SingleThreadedRunner);
runner_impl!(MultiThreadedRunner);

/// Waits until Counters has processed everything DogSchool has recorded.
fn wait(runner: &impl Runner, school: &DogSchool) -> Result<()> {
    match school.application().recorder().max_notification_id()? {
        Some(last) => runner.wait_for_counters(last),
        None => Ok(()),
    }
}

const TRICKS: [&str; 3] = ["roll over", "fetch ball", "play dead"];

/// Checks that each trick's count grew by `expected` from `start` (a durable store keeps the
/// counts of earlier runs, as the Python tutorial says).
fn check(
    counters: &Counters,
    start: [u64; 3],
    expected: [u64; 3],
) -> std::result::Result<(), String> {
    for ((trick, start), expected) in TRICKS.iter().zip(start).zip(expected) {
        let count = counters
            .get_count(trick)
            .map_err(|e| e.report().to_string())?;
        if count.checked_sub(start) != Some(expected) {
            return Err(format!(
                "count of {trick:?} is {count}, expected {} ({start} before this run)",
                start + expected
            ));
        }
    }
    Ok(())
}

/// The tutorial's `test()`: registers three dogs, adds tricks, and checks the counts (as
/// growth from the counts at the start, so that it passes again on a durable store).
pub fn test(runner: &impl Runner) -> std::result::Result<(), String> {
    runner.start().map_err(|e| e.report().to_string())?;
    let result = (|| -> std::result::Result<(), String> {
        let e = |e: eventsourcing::Error| e.report().to_string();
        let school = runner.school().map_err(e)?;
        let counters = runner.counters().map_err(e)?;
        let mut start = [0; 3];
        for (count, trick) in start.iter_mut().zip(TRICKS) {
            *count = counters.get_count(trick).map_err(e)?;
        }

        let dog_id1 = school.register_dog("Billy").map_err(e)?;
        let dog_id2 = school.register_dog("Milly").map_err(e)?;
        let dog_id3 = school.register_dog("Scrappy").map_err(e)?;

        school.add_trick(dog_id1, "roll over").map_err(e)?;
        school.add_trick(dog_id2, "roll over").map_err(e)?;
        school.add_trick(dog_id3, "roll over").map_err(e)?;

        wait(runner, &school).map_err(e)?;

        check(&counters, start, [3, 0, 0])?;

        school.add_trick(dog_id1, "fetch ball").map_err(e)?;
        school.add_trick(dog_id2, "fetch ball").map_err(e)?;

        wait(runner, &school).map_err(e)?;

        check(&counters, start, [3, 2, 0])?;

        school.add_trick(dog_id1, "play dead").map_err(e)?;

        wait(runner, &school).map_err(e)?;

        check(&counters, start, [3, 2, 1])?;

        let (name, tricks) = school.get_dog(dog_id1).map_err(e)?;
        if name != "Billy" || tricks != ["roll over", "fetch ball", "play dead"] {
            return Err(format!("Billy is {name} with {tricks:?}"));
        }
        Ok(())
    })();
    let stopped = runner.stop().map_err(|e| e.report().to_string());
    result.and(stopped)
}
