//! Query options for [`select_events`](crate::AggregateRecorder::select_events) and
//! [`select_notifications`](crate::ApplicationRecorder::select_notifications).

use crate::NotificationId;

/// Which events of one originator to select: `EventQuery::new().after(2).up_to(5).descending().limit(1)`.
///
/// The default selects every event in ascending version order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQuery {
    /// Only versions greater than this (`gt`).
    pub gt: Option<u64>,
    /// Only versions less than or equal to this (`lte`).
    pub lte: Option<u64>,
    /// Highest version first.
    pub desc: bool,
    /// At most this many events, counted after ordering.
    pub limit: Option<usize>,
}

impl EventQuery {
    /// Every event, ascending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only versions greater than `version`.
    #[must_use]
    pub fn after(mut self, version: u64) -> Self {
        self.gt = Some(version);
        self
    }

    /// Only versions up to and including `version`.
    #[must_use]
    pub fn up_to(mut self, version: u64) -> Self {
        self.lte = Some(version);
        self
    }

    /// Highest version first.
    #[must_use]
    pub fn descending(mut self) -> Self {
        self.desc = true;
        self
    }

    /// At most `limit` events.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// True when `version` passes the `gt` and `lte` bounds.
    pub fn contains(&self, version: u64) -> bool {
        self.gt.is_none_or(|gt| version > gt) && self.lte.is_none_or(|lte| version <= lte)
    }

    /// The query as SQL integer bounds `(gt, lte, limit)` within `i64` (`gt` is -1 and `lte`
    /// and `limit` are `i64::MAX` when unset), or `None` when no version can match (`gt` at or
    /// beyond `i64::MAX`). What SQL backends bind.
    pub fn sql_bounds(&self) -> Option<(i64, i64, i64)> {
        let gt = match self.gt {
            None => -1,
            Some(gt) => i64::try_from(gt).ok().filter(|&gt| gt < i64::MAX)?,
        };
        let lte = self
            .lte
            .map_or(i64::MAX, |v| i64::try_from(v).unwrap_or(i64::MAX));
        let limit = self
            .limit
            .map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        Some((gt, lte, limit))
    }
}

/// The most notifications one select returns, whatever limit is asked: a bound on memory.
pub const MAX_NOTIFICATION_LIMIT: usize = 100_000;

/// Which notifications to select, in ascending id order:
/// `NotificationQuery::new(10).after(5).stop_at(20).topics(["Dog.Registered"])`.
///
/// Semantics are those of the Python library's `select_notifications(start, limit, stop, topics,
/// inclusive_of_start)`: the lower bound is inclusive ([`start_at`](Self::start_at)) or exclusive
/// ([`after`](Self::after)), `stop` is an inclusive upper bound, `topics` (when not empty) keeps
/// only those topics, and `limit` applies after the topic filter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationQuery {
    /// The lower bound; `None` starts from the beginning.
    pub start: Option<NotificationId>,
    /// Whether `start` itself is included (`id >= start`) or not (`id > start`).
    pub inclusive_of_start: bool,
    /// The inclusive upper bound.
    pub stop: Option<NotificationId>,
    /// Only these topics; empty means all.
    pub topics: Vec<String>,
    /// At most this many notifications, counted after the topic filter (and never more than
    /// [`MAX_NOTIFICATION_LIMIT`]).
    pub limit: usize,
}

impl NotificationQuery {
    /// At most `limit` notifications from the beginning of the log.
    pub fn new(limit: usize) -> Self {
        Self {
            start: None,
            inclusive_of_start: true,
            stop: None,
            topics: Vec::new(),
            limit,
        }
    }

    /// Start at `id`, inclusive (`id >= start`).
    #[must_use]
    pub fn start_at(mut self, id: NotificationId) -> Self {
        self.start = Some(id);
        self.inclusive_of_start = true;
        self
    }

    /// Start after `id`, exclusive (`id > start`): how followers and subscriptions resume.
    #[must_use]
    pub fn after(mut self, id: NotificationId) -> Self {
        self.start = Some(id);
        self.inclusive_of_start = false;
        self
    }

    /// Stop at `id`, inclusive (`id <= stop`).
    #[must_use]
    pub fn stop_at(mut self, id: NotificationId) -> Self {
        self.stop = Some(id);
        self
    }

    /// Only notifications with one of `topics`.
    #[must_use]
    pub fn topics<I, S>(mut self, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// The limit backends apply: [`limit`](Self::limit), capped at [`MAX_NOTIFICATION_LIMIT`].
    pub fn effective_limit(&self) -> usize {
        self.limit.min(MAX_NOTIFICATION_LIMIT)
    }

    /// The smallest id the query admits, or `None` when no id can match (after `u64::MAX`).
    pub fn first_id(&self) -> Option<NotificationId> {
        match self.start {
            None => Some(0),
            Some(s) if self.inclusive_of_start => Some(s),
            Some(s) => s.checked_add(1),
        }
    }

    /// The query as SQL integer bounds `(first id, last id, limit)`, all inclusive and within
    /// `i64`, or `None` when no notification can match (for example a limit of 0, a stop below
    /// the start, or a start beyond `i64::MAX`). What SQL backends bind.
    pub fn sql_bounds(&self) -> Option<(i64, i64, i64)> {
        let first = i64::try_from(self.first_id()?).ok()?;
        let stop = self
            .stop
            .map_or(i64::MAX, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let limit = i64::try_from(self.effective_limit()).unwrap_or(i64::MAX);
        (limit > 0 && stop >= first).then_some((first, stop, limit))
    }

    /// True when a notification with `id` and `topic` passes every filter except the limit.
    pub fn admits(&self, id: NotificationId, topic: &str) -> bool {
        self.first_id().is_some_and(|first| id >= first)
            && self.stop.is_none_or(|stop| id <= stop)
            && self.admits_topic(topic)
    }

    /// True when `topic` passes the topic filter.
    pub fn admits_topic(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t == topic)
    }
}
