//! The stored JSON of events, straight through serde: [`write_state`] serializes an event's
//! fields with its timestamp (and class version above 1) without building a map, and
//! [`read_state`] deserializes the user's type straight from the bytes, taking the library's
//! keys out as they pass. Older class versions (which upcasters change), tuple variants and
//! newtype variants of non-structs go through the stored map ([`Event::from_fields`]).

mod python;
mod read;
mod write;

use serde_json::Value;

use crate::domain::{Event, Fields, Timestamp, current_topic};

const TIMESTAMP: &str = "timestamp";
const CLASS_VERSION: &str = "class_version";
/// The Python library's key for the aggregate's topic, in the version-1 event.
const ORIGINATOR_TOPIC: &str = "originator_topic";
/// The keys of a value the Python library's transcoder wrote.
const TRANSCODED_TYPE: &str = "_type_";
const TRANSCODED_DATA: &str = "_data_";
/// The name of Python's transcoding of `datetime`.
const DATETIME_ISO: &str = "datetime_iso";

pub(crate) use python::{read_python_state, write_python_state};

/// The topic of `event` and its stored JSON at `timestamp`, into `out`.
pub(crate) fn write_state<E: Event>(
    event: &E,
    timestamp: Timestamp,
    out: &mut Vec<u8>,
) -> serde_json::Result<String> {
    let topic = event.topic();
    write::write(
        event,
        timestamp,
        E::class_version_of(&topic),
        write::Layout::Native,
        out,
    )?;
    Ok(topic)
}

/// The event stored under `topic` with the JSON `state`, and its timestamp.
pub(crate) fn read_state<E: Event>(topic: &str, state: &[u8]) -> Result<(E, Timestamp), String> {
    let Some((current, variant)) = current_topic::<E>(topic) else {
        return Err(format!(
            "unknown topic {topic:?} for {}",
            std::any::type_name::<E>()
        ));
    };
    let latest = E::class_version_of(current);
    if let Ok((event, extra)) = read::read::<E>(variant, state)
        && extra.class_version >= latest
    {
        return Ok((event, extra.timestamp));
    }
    let mut fields: Fields = serde_json::from_slice(state).map_err(|e| e.to_string())?;
    let timestamp = match fields.remove(TIMESTAMP) {
        Some(Value::String(s)) => {
            Timestamp::parse(&s).ok_or_else(|| format!("invalid timestamp {s:?}"))?
        }
        Some(_) => return Err("timestamp is not a string".into()),
        None => Timestamp::default(),
    };
    let class_version = match fields.remove(CLASS_VERSION) {
        None => 1,
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or("invalid class_version")?,
    };
    Ok((E::from_fields(topic, class_version, fields)?, timestamp))
}
