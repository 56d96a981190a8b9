//! Events in the Python library's stored format (`STORED_FORMAT=python`): topics
//! `module:Qualname.Variant` from [`Event::PYTHON`], the timestamp transcoded as
//! `{"_type_":"datetime_iso","_data_":…}`, `originator_topic` in the version-1 event, fields in
//! declaration order. Reading also takes Python's transcodings of UUIDs (`uuid_hex`), decimals
//! (`decimal_str`) and datetimes nested in the fields, as strings; any other transcoding fails
//! with the Python library's words.

use serde_json::{Map, Value};

use super::write::{self, Layout};
use super::{
    CLASS_VERSION, DATETIME_ISO, ORIGINATOR_TOPIC, TIMESTAMP, TRANSCODED_DATA, TRANSCODED_TYPE,
};
use crate::domain::{Event, Fields, PythonTopics, Timestamp};

fn topics<E: Event>() -> Result<PythonTopics, String> {
    E::PYTHON.ok_or_else(|| {
        format!(
            "{} declares no Python topics (Event::PYTHON), so STORED_FORMAT=python cannot \
             store it",
            std::any::type_name::<E>()
        )
    })
}

/// The Python topic of `event`, and its stored JSON at `timestamp` into `out`.
pub(crate) fn write_python_state<E: Event>(
    event: &E,
    timestamp: Timestamp,
    originator_version: u64,
    out: &mut Vec<u8>,
) -> Result<String, String> {
    let python = topics::<E>()?;
    let native = event.topic();
    let Some(variant) = native
        .strip_prefix(E::PREFIX)
        .and_then(|v| v.strip_prefix('.'))
    else {
        return Err(format!(
            "{native}: an event type without variants has no Python topic"
        ));
    };
    let layout = Layout::Python {
        originator_topic: (originator_version == 1).then_some(python.aggregate),
    };
    write::write(event, timestamp, E::class_version_of(&native), layout, out)
        .map_err(|e| e.to_string())?;
    Ok(format!("{}.{variant}", python.aggregate))
}

/// The event stored under the Python `topic` with the JSON `state`, and its timestamp.
pub(crate) fn read_python_state<E: Event>(
    topic: &str,
    originator_version: u64,
    state: &[u8],
) -> Result<(E, Timestamp), String> {
    let python = topics::<E>()?;
    let Some(variant) = topic
        .strip_prefix(python.aggregate)
        .and_then(|v| v.strip_prefix('.'))
    else {
        return Err(format!(
            "topic {topic:?} is not one of {}'s (Python aggregate {})",
            std::any::type_name::<E>(),
            python.aggregate
        ));
    };
    let mut fields: Fields = serde_json::from_slice(state).map_err(|e| e.to_string())?;
    let timestamp = match fields.remove(TIMESTAMP) {
        Some(value) => datetime(&value)?,
        None => return Err("no timestamp".into()),
    };
    match (fields.remove(ORIGINATOR_TOPIC), originator_version) {
        (Some(Value::String(t)), 1) if t == python.aggregate => {}
        (Some(other), 1) => {
            return Err(format!(
                "originator_topic {other} is not {} ({})",
                python.aggregate,
                std::any::type_name::<E>()
            ));
        }
        (None, 1) => return Err("the version-1 event has no originator_topic".into()),
        _ => {}
    }
    let class_version = match fields.remove(CLASS_VERSION) {
        None => 1,
        Some(v) => v
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or("invalid class_version")?,
    };
    for value in fields.values_mut() {
        untranscode(value)?;
    }
    let native = format!("{}.{variant}", E::PREFIX);
    Ok((E::from_fields(&native, class_version, fields)?, timestamp))
}

/// The `_type_` and `_data_` of a transcoded value: an object with exactly those two keys.
fn transcoded(object: &Map<String, Value>) -> Option<(&str, &Value)> {
    if object.len() != 2 {
        return None;
    }
    Some((
        object.get(TRANSCODED_TYPE)?.as_str()?,
        object.get(TRANSCODED_DATA)?,
    ))
}

/// An event's timestamp: a transcoded aware datetime.
fn datetime(value: &Value) -> Result<Timestamp, String> {
    let iso = match value {
        Value::Object(o) => match transcoded(o) {
            Some((DATETIME_ISO, Value::String(iso))) => iso,
            _ => return Err(format!("the timestamp {value} is not a datetime_iso")),
        },
        _ => return Err(format!("the timestamp {value} is not a datetime_iso")),
    };
    let aware = iso.ends_with('Z') || iso.get(19..).is_some_and(|t| t.contains(['+', '-']));
    match Timestamp::parse(iso) {
        Some(t) if aware => Ok(t),
        _ => Err(format!(
            "the timestamp {iso:?} is not an aware ISO datetime"
        )),
    }
}

/// Replaces the Python transcodings inside `value` by the strings serde reads: `uuid_hex`,
/// `decimal_str` and `datetime_iso` by their data.
fn untranscode(value: &mut Value) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(untranscode),
        Value::Object(object) => {
            if let Some((name, data)) = transcoded(object) {
                let data = match (name, data) {
                    ("uuid_hex" | "decimal_str" | "datetime_iso", Value::String(s)) => s.clone(),
                    _ => {
                        return Err(format!(
                            "Data serialized with name '{name}' is not deserializable. Please \
                             register a custom transcoding for this type."
                        ));
                    }
                };
                *value = Value::String(data);
                return Ok(());
            }
            object.values_mut().try_for_each(untranscode)
        }
        _ => Ok(()),
    }
}
