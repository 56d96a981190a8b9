//! [`Root`]: an aggregate's state with what the library keeps beside it.

use std::ops::Deref;

use uuid::Uuid;

use super::{Aggregate, Envelope, Timestamp};
use crate::{Error, Result};

/// An aggregate as the library holds it: the user's state `A` with its id, version, timestamps
/// and the events triggered since the last save. It derefs to `&A` (never `&mut A`: the state
/// changes only by events).
///
/// ```
/// # use es_core::domain::{Aggregate, Event, Root};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// # pub struct Dog { pub tricks: Vec<String> }
/// # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// # pub enum DogEvent { Registered { name: String }, TrickAdded { trick: String } }
/// # impl Event for DogEvent { const PREFIX: &'static str = "Dog"; }
/// # impl Aggregate for Dog {
/// #     type Event = DogEvent;
/// #     fn apply(&mut self, event: &DogEvent) {
/// #         if let DogEvent::TrickAdded { trick } = event { self.tricks.push(trick.clone()) }
/// #     }
/// # }
/// #[derive(Debug, PartialEq)]
/// pub enum DogError {
///     AlreadyKnows(String),
/// }
///
/// impl Dog {
///     /// A command: validates, then decides the event.
///     pub fn add_trick(&self, trick: &str) -> Result<DogEvent, DogError> {
///         if self.tricks.iter().any(|t| t == trick) {
///             return Err(DogError::AlreadyKnows(trick.into()));
///         }
///         Ok(DogEvent::TrickAdded { trick: trick.into() })
///     }
/// }
///
/// let mut dog = Root::<Dog>::create(DogEvent::Registered { name: "Fido".into() });
/// dog.execute(|d| d.add_trick("sit"))?;
/// assert_eq!(dog.execute(|d| d.add_trick("sit")), Err(DogError::AlreadyKnows("sit".into())));
/// assert_eq!((dog.version(), dog.tricks.len(), dog.pending_events().len()), (2, 1, 2));
/// # Ok::<(), DogError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Root<A: Aggregate> {
    state: A,
    id: Uuid,
    version: u64,
    created_on: Timestamp,
    modified_on: Timestamp,
    pending: Vec<Envelope<A::Event>>,
}

impl<A: Aggregate> Deref for Root<A> {
    type Target = A;

    fn deref(&self) -> &A {
        &self.state
    }
}

/// What a command may decide: one event, none or several.
pub trait IntoEvents<E> {
    /// The events, in order.
    fn into_events(self) -> impl IntoIterator<Item = E>;
}

impl<E: super::Event> IntoEvents<E> for E {
    fn into_events(self) -> impl IntoIterator<Item = E> {
        [self]
    }
}

impl<E: super::Event> IntoEvents<E> for Option<E> {
    fn into_events(self) -> impl IntoIterator<Item = E> {
        self
    }
}

impl<E: super::Event> IntoEvents<E> for Vec<E> {
    fn into_events(self) -> impl IntoIterator<Item = E> {
        self
    }
}

impl<E: super::Event, const N: usize> IntoEvents<E> for [E; N] {
    fn into_events(self) -> impl IntoIterator<Item = E> {
        self
    }
}

impl<A: Aggregate> Root<A> {
    /// An aggregate with no events yet (version 0), to replay recorded events into.
    pub fn empty(id: Uuid) -> Self {
        Self {
            state: A::default(),
            id,
            version: 0,
            created_on: Timestamp::default(),
            modified_on: Timestamp::default(),
            pending: Vec::new(),
        }
    }

    /// The aggregate restored from a snapshot.
    pub(crate) fn restored(
        state: A,
        id: Uuid,
        version: u64,
        (created_on, modified_on): (Timestamp, Timestamp),
    ) -> Self {
        Self {
            state,
            id,
            version,
            created_on,
            modified_on,
            pending: Vec::new(),
        }
    }

    /// A new aggregate with a random id, created by `event`.
    pub fn create(event: A::Event) -> Self {
        Self::create_with_id(Uuid::new_v4(), event)
    }

    /// A new aggregate with `id` (for example a [`uuid5_url`](super::uuid5_url) of a name),
    /// created by `event`.
    pub fn create_with_id(id: Uuid, event: A::Event) -> Self {
        let mut root = Self::empty(id);
        root.trigger(event);
        root
    }

    /// The aggregate's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The version: the number of events applied (0 before the first).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When the first event happened.
    pub fn created_on(&self) -> Timestamp {
        self.created_on
    }

    /// When the last event happened.
    pub fn modified_on(&self) -> Timestamp {
        self.modified_on
    }

    /// Events triggered since the last save.
    pub fn pending_events(&self) -> &[Envelope<A::Event>] {
        &self.pending
    }

    /// The user's state.
    pub fn state(&self) -> &A {
        &self.state
    }

    /// The user's state, without the metadata.
    pub fn into_state(self) -> A {
        self.state
    }

    /// Applies `event` as the next version and keeps it pending until saved.
    pub fn trigger(&mut self, event: A::Event) {
        let envelope = Envelope {
            originator_id: self.id,
            originator_version: self.version + 1,
            timestamp: Timestamp::now().max(self.modified_on),
            event,
        };
        self.advance(&envelope);
        self.pending.push(envelope);
    }

    /// Runs a command: `decide` validates against the state and returns the events to
    /// trigger (one, an `Option`, a `Vec` or an array), or the command's own error, in which
    /// case nothing changes.
    ///
    /// # Errors
    ///
    /// What `decide` returns.
    pub fn execute<R, E>(&mut self, decide: impl FnOnce(&A) -> Result<R, E>) -> Result<(), E>
    where
        R: IntoEvents<A::Event>,
    {
        for event in decide(&self.state)?.into_events() {
            self.trigger(event);
        }
        Ok(())
    }

    /// Applies a recorded event, checking that it belongs to this aggregate and is the next
    /// version.
    ///
    /// # Errors
    ///
    /// [`Error::OriginatorMismatch`] for another aggregate's event and
    /// [`Error::VersionMismatch`] for an event that is not the next version.
    pub fn mutate(&mut self, envelope: &Envelope<A::Event>) -> Result<()> {
        if envelope.originator_id != self.id {
            return Err(Error::OriginatorMismatch {
                expected: self.id,
                found: envelope.originator_id,
            });
        }
        if envelope.originator_version != self.version + 1 {
            return Err(Error::VersionMismatch {
                originator_id: self.id,
                expected: self.version + 1,
                found: envelope.originator_version,
            });
        }
        self.advance(envelope);
        Ok(())
    }

    fn advance(&mut self, envelope: &Envelope<A::Event>) {
        self.state.apply(&envelope.event);
        if self.version == 0 {
            self.created_on = envelope.timestamp;
        }
        self.version = envelope.originator_version;
        self.modified_on = envelope.timestamp;
    }

    /// A copy of the aggregate as it is after its pending events, without them: what a cache
    /// keeps (cheaper than a clone, which copies the pending events too).
    pub fn saved_copy(&self) -> Self {
        Self {
            state: self.state.clone(),
            id: self.id,
            version: self.version,
            created_on: self.created_on,
            modified_on: self.modified_on,
            pending: Vec::new(),
        }
    }

    /// Takes the pending events, leaving none.
    pub fn collect_events(&mut self) -> Vec<Envelope<A::Event>> {
        std::mem::take(&mut self.pending)
    }
}
