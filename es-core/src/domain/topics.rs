//! [`Topics`]: a declared set of event types, by which a follower says what it follows and a
//! store's topics are checked ([`Topics::check`]).
//!
//! Each type owns its [`PREFIX`](Event::PREFIX) and every topic under it (`"Dog"` owns `"Dog"`
//! and every `"Dog.…"` topic). A topic under no declared prefix is not followed: a runner moves
//! past it without calling the policy. A topic under a declared prefix that its type does not
//! know (a renamed variant without an alias, a topic written by newer code) is an error: the
//! edge stops there instead of moving past an event it should have processed.

use super::Event;
use crate::{Error, Notification};

/// A declared set of event types.
///
/// ```
/// use es_core::domain::{Event, TopicCheck, Topics};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// enum DogEvent {
///     Registered { name: String },
/// }
/// impl Event for DogEvent {
///     const PREFIX: &'static str = "Dog";
/// }
///
/// let follows = Topics::new().event::<DogEvent>();
/// assert_eq!(follows.classify("Dog.Registered"), Ok(TopicCheck::Known));
/// assert_eq!(follows.classify("Cat.Registered"), Ok(TopicCheck::Foreign));
/// // Under "Dog", unknown to DogEvent: an error naming the type.
/// assert!(follows.classify("Dog.Renamed").unwrap_err().ends_with("DogEvent"));
/// ```
#[derive(Clone, Default)]
pub struct Topics {
    types: Vec<Declared>,
}

#[derive(Clone, Copy)]
struct Declared {
    prefix: &'static str,
    /// The Python aggregate's topic ([`Event::PYTHON`]), for stores in the Python format.
    python: Option<&'static str>,
    type_name: &'static str,
    handles: fn(&str) -> bool,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.types.iter().map(|t| t.prefix))
            .finish()
    }
}

/// What a declared set says of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicCheck {
    /// One of a declared type's topics or aliases.
    Known,
    /// Under no declared prefix: not followed.
    Foreign,
}

impl Topics {
    /// No type: every topic is foreign.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the event type `E`.
    #[must_use]
    pub fn event<E: Event>(mut self) -> Self {
        self.types.push(Declared {
            prefix: E::PREFIX,
            python: E::PYTHON.map(|p| p.aggregate),
            type_name: std::any::type_name::<E>(),
            handles: E::handles,
        });
        self
    }

    /// The declared types' prefixes, in the order they were added.
    pub fn prefixes(&self) -> Vec<&'static str> {
        self.types.iter().map(|t| t.prefix).collect()
    }

    /// True when `prefix` owns `topic`: `topic` is `prefix`, or starts with `prefix` and a dot
    /// (`"Dog"` owns `"Dog"` and `"Dog.Registered"`, not `"Doggy"`).
    pub fn owns(prefix: &str, topic: &str) -> bool {
        topic
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    }

    /// True when no type is declared.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// What this set says of `topic`.
    ///
    /// # Errors
    ///
    /// The name of the declared type whose prefix owns `topic` while none of its topics or
    /// aliases is `topic`.
    pub fn classify(&self, topic: &str) -> std::result::Result<TopicCheck, &'static str> {
        let mut owner = None;
        for t in &self.types {
            // A topic in the Python format is classified by its native form.
            let native = t.python.and_then(|p| native_of(topic, p, t.prefix));
            let topic = native.as_deref().unwrap_or(topic);
            if (t.handles)(topic) {
                return Ok(TopicCheck::Known);
            }
            if Self::owns(t.prefix, topic) {
                owner = Some(t.type_name);
            }
        }
        owner.map_or(Ok(TopicCheck::Foreign), Err)
    }

    /// What this set says of `notification`'s topic.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] naming the topic, the aggregate and the type, when the topic is under
    /// a declared type's prefix but is none of its topics or aliases.
    pub fn check(&self, notification: &Notification) -> crate::Result<TopicCheck> {
        self.classify(&notification.topic)
            .map_err(|type_name| unknown_topic(notification, type_name))
    }
}

/// The native form (`"Dog.Registered"`, with `prefix`) of a topic in the Python format under
/// the Python aggregate `python` (`"tutorial.domainmodel:Dog.Registered"`); `None` when
/// `topic` is not under it.
pub(crate) fn native_of(topic: &str, python: &str, prefix: &str) -> Option<String> {
    let variant = topic.strip_prefix(python)?.strip_prefix('.')?;
    Some(format!("{prefix}.{variant}"))
}

/// The error for `notification`, whose topic is under the prefix of `type_name` but is none of
/// its topics or aliases.
pub(crate) fn unknown_topic(notification: &Notification, type_name: &str) -> Error {
    Error::Decode {
        topic: notification.topic.clone(),
        originator_id: notification.originator_id,
        originator_version: notification.originator_version,
        source: format!(
            "the topic is under the prefix of {type_name} but is none of its topics or aliases \
             (a renamed event needs an alias: Event::ALIASES)"
        )
        .into(),
    }
}
