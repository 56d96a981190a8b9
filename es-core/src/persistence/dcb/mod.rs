//! Dynamic Consistency Boundaries (DCB): one log of events with a type and tags, read by
//! queries, appended to under conditions. The values and their matching rule
//! (<https://dcb.events/specification>), the [`DcbRecorder`] contract and its
//! [`DcbSubscription`]. The names and semantics are the Python library's `eventsourcing.dcb`
//! (9.5), in Rust's spelling: `DCBQueryItem` is [`DcbQueryItem`], `IntegrityError` from a
//! refused append is [`Error::AppendConditionFailed`](crate::Error::AppendConditionFailed).

mod recorder;
mod subscription;

use std::fmt;

use crate::persistence::values::StateSummary;

pub use recorder::DcbRecorder;
pub use subscription::{DCB_SUBSCRIPTION_BATCH_SIZE, DcbSubscription};

/// A position in a DCB log: from 1, increasing in commit order.
pub type Position = u64;

/// An event to append: its type, its encoded data and its tags.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DcbEvent {
    /// The event's type (a Python topic such as `module:Class` for Python's data).
    pub r#type: String,
    /// The encoded event.
    pub data: Vec<u8>,
    /// The tags: the consistency boundaries the event belongs to (`student:1`, `course:7`).
    pub tags: Vec<String>,
}

impl DcbEvent {
    /// An event of `type` with `data` and no tags.
    pub fn new(r#type: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            r#type: r#type.into(),
            data: data.into(),
            tags: Vec::new(),
        }
    }

    /// The event with `tags`.
    #[must_use]
    pub fn tagged<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

impl fmt::Debug for DcbEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcbEvent")
            .field("type", &self.r#type)
            .field("tags", &self.tags)
            .field("data", &StateSummary(&self.data))
            .finish()
    }
}

/// An event with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DcbSequencedEvent {
    /// The event.
    pub event: DcbEvent,
    /// Its position.
    pub position: Position,
}

/// One item of a [`DcbQuery`]: an event matches when its type is one of `types` (any type when
/// empty) and it carries every one of `tags`. An item with neither matches every event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DcbQueryItem {
    /// The types, OR-ed; empty for any type.
    pub types: Vec<String>,
    /// The tags, AND-ed; empty for no tag required.
    pub tags: Vec<String>,
}

fn strings<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    items.into_iter().map(Into::into).collect()
}

impl DcbQueryItem {
    /// An item that matches events of one of `types`.
    pub fn types<I, S>(types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            types: strings(types),
            tags: Vec::new(),
        }
    }

    /// An item that matches events carrying every one of `tags`.
    pub fn tags<I, S>(tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            types: Vec::new(),
            tags: strings(tags),
        }
    }

    /// This item, also requiring every one of `tags`.
    #[must_use]
    pub fn and_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags.extend(strings(tags));
        self
    }

    /// Whether `event` matches this item.
    pub fn matches(&self, event: &DcbEvent) -> bool {
        (self.types.is_empty() || self.types.contains(&event.r#type))
            && self.tags.iter().all(|t| event.tags.contains(t))
    }
}

/// A query: its items OR-ed. A query without items matches every event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DcbQuery {
    /// The items, OR-ed; empty for every event.
    pub items: Vec<DcbQueryItem>,
}

impl DcbQuery {
    /// The query that matches every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// A query of `items`, OR-ed.
    pub fn items(items: impl IntoIterator<Item = DcbQueryItem>) -> Self {
        Self {
            items: items.into_iter().collect(),
        }
    }

    /// Whether `event` matches: the one definition every backend and the kit's model follow.
    pub fn matches(&self, event: &DcbEvent) -> bool {
        self.items.is_empty() || self.items.iter().any(|item| item.matches(event))
    }

    /// Whether this query matches every event (no items, or an item with neither types nor
    /// tags).
    pub fn matches_all(&self) -> bool {
        self.items.is_empty()
            || self
                .items
                .iter()
                .any(|i| i.types.is_empty() && i.tags.is_empty())
    }
}

impl From<DcbQueryItem> for DcbQuery {
    fn from(item: DcbQueryItem) -> Self {
        Self { items: vec![item] }
    }
}

/// The condition of an append: it fails if any event stored after `after` (anywhere when
/// `None`) matches `fail_if_events_match`. The default (an empty query) fails if anything is
/// stored after `after`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DcbAppendCondition {
    /// The query no event after `after` may match.
    pub fail_if_events_match: DcbQuery,
    /// The last position the decision saw: usually a read's [`head`](DcbRead::head).
    pub after: Option<Position>,
}

impl DcbAppendCondition {
    /// Fails if any stored event matches `query`.
    pub fn new(query: impl Into<DcbQuery>) -> Self {
        Self {
            fail_if_events_match: query.into(),
            after: None,
        }
    }

    /// Only events after `after` count (`None`: all).
    #[must_use]
    pub fn after(mut self, after: Option<Position>) -> Self {
        self.after = after;
        self
    }
}

/// What a [`read`](DcbRecorder::read) returns: the matching events in ascending position, and
/// the head.
///
/// Without a limit the head is the last position in the store when the read was made, matched
/// or not (`None` for an empty store); with a limit it is the position of the last event
/// returned (`None` when none was). The Python library's rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DcbRead {
    /// The events.
    pub events: Vec<DcbSequencedEvent>,
    /// The head, as described.
    pub head: Option<Position>,
}

#[cfg(test)]
mod tests;
