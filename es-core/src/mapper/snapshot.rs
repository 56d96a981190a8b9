//! Snapshots: an aggregate's state with its creation and modification times, encoded as events
//! are, and decoded with the aggregate's snapshot upcasters applied.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Mapper, StoredFormat};
use crate::domain::{Aggregate, Root, Timestamp};
use crate::{Error, Result, StoredEvent};

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

impl Mapper {
    /// The aggregate `root` as a snapshot, encoded as its events are (JSON, then zlib and
    /// AES-GCM as configured).
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when the state cannot be encoded.
    pub(crate) fn encode_snapshot<A: Aggregate>(&self, root: &Root<A>) -> Result<StoredEvent> {
        let topic = snapshot_topic(A::NAME);
        let encode = |source| Error::Encode {
            topic: topic.clone(),
            source,
        };
        if self.format() == StoredFormat::Python {
            return Err(encode(
                "snapshots in the Python library's format are not written yet: with \
                 STORED_FORMAT=python, leave snapshotting off"
                    .into(),
            ));
        }
        let json = serde_json::to_vec(&SnapshotState {
            created_on: root.created_on(),
            modified_on: root.modified_on(),
            state: root.state(),
            class_version: snapshot_version::<A>(),
        })
        .map_err(|e| encode(Box::new(e)))?;
        Ok(StoredEvent {
            originator_id: root.id(),
            originator_version: root.version(),
            topic: topic.clone(),
            state: self.encode_state(json).map_err(encode)?,
        })
    }

    /// The aggregate a snapshot holds, with its upcasters applied to older versions.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the snapshot does not decode.
    pub(crate) fn restore_snapshot<A: Aggregate>(&self, stored: &StoredEvent) -> Result<Root<A>> {
        let decode = |source| Error::Decode {
            topic: stored.topic.clone(),
            originator_id: stored.originator_id,
            originator_version: stored.originator_version,
            source,
        };
        let json = self.decode_state(&stored.state).map_err(decode)?;
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
}
