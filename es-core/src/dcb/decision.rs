//! [`Decision`]: the events of a DCB application, as a serde enum whose variant names are the
//! stored types, and [`Tagged`] decisions.

use serde::Serialize;
use serde::de::DeserializeOwned;

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
        // Serialised directly (not through `Value`, whose maps sort their keys), so the data
        // keeps the fields in their declared order: `{"Variant":{...}}` or `"Variant"`.
        let json = serde_json::to_vec(self).map_err(|e| encode_error("a decision", e))?;
        if json.first() == Some(&b'"') {
            let name: String =
                serde_json::from_slice(&json).map_err(|e| encode_error("a decision", e))?;
            return Ok((name, b"{}".to_vec()));
        }
        let not_variant = || {
            encode_error(
                "a decision",
                "a decision must be an enum variant (serde's external tagging)",
            )
        };
        let inner = json
            .strip_prefix(b"{")
            .and_then(|j| j.strip_suffix(b"}"))
            .ok_or_else(not_variant)?;
        let mut keys = serde_json::Deserializer::from_slice(inner).into_iter::<String>();
        let name = match keys.next() {
            Some(Ok(name)) => name,
            _ => return Err(not_variant()),
        };
        let data = inner
            .get(keys.byte_offset()..)
            .and_then(|rest| rest.strip_prefix(b":"))
            .ok_or_else(not_variant)?;
        Ok((name, data.to_vec()))
    }

    fn decode(type_name: &str, data: &[u8]) -> Result<Self> {
        let decode_error = |source: serde_json::Error| Error::Data {
            source: Box::new(Undecodable {
                type_name: type_name.to_owned(),
                source,
            }),
        };
        let name = serde_json::to_vec(type_name).map_err(decode_error)?;
        let mut tagged = Vec::with_capacity(name.len() + data.len() + 3);
        tagged.push(b'{');
        tagged.extend_from_slice(&name);
        tagged.push(b':');
        tagged.extend_from_slice(data);
        tagged.push(b'}');
        match serde_json::from_slice(&tagged) {
            Ok(decision) => Ok(decision),
            // A unit variant, stored with empty data.
            Err(e) => match serde_json::from_slice::<serde_json::Value>(data) {
                Ok(serde_json::Value::Object(map)) if map.is_empty() => {
                    serde_json::from_slice(&name).map_err(|_| decode_error(e))
                }
                _ => Err(decode_error(e)),
            },
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
