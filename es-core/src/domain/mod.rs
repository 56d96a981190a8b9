//! The domain model: aggregates whose state is a fold of their events, in plain Rust.
//!
//! The events are a serde enum ([`Event`]); the aggregate is a struct with an
//! [`apply`](Aggregate::apply) that folds one event into it; the library holds the id, version,
//! timestamps and pending events in a [`Root`] that derefs to the struct. Commands are ordinary
//! methods: they validate against the state and return the event (or the command's own error),
//! and [`Root::execute`] triggers what they return.
//!
//! ```
//! use es_core::domain::{Aggregate, Event, Root, uuid5_url};
//! use serde::{Deserialize, Serialize};
//!
//! /// A dog at the school.
//! #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//! pub struct Dog {
//!     pub name: String,
//!     pub tricks: Vec<String>,
//! }
//!
//! /// What happens to dogs: stored as "Dog.Registered" and "Dog.TrickAdded".
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! pub enum DogEvent {
//!     Registered { name: String },
//!     TrickAdded { trick: String },
//! }
//!
//! impl Event for DogEvent {
//!     const PREFIX: &'static str = "Dog";
//! }
//!
//! impl Aggregate for Dog {
//!     type Event = DogEvent;
//!     fn apply(&mut self, event: &DogEvent) {
//!         match event {
//!             DogEvent::Registered { name } => self.name = name.clone(),
//!             DogEvent::TrickAdded { trick } => self.tricks.push(trick.clone()),
//!         }
//!     }
//! }
//!
//! impl Dog {
//!     pub fn register(name: &str) -> Root<Self> {
//!         Root::create(DogEvent::Registered { name: name.into() })
//!     }
//!     pub fn add_trick(&self, trick: &str) -> Result<DogEvent, String> {
//!         match self.tricks.iter().any(|t| t == trick) {
//!             true => Err(format!("{} already knows {trick}", self.name)),
//!             false => Ok(DogEvent::TrickAdded { trick: trick.into() }),
//!         }
//!     }
//! }
//!
//! /// `uuid5(NAMESPACE_URL, "/counters/<name>")`, as the Python tutorial.
//! fn counter_id(name: &str) -> es_core::Uuid {
//!     uuid5_url(&format!("/counters/{name}"))
//! }
//!
//! let mut dog = Dog::register("Fido");
//! dog.execute(|d| d.add_trick("roll over"))?;
//! assert!(dog.execute(|d| d.add_trick("roll over")).is_err());
//! assert_eq!((dog.version(), dog.tricks.len()), (2, 1));
//! assert_eq!(dog.pending_events()[1].event.topic(), "Dog.TrickAdded");
//! assert_eq!(counter_id("roll over"), uuid5_url("/counters/roll over"));
//! # Ok::<(), String>(())
//! ```

mod content;
mod event;
mod probe;
mod root;
mod tagged;
mod timestamp;
mod topics;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub(crate) use content::numbered;
pub(crate) use event::current_topic;
pub use event::{Event, Fields, PythonTopics, Upcast};
pub use root::{IntoEvents, Root};
pub use timestamp::Timestamp;
pub use topics::{TopicCheck, Topics};
pub(crate) use topics::{native_of, unknown_topic};

/// An event-sourced aggregate's state: the fold of its events through
/// [`apply`](Self::apply), held in a [`Root`]. `Default` is the state before the first event;
/// serde writes and reads snapshots.
pub trait Aggregate:
    Serialize + DeserializeOwned + Clone + Debug + Default + Send + Sync + 'static
{
    /// The aggregate's events.
    type Event: Event;

    /// The aggregate type's stable name, used for snapshots (`"<NAME>.Snapshot"`) and
    /// snapshotting intervals: by default its events' [`PREFIX`](Event::PREFIX).
    const NAME: &'static str = <Self::Event as Event>::PREFIX;

    /// Changes the state by one event. It must not fail: commands validate before they
    /// trigger.
    fn apply(&mut self, event: &Self::Event);

    /// Upcasters of snapshot states, as [`Event::UPCASTS`] for events: each turns the stored
    /// state (a JSON object of the aggregate's fields) of snapshot version n into n + 1, so
    /// snapshots are written at version 1 plus the number of upcasters (the Python library's
    /// `class_version` and `upcast_vN_vM`). A snapshot that still does not decode is not an
    /// error: the aggregate is replayed from its events instead, with a warning.
    ///
    /// ```
    /// # use es_core::domain::{Aggregate, Event, Fields};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Debug, Clone, Serialize, Deserialize)]
    /// # pub enum DogEvent { Registered { name: String } }
    /// # impl Event for DogEvent { const PREFIX: &'static str = "Dog"; }
    /// #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    /// pub struct Dog {
    ///     pub name: String,
    ///     pub tricks: Vec<String>, // new in snapshot version 2
    /// }
    ///
    /// impl Aggregate for Dog {
    ///     type Event = DogEvent;
    ///     fn apply(&mut self, event: &DogEvent) {
    ///         let DogEvent::Registered { name } = event;
    ///         self.name = name.clone();
    ///     }
    ///     const SNAPSHOT_UPCASTS: &'static [fn(&mut Fields)] = &[|state| {
    ///         state.insert("tricks".into(), serde_json::json!([]));
    ///     }];
    /// }
    /// ```
    const SNAPSHOT_UPCASTS: &'static [Upcast] = &[];
}

/// An event of an aggregate with its position: which aggregate, which version, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<E> {
    /// The aggregate.
    pub originator_id: Uuid,
    /// The aggregate's version after this event (from 1).
    pub originator_version: u64,
    /// When the event happened.
    pub timestamp: Timestamp,
    /// The event.
    pub event: E,
}

/// `uuid5(NAMESPACE_URL, path)`: deterministic ids such as the tutorial's
/// `Counter::create_id("roll over")` = `uuid5_url("/counters/roll over")`.
pub fn uuid5_url(path: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes())
}

/// Runs the upcasters from `stored_version` to the current one.
pub(crate) fn upcast(fields: &mut Fields, stored_version: u32, upcasts: &[Upcast]) {
    let skip = usize::try_from(stored_version.saturating_sub(1)).unwrap_or(usize::MAX);
    for up in upcasts.iter().skip(skip) {
        up(fields);
    }
}
