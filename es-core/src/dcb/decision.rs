//! [`Decision`]: the events of a DCB application, as a serde enum whose variant names are the
//! stored types, and [`Tagged`] decisions.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::persistence::dcb::DcbEvent;

/// The events of a DCB application: any serde enum. Each variant's name (or its
/// `#[serde(rename = "...")]`, a Python topic such as `"__main__:StudentJoinedCourse"` for
/// Python's data) is the stored type; its fields are the stored data, as a JSON object.
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
/// enum Enrolment {
///     StudentRegistered { name: String, max_courses: u32 },
///     StudentJoinedCourse { student_id: String, course_id: String },
/// }
/// use es_core::dcb::Decision;
/// let e = Enrolment::StudentRegistered { name: "Max".into(), max_courses: 3 };
/// let (t, data) = e.encode().unwrap();
/// assert_eq!(t, "StudentRegistered");
/// assert_eq!(data, br#"{"name":"Max","max_courses":3}"#);
/// assert_eq!(Enrolment::decode(&t, &data).unwrap(), e);
/// ```
pub trait Decision: Sized {
    /// The stored type and data of this decision.
    ///
    /// # Errors
    ///
    /// [`Error::Encode`] when it does not serialize as an enum variant.
    fn encode(&self) -> Result<(String, Vec<u8>)>;

    /// The decision stored as `type_name` with `data`.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] naming the type when the data does not decode.
    fn decode(type_name: &str, data: &[u8]) -> Result<Self>;
}

fn encode_error(what: &str, source: impl Into<crate::BoxError>) -> Error {
    Error::Encode {
        topic: what.to_owned(),
        source: source.into(),
    }
}

impl<T: Serialize + DeserializeOwned> Decision for T {
    fn encode(&self) -> Result<(String, Vec<u8>)> {
        let value = serde_json::to_value(self).map_err(|e| encode_error("a decision", e))?;
        let (type_name, fields) = match value {
            Value::Object(map) if map.len() == 1 => map
                .into_iter()
                .next()
                .ok_or_else(|| encode_error("a decision", "an enum variant has one key"))?,
            Value::String(unit) => (unit, Value::Object(Map::new())),
            _ => {
                return Err(encode_error(
                    "a decision",
                    "a decision must be an enum variant with fields (serde's external tagging)",
                ));
            }
        };
        let data = serde_json::to_vec(&fields).map_err(|e| encode_error(&type_name, e))?;
        Ok((type_name, data))
    }

    fn decode(type_name: &str, data: &[u8]) -> Result<Self> {
        let decode_error = |source: serde_json::Error| Error::Data {
            source: Box::new(Undecodable {
                type_name: type_name.to_owned(),
                source,
            }),
        };
        let fields: Value = serde_json::from_slice(data).map_err(decode_error)?;
        let tagged = match fields {
            Value::Object(map) if map.is_empty() => Value::String(type_name.to_owned()),
            fields => Value::Object(Map::from_iter([(type_name.to_owned(), fields)])),
        };
        match serde_json::from_value(tagged.clone()) {
            Ok(decision) => Ok(decision),
            // A variant with fields that were all defaulted or skipped.
            Err(_) if tagged.is_string() => serde_json::from_value(Value::Object(Map::from_iter(
                [(type_name.to_owned(), Value::Object(Map::new()))],
            )))
            .map_err(decode_error),
            Err(e) => Err(decode_error(e)),
        }
    }
}

/// A stored DCB event that does not decode as the application's decisions.
#[derive(Debug, thiserror::Error)]
#[error("a DCB event of type {type_name:?} does not decode")]
struct Undecodable {
    type_name: String,
    source: serde_json::Error,
}

/// A decision with the tags of the consistency boundaries it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<D> {
    /// The tags (`student-1`, `course-7`).
    pub tags: Vec<String>,
    /// The decision.
    pub decision: D,
}

impl<D> Tagged<D> {
    /// `decision` with `tags`.
    pub fn new<I, S>(decision: D, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            tags: tags.into_iter().map(Into::into).collect(),
            decision,
        }
    }
}

impl<D: Decision> Tagged<D> {
    /// The event to append.
    ///
    /// # Errors
    ///
    /// As [`Decision::encode`].
    pub fn to_event(&self) -> Result<DcbEvent> {
        let (type_name, data) = self.decision.encode()?;
        Ok(DcbEvent::new(type_name, data).tagged(self.tags.iter().cloned()))
    }

    /// The decision an event stores.
    ///
    /// # Errors
    ///
    /// As [`Decision::decode`].
    pub fn from_event(event: &DcbEvent) -> Result<Self> {
        Ok(Self {
            tags: event.tags.clone(),
            decision: D::decode(&event.r#type, &event.data)?,
        })
    }
}
