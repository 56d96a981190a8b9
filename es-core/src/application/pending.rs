//! [`Pending`]: anything [`Application::save`](super::Application::save) can take events from.

use std::any::Any;

use uuid::Uuid;

use crate::domain::{Aggregate, Root};
use crate::mapper::Mapper;
use crate::{Result, StoredEvent};

/// Something with events to save: every [`Root`] of an [`Aggregate`]. Object-safe, so one save can take
/// aggregates of several types (`&mut [&mut dyn Pending]`).
pub trait Pending: Send {
    /// The pending events, encoded, in order. They stay pending until
    /// [`clear_pending`](Self::clear_pending).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`](crate::Error::Encode) when an event cannot be encoded.
    fn stored_events(&self, mapper: &Mapper) -> Result<Vec<StoredEvent>>;

    /// Forgets the pending events: they are saved.
    fn clear_pending(&mut self);

    /// The aggregate type's name ([`Aggregate::NAME`]).
    fn type_name(&self) -> &'static str;

    /// The aggregate's id and version.
    fn position(&self) -> (Uuid, u64);

    /// The aggregate as a snapshot, encoded.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`](crate::Error::Encode) when the state cannot be encoded.
    fn snapshot(&self, mapper: &Mapper) -> Result<StoredEvent>;

    /// A copy for the aggregate cache.
    fn cache_copy(&self) -> Box<dyn Any + Send + Sync>;
}

impl<A: Aggregate> Pending for Root<A> {
    fn stored_events(&self, mapper: &Mapper) -> Result<Vec<StoredEvent>> {
        self.pending_events()
            .iter()
            .map(|e| mapper.to_stored(e))
            .collect()
    }

    fn clear_pending(&mut self) {
        self.collect_events();
    }

    fn type_name(&self) -> &'static str {
        A::NAME
    }

    fn position(&self) -> (Uuid, u64) {
        (self.id(), self.version())
    }

    fn snapshot(&self, mapper: &Mapper) -> Result<StoredEvent> {
        mapper.encode_snapshot(self)
    }

    fn cache_copy(&self) -> Box<dyn Any + Send + Sync> {
        Box::new(self.saved_copy())
    }
}
