//! The domain model: aggregates whose state is a fold of their events.
//!
//! Define an aggregate and its events with [`aggregate!`](crate::aggregate): the struct's fields,
//! then one line per event type with its fields and how it changes the aggregate. Commands are
//! ordinary methods that [`trigger`](Aggregate::trigger) events.
//!
//! ```
//! use es_core::aggregate;
//! use es_core::domain::{Aggregate, Event, uuid5_url};
//! use serde::{Deserialize, Serialize};
//!
//! aggregate! {
//!     /// A dog at the school.
//!     #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//!     pub struct Dog {
//!         pub name: String,
//!         pub tricks: Vec<String>,
//!     }
//!     /// What happens to dogs.
//!     pub enum DogEvent {
//!         Registered { name: String } => |dog| dog.name = name.clone(),
//!         TrickAdded { trick: String } => |dog| dog.tricks.push(trick.clone()),
//!     }
//! }
//!
//! impl Dog {
//!     pub fn register(name: &str) -> Self {
//!         Self::create(DogEvent::Registered { name: name.into() })
//!     }
//!     pub fn add_trick(&mut self, trick: &str) {
//!         self.trigger(DogEvent::TrickAdded { trick: trick.into() });
//!     }
//! }
//!
//! aggregate! {
//!     /// How often a trick was added.
//!     #[derive(Debug, Clone, Default, Serialize, Deserialize)]
//!     pub struct Counter {
//!         pub name: String,
//!         pub count: u64,
//!     }
//!     pub enum CounterEvent {
//!         Started { name: String } => |counter| counter.name = name.clone(),
//!         Incremented {} => |counter| counter.count += 1,
//!     }
//! }
//!
//! impl Counter {
//!     /// `uuid5(NAMESPACE_URL, "/counters/<name>")`, as the Python tutorial.
//!     pub fn create_id(name: &str) -> es_core::Uuid {
//!         uuid5_url(&format!("/counters/{name}"))
//!     }
//!     pub fn start(name: &str) -> Self {
//!         Self::create_with_id(Self::create_id(name), CounterEvent::Started { name: name.into() })
//!     }
//!     pub fn increment(&mut self) {
//!         self.trigger(CounterEvent::Incremented {});
//!     }
//! }
//!
//! let mut dog = Dog::register("Fido");
//! dog.add_trick("roll over");
//! assert_eq!((dog.version(), dog.tricks.len()), (2, 1));
//! assert_eq!(dog.pending_events()[1].event.topic_name(), "Dog.TrickAdded");
//! assert_eq!(Counter::create_id("roll over"), Counter::start("roll over").id());
//! ```

mod macros;
mod timestamp;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{Error, Result};

pub use timestamp::Timestamp;

/// The state of an event as stored: a JSON object of its fields.
pub type Fields = Map<String, Value>;

/// An upcaster: turns the stored fields of one class version into the next.
pub type Upcast = fn(&mut Fields);

/// A set of event types: usually the enum [`aggregate!`](crate::aggregate) generates.
pub trait Event: Clone + Debug + Send + Sync + 'static {
    /// The stable topic of this event's type, for example `"Dog.TrickAdded"`.
    fn topic_name(&self) -> &'static str;

    /// The class version of this event's type: 1 plus the number of its upcasters.
    fn class_version(&self) -> u32;

    /// True when `topic` is one of this set's topics or aliases.
    fn handles(topic: &str) -> bool
    where
        Self: Sized;

    /// The event's fields, as the JSON object that is stored.
    ///
    /// # Errors
    ///
    /// A field that cannot be written as JSON.
    fn to_fields(&self) -> serde_json::Result<Fields>;

    /// The event of `topic` (a current topic or an alias) from `fields` stored at
    /// `class_version`, after running the upcasters from that version to the current one.
    ///
    /// # Errors
    ///
    /// An unknown topic or a field that does not decode, as a message.
    fn from_fields(
        topic: &str,
        class_version: u32,
        fields: Fields,
    ) -> std::result::Result<Self, String>;
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

/// What every aggregate carries beside its own fields: id, version, timestamps and the events
/// not yet saved. [`aggregate!`](crate::aggregate) adds it as a hidden field.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta<E> {
    id: Uuid,
    version: u64,
    created_on: Timestamp,
    modified_on: Timestamp,
    pending: Vec<Envelope<E>>,
}

impl<E> Default for Meta<E> {
    fn default() -> Self {
        Self {
            id: Uuid::nil(),
            version: 0,
            created_on: Timestamp::default(),
            modified_on: Timestamp::default(),
            pending: Vec::new(),
        }
    }
}

impl<E> Meta<E> {
    /// Restores the metadata of an aggregate loaded from a snapshot.
    pub(crate) fn restored(
        id: Uuid,
        version: u64,
        created_on: Timestamp,
        modified_on: Timestamp,
    ) -> Self {
        Self {
            id,
            version,
            created_on,
            modified_on,
            pending: Vec::new(),
        }
    }
}

