//! [`Event`]: a plain serde type whose variants are the events of an aggregate, and how it maps
//! onto stored topics and fields.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::content::fields_of;
use super::probe::{variant_of, variants_of};
use super::tagged::Tagged;

/// The state of an event as stored: a JSON object of its fields.
pub type Fields = Map<String, Value>;

/// An upcaster: turns the stored fields of one class version into the next.
pub type Upcast = fn(&mut Fields);

/// Where an event type's events are in the Python library's stored format: the topic of the
/// Python aggregate class (`module:Qualname`, for example `"tutorial.domainmodel:Dog"`). A
/// variant `Registered` is stored under `"tutorial.domainmodel:Dog.Registered"`, and the
/// version-1 event carries it as `originator_topic`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PythonTopics {
    /// The Python aggregate class's topic.
    pub aggregate: &'static str,
}

impl PythonTopics {
    /// The topics of the Python aggregate class `aggregate` (`module:Qualname`).
    pub const fn new(aggregate: &'static str) -> Self {
        Self { aggregate }
    }
}

/// The events of an aggregate: usually an enum with serde's default (externally tagged)
/// representation, one variant per event, with its own derives and serde attributes.
///
/// A variant is stored under the topic `"<PREFIX>.<variant>"` (its serde name, so
/// `#[serde(rename)]` renames the topic too), with its fields as a JSON object: a struct
/// variant's named fields, a newtype variant's struct's fields, nothing for a unit variant,
/// `"0"`, `"1"`, … for a tuple variant's (or a newtype variant's non-struct) values. A type that
/// is not an enum (a struct), or an enum in one of serde's other representations (internally,
/// adjacently or un-tagged), is one event type stored under the topic `PREFIX`, its tag among
/// the fields.
///
/// ```
/// use es_core::domain::{Event, Fields};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// pub enum DogEvent {
///     /// A dog joined the school.
///     Registered { name: String },
///     TrickAdded {
///         trick: String,
///         #[serde(default)]
///         tries: u32,
///     },
///     Rested,
///     Weighed(f64),
/// }
///
/// impl Event for DogEvent {
///     const PREFIX: &'static str = "Dog";
///     // Stored as "Dog.TrickLearned" by an earlier version of the code.
///     const ALIASES: &'static [(&'static str, &'static str)] =
///         &[("Dog.TrickLearned", "Dog.TrickAdded")];
///     // Class version 1 stored the trick under `what`: class version 2 is current.
///     const UPCASTS: &'static [(&'static str, &'static [fn(&mut Fields)])] =
///         &[("Dog.TrickAdded", &[|f| {
///             if let Some(what) = f.remove("what") {
///                 f.insert("trick".into(), what);
///             }
///         }])];
/// }
///
/// let added = DogEvent::TrickAdded { trick: "sit".into(), tries: 2 };
/// assert_eq!(added.topic(), "Dog.TrickAdded");
/// assert_eq!(added.class_version(), 2);
/// assert_eq!(DogEvent::Weighed(9.5).topic(), "Dog.Weighed");
/// let (topic, fields) = DogEvent::Rested.to_fields()?;
/// assert_eq!((topic.as_str(), fields.len()), ("Dog.Rested", 0));
///
/// let old: Fields = serde_json::from_str(r#"{"what": "beg"}"#)?;
/// let loaded = DogEvent::from_fields("Dog.TrickLearned", 1, old)?;
/// assert_eq!(loaded, DogEvent::TrickAdded { trick: "beg".into(), tries: 0 });
/// assert!(DogEvent::handles("Dog.Registered") && !DogEvent::handles("Cat.Registered"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Event: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static {
    /// The first part of every topic of this type, for example `"Dog"`.
    const PREFIX: &'static str;

    /// Earlier topics still accepted when loading: `(earlier topic, current topic)`.
    const ALIASES: &'static [(&'static str, &'static str)] = &[];

    /// Upcasters by current topic: each turns the stored fields of class version n into
    /// n + 1, so a topic's class version is 1 plus the number of its upcasters.
    const UPCASTS: &'static [(&'static str, &'static [Upcast])] = &[];

    /// The topics of these events in the Python library's stored format
    /// (`STORED_FORMAT=python`): `Some(PythonTopics::new("tutorial.domainmodel:Dog"))` stores
    /// `Registered` under `tutorial.domainmodel:Dog.Registered`. `None` (the default): this
    /// type cannot be stored in that format.
    const PYTHON: Option<PythonTopics> = None;

    /// The topic this event is stored under, for example `"Dog.TrickAdded"`.
    fn topic(&self) -> String {
        match variant_of(self) {
            Some(variant) => [Self::PREFIX, ".", variant].concat(),
            None => Self::PREFIX.to_owned(),
        }
    }

    /// The class version this event is stored at: 1 plus the number of its topic's upcasters.
    fn class_version(&self) -> u32 {
        Self::class_version_of(&self.topic())
    }

    /// The class version of events stored under `topic` now: 1 plus the number of its
    /// upcasters.
    fn class_version_of(topic: &str) -> u32 {
        u32::try_from(upcasts::<Self>(topic).len()).unwrap_or(u32::MAX - 1) + 1
    }

    /// True when `topic` is one of this type's topics or aliases.
    fn handles(topic: &str) -> bool {
        current_topic::<Self>(topic).is_some()
    }

    /// The topic and the fields to store.
    ///
    /// # Errors
    ///
    /// A field serde cannot write as JSON, or a type that does not serialize as a struct or
    /// an externally tagged enum.
    fn to_fields(&self) -> serde_json::Result<(String, Fields)> {
        let Some(variant) = variant_of(self) else {
            return match serde_json::to_value(self)? {
                Value::Object(fields) => Ok((Self::PREFIX.to_owned(), fields)),
                _ => Err(serde::ser::Error::custom(not_an_event::<Self>())),
            };
        };
        let fields = fields_of(self)?;
        let topic = format!("{}.{variant}", Self::PREFIX);
        Ok((topic, fields))
    }

    /// The event stored under `topic` (a current topic or an alias) with `fields` at
    /// `class_version`, after running the upcasters from that version to the current one.
    ///
    /// # Errors
    ///
    /// An unknown topic or a field that does not decode, as a message.
    fn from_fields(
        topic: &str,
        class_version: u32,
        mut fields: Fields,
    ) -> std::result::Result<Self, String> {
        let Some((current, variant)) = current_topic::<Self>(topic) else {
            return Err(format!(
                "unknown topic {topic:?} for {}",
                std::any::type_name::<Self>()
            ));
        };
        super::upcast(&mut fields, class_version, upcasts::<Self>(current));
        let Some(variant) = variant else {
            return serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string());
        };
        let content = if is_numbered(&fields) {
            let mut values: Vec<Value> = (0..fields.len())
                .map(|i| fields.remove(&i.to_string()).unwrap_or(Value::Null))
                .collect();
            match values.len() {
                1 => values.pop().unwrap_or(Value::Null),
                _ => Value::Array(values),
            }
        } else {
            Value::Object(fields)
        };
        Self::deserialize(Tagged { variant, content }).map_err(|e| e.to_string())
    }
}

