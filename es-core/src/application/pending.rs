//! [`Pending`]: anything [`Application::save`](super::Application::save) can take events from.

use std::any::Any;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::{Aggregate, Root, Timestamp};
use crate::mapper::Mapper;
use crate::{Error, Result, StoredEvent};

/// Something with events to save: every [`Root`] of an [`Aggregate`]. Object-safe, so one save can take
/// aggregates of several types (`&mut [&mut dyn Pending]`).
pub trait Pending: Send {
    /// The pending events, encoded, in order. They stay pending until
    /// [`clear_pending`](Self::clear_pending).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when an event cannot be encoded.
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
    /// [`Error::Encode`] when the state cannot be encoded.
    fn snapshot(&self, mapper: &Mapper) -> Result<StoredEvent>;

    /// A copy for the aggregate cache.
    fn cache_copy(&self) -> Box<dyn Any + Send + Sync>;
}

/// The stored form of a snapshot's state. `class_version` is stored above 1 only, so
/// snapshots of aggregates without upcasters are as before.
#[derive(Serialize, Deserialize)]
struct SnapshotState<S> {
    created_on: Timestamp,
    modified_on: Timestamp,
    state: S,
    #[serde(default = "first_version", skip_serializing_if = "is_first_version")]
    class_version: u32,
}

fn first_version() -> u32 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_first_version(v: &u32) -> bool {
    *v == 1
}

/// The snapshot version written now: 1 plus the number of the aggregate's snapshot upcasters.
fn snapshot_version<A: Aggregate>() -> u32 {
    u32::try_from(A::SNAPSHOT_UPCASTS.len()).map_or(u32::MAX, |n| n.saturating_add(1))
}

/// The topic of snapshots of aggregates named `name`.
pub(crate) fn snapshot_topic(name: &str) -> String {
    format!("{name}.Snapshot")
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
        let topic = snapshot_topic(A::NAME);
        let encode = |source| Error::Encode {
            topic: topic.clone(),
            source,
        };
        let json = serde_json::to_vec(&SnapshotState {
            created_on: self.created_on(),
            modified_on: self.modified_on(),
            state: self.state(),
            class_version: snapshot_version::<A>(),
        })
        .map_err(|e| encode(Box::new(e)))?;
        Ok(StoredEvent {
            originator_id: self.id(),
            originator_version: self.version(),
            topic: topic.clone(),
            state: mapper.encode_state(json).map_err(encode)?,
        })
    }

    fn cache_copy(&self) -> Box<dyn Any + Send + Sync> {
        Box::new(self.saved_copy())
    }
}

/// The aggregate a snapshot holds.
pub(crate) fn from_snapshot<A: Aggregate>(
    mapper: &Mapper,
    stored: &StoredEvent,
) -> Result<Root<A>> {
    let decode = |source| Error::Decode {
        topic: stored.topic.clone(),
        originator_id: stored.originator_id,
        originator_version: stored.originator_version,
        source,
    };
    let json = mapper.decode_state(&stored.state).map_err(decode)?;
    let snapshot: SnapshotState<A> = if A::SNAPSHOT_UPCASTS.is_empty() {
        serde_json::from_slice(&json).map_err(|e| decode(Box::new(e)))?
    } else {
        let mut raw: SnapshotState<Value> =
            serde_json::from_slice(&json).map_err(|e| decode(Box::new(e)))?;
        if let Value::Object(fields) = &mut raw.state {
            crate::domain::upcast(fields, raw.class_version, A::SNAPSHOT_UPCASTS);
        }
        SnapshotState {
            state: serde_json::from_value(raw.state).map_err(|e| decode(Box::new(e)))?,
            created_on: raw.created_on,
            modified_on: raw.modified_on,
            class_version: raw.class_version,
        }
    };
    Ok(Root::restored(
        snapshot.state,
        stored.originator_id,
        stored.originator_version,
        (snapshot.created_on, snapshot.modified_on),
    ))
}