/// An event-sourced aggregate: its state is the fold of its events through
/// [`apply`](Self::apply). Usually implemented by [`aggregate!`](crate::aggregate).
pub trait Aggregate:
    Serialize + DeserializeOwned + Clone + Debug + Default + Send + Sync + 'static
{
    /// The aggregate's events.
    type Event: Event;

    /// The aggregate type's stable name, for example `"Dog"` (used for snapshots and
    /// snapshotting intervals).
    const NAME: &'static str;

    /// The metadata.
    fn meta(&self) -> &Meta<Self::Event>;

    /// The metadata, mutably.
    fn meta_mut(&mut self) -> &mut Meta<Self::Event>;

    /// Changes the state by one event. It must not fail: commands validate before they
    /// trigger.
    fn apply(&mut self, event: &Self::Event);

    /// The aggregate's id.
    fn id(&self) -> Uuid {
        self.meta().id
    }

    /// The version: the number of events applied (0 before the first).
    fn version(&self) -> u64 {
        self.meta().version
    }

    /// When the first event happened.
    fn created_on(&self) -> Timestamp {
        self.meta().created_on
    }

    /// When the last event happened.
    fn modified_on(&self) -> Timestamp {
        self.meta().modified_on
    }

    /// Events triggered since the last save.
    fn pending_events(&self) -> &[Envelope<Self::Event>] {
        &self.meta().pending
    }

    /// A new aggregate with a random id, created by `event`.
    fn create(event: Self::Event) -> Self {
        Self::create_with_id(Uuid::new_v4(), event)
    }

    /// A new aggregate with `id` (for example a [`uuid5_url`] of a name), created by `event`.
    fn create_with_id(id: Uuid, event: Self::Event) -> Self {
        let mut aggregate = Self::default();
        aggregate.meta_mut().id = id;
        aggregate.trigger(event);
        aggregate
    }

    /// Applies `event` as the next version and keeps it pending until saved.
    fn trigger(&mut self, event: Self::Event) {
        let envelope = Envelope {
            originator_id: self.id(),
            originator_version: self.version() + 1,
            timestamp: Timestamp::now().max(self.modified_on()),
            event,
        };
        self.apply(&envelope.event);
        let meta = self.meta_mut();
        if meta.version == 0 {
            meta.created_on = envelope.timestamp;
        }
        meta.version = envelope.originator_version;
        meta.modified_on = envelope.timestamp;
        meta.pending.push(envelope);
    }

    /// Applies a recorded event, checking that it belongs to this aggregate and is the next
    /// version. The first event of a new (default) aggregate sets its id.
    ///
    /// # Errors
    ///
    /// [`Error::OriginatorMismatch`] for another aggregate's event and
    /// [`Error::VersionMismatch`] for an event that is not the next version.
    fn mutate(&mut self, envelope: &Envelope<Self::Event>) -> Result<()> {
        let meta = self.meta();
        if meta.version == 0 && meta.id.is_nil() {
            self.meta_mut().id = envelope.originator_id;
        } else if envelope.originator_id != meta.id {
            return Err(Error::OriginatorMismatch {
                expected: meta.id,
                found: envelope.originator_id,
            });
        }
        let meta = self.meta();
        if envelope.originator_version != meta.version + 1 {
            return Err(Error::VersionMismatch {
                originator_id: meta.id,
                expected: meta.version + 1,
                found: envelope.originator_version,
            });
        }
        self.apply(&envelope.event);
        let meta = self.meta_mut();
        if meta.version == 0 {
            meta.created_on = envelope.timestamp;
        }
        meta.version = envelope.originator_version;
        meta.modified_on = envelope.timestamp;
        Ok(())
    }

    /// Takes the pending events, leaving none.
    fn collect_events(&mut self) -> Vec<Envelope<Self::Event>> {
        std::mem::take(&mut self.meta_mut().pending)
    }
}

/// `uuid5(NAMESPACE_URL, path)`: deterministic ids such as the tutorial's
/// `Counter::create_id("roll over")` = `uuid5_url("/counters/roll over")`.
pub fn uuid5_url(path: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes())
}

/// Takes field `name` out of `fields` and decodes it (a missing field decodes as `null`, so
/// `Option` fields may be absent). Used by [`aggregate!`](crate::aggregate).
///
/// # Errors
///
/// A message naming the field.
#[doc(hidden)]
pub fn take_field<T: DeserializeOwned>(
    fields: &mut Fields,
    name: &str,
) -> std::result::Result<T, String> {
    let value = fields.remove(name).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| format!("field {name:?}: {e}"))
}

/// Runs the upcasters from `stored_version` to the current one. Used by
/// [`aggregate!`](crate::aggregate).
#[doc(hidden)]
pub fn upcast(fields: &mut Fields, stored_version: u32, upcasts: &[Upcast]) {
    let skip = usize::try_from(stored_version.saturating_sub(1)).unwrap_or(usize::MAX);
    for up in upcasts.iter().skip(skip) {
        up(fields);
    }
}