/// True for the fields a tuple variant is stored as: `"0"`, `"1"`, … (none for a unit variant).
fn is_numbered(fields: &Fields) -> bool {
    let index = |k: &str| {
        let canonical = k.bytes().all(|b| b.is_ascii_digit()) && (k == "0" || !k.starts_with('0'));
        canonical && k.parse::<usize>().is_ok_and(|i| i < fields.len())
    };
    !fields.is_empty() && fields.keys().all(|k| index(k))
}

fn not_an_event<E>() -> String {
    format!(
        "{} is not an event type: it must serialize as a struct or as an enum in serde's \
         default (externally tagged) representation",
        std::any::type_name::<E>()
    )
}

/// The current topic `topic` names (itself or through an alias), with its enum variant
/// (`None` for a struct event); `None` for a topic of another type.
pub(crate) fn current_topic<E: Event>(topic: &str) -> Option<(&str, Option<&'static str>)> {
    let topic = E::ALIASES
        .iter()
        .find(|(old, _)| *old == topic)
        .map_or(topic, |(_, new)| *new);
    let variants = variants_of::<E>();
    if variants.is_empty() {
        return (topic == E::PREFIX).then_some((topic, None));
    }
    let name = topic.strip_prefix(E::PREFIX)?.strip_prefix('.')?;
    let variant = variants.iter().find(|v| **v == name)?;
    Some((topic, Some(*variant)))
}

fn upcasts<E: Event>(topic: &str) -> &'static [Upcast] {
    E::UPCASTS
        .iter()
        .find(|(t, _)| *t == topic)
        .map_or(&[], |(_, u)| *u)
}
