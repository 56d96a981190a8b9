//! Parked notifications: a way out of a poison event. An operator (the `eventsourcing` command,
//! or a runner's API) sets aside the notification an edge is stopped on, with a reason; the edge
//! then goes on. Later the notification is retried through the policy or dropped.
//!
//! Parking is event-sourced in the follower's own store, so it needs nothing of a backend
//! beyond the recorder contract and keeps exactly-once:
//!
//! - **park** records a [`Parked`] aggregate (id [`parked_id`]) together with the tracking
//!   record of the parked notification, in one transaction: the edge moves past it exactly
//!   when it is parked, and a notification processed meanwhile cannot be parked (a tracking
//!   conflict);
//! - **retry** runs the policy on the notification and records what it collected together with
//!   the parked aggregate's `Retried` event, in one transaction without tracking: two retries
//!   of one notification cannot both record (the second is a version conflict);
//! - **drop** and **request a retry** (for a runner to perform at its next start) are events
//!   of the parked aggregate too.
//!
//! Parked aggregates are events of the follower (topics `eventsourcing.Parked.*`) in its
//! notification log; downstream followers see them as topics of no type they decode.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::application::Application;
use crate::domain::{Aggregate, Event, Root, uuid5_url};
use crate::{ApplicationRecorder, Error, Notification, NotificationId, NotificationQuery, Result};
use crate::{Tracking, TrackingRecorder};

/// What became of a parked notification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ParkedStatus {
    /// Set aside: the edge went on without it.
    #[default]
    Parked,
    /// An operator asked for a retry; a runner performs it at its next start.
    RetryRequested,
    /// Processed through the policy (once).
    Retried,
    /// Given up for good.
    Dropped,
}

/// A parked notification, as an aggregate of the follower.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parked {
    /// The leader whose notification it is.
    pub leader: String,
    /// The leader's notification id.
    pub notification_id: NotificationId,
    /// The notification's topic.
    pub topic: String,
    /// Why it was parked.
    pub reason: String,
    /// What became of it.
    pub status: ParkedStatus,
}

impl Parked {
    /// True while it is neither retried nor dropped.
    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            ParkedStatus::Parked | ParkedStatus::RetryRequested
        )
    }
}

/// The events of a [`Parked`] notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ParkedEvent {
    /// Set aside, with the tracking record that moved the edge past it.
    Parked {
        /// The leader.
        leader: String,
        /// The leader's notification id.
        notification_id: NotificationId,
        /// The notification's topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// A retry was asked for.
    RetryRequested,
    /// Processed through the policy.
    Retried,
    /// Given up.
    Dropped {
        /// Why.
        reason: String,
    },
}

impl Event for ParkedEvent {
    const PREFIX: &'static str = "eventsourcing.Parked";
}

impl Aggregate for Parked {
    type Event = ParkedEvent;
    fn apply(&mut self, event: &ParkedEvent) {
        match event {
            ParkedEvent::Parked {
                leader,
                notification_id,
                topic,
                reason,
            } => {
                self.leader.clone_from(leader);
                self.notification_id = *notification_id;
                self.topic.clone_from(topic);
                self.reason.clone_from(reason);
                self.status = ParkedStatus::Parked;
            }
            ParkedEvent::RetryRequested => self.status = ParkedStatus::RetryRequested,
            ParkedEvent::Retried => self.status = ParkedStatus::Retried,
            ParkedEvent::Dropped { .. } => self.status = ParkedStatus::Dropped,
        }
    }
}

/// The id of the parked aggregate of `leader`'s notification `notification_id`.
pub fn parked_id(leader: &str, notification_id: NotificationId) -> Uuid {
    uuid5_url(&format!("/eventsourcing/parked/{leader}/{notification_id}"))
}

/// Parks the first notification of `leader` (read from `leader_log`) that `follower` has not
/// processed: the one its edge is stopped on. Returns its id.
///
/// # Errors
///
/// [`Error::Programming`] when the follower has processed every notification of the leader;
/// [`Error::TrackingConflict`] when it processed that one meanwhile; the recorders' errors.
pub fn park(
    follower: &Application,
    leader: &str,
    leader_log: &dyn ApplicationRecorder,
    reason: &str,
) -> Result<NotificationId> {
    let position = follower.recorder().max_tracking_id(leader)?;
    let mut query = NotificationQuery::new(1);
    if let Some(p) = position {
        query = query.after(p);
    }
    let Some(next) = leader_log.select_notifications(&query)?.into_iter().next() else {
        return Err(Error::programming(format!(
            "{} has processed every notification of {leader}: nothing to park",
            follower.name()
        )));
    };
    let mut parked = Root::<Parked>::create_with_id(
        parked_id(leader, next.id),
        ParkedEvent::Parked {
            leader: leader.to_owned(),
            notification_id: next.id,
            topic: next.topic.clone(),
            reason: reason.to_owned(),
        },
    );
    follower.record(&mut [&mut parked], Some(&Tracking::new(leader, next.id)))?;
    tracing::warn!(
        target: "eventsourcing::runner",
        leader,
        follower = follower.name(),
        notification_id = next.id,
        topic = %next.topic,
        reason,
        "parked a notification: the edge goes on without it"
    );
    Ok(next.id)
}

/// Every notification `follower` has parked, in the order they were parked, whatever became
/// of them.
///
/// # Errors
///
/// The recorder's errors; [`Error::Decode`] for a parked aggregate that does not decode.
pub fn parked(follower: &Application) -> Result<Vec<Parked>> {
    const PAGE: usize = 500;
    let topic = ParkedEvent::Parked {
        leader: String::new(),
        notification_id: 0,
        topic: String::new(),
        reason: String::new(),
    }
    .topic();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let mut query = NotificationQuery::new(PAGE).topics([topic.as_str()]);
        if let Some(a) = after {
            query = query.after(a);
        }
        let page = follower.recorder().select_notifications(&query)?;
        for n in &page {
            out.push(follower.get::<Parked>(n.originator_id)?.state().clone());
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.id),
            _ => return Ok(out),
        }
    }
}

/// The open parked notifications of a follower, kept up to date by reading only what its log
/// recorded since the last look (the topics of parked aggregates after a notification id: an
/// index range, not a scan), so that health can count them on every call.
#[derive(Debug, Default)]
pub(crate) struct OpenParked {
    after: Option<NotificationId>,
    /// Parked aggregate → (leader, still open).
    parked: std::collections::HashMap<Uuid, (String, bool)>,
}

impl OpenParked {
    /// Reads what `follower` recorded about parked notifications since the last call.
    pub(crate) fn refresh(&mut self, follower: &Application) -> Result<()> {
        const PAGE: usize = 500;
        let topics: Vec<String> = [
            ParkedEvent::Parked {
                leader: String::new(),
                notification_id: 0,
                topic: String::new(),
                reason: String::new(),
            },
            ParkedEvent::RetryRequested,
            ParkedEvent::Retried,
            ParkedEvent::Dropped {
                reason: String::new(),
            },
        ]
        .iter()
        .map(Event::topic)
        .collect();
        loop {
            let mut query = NotificationQuery::new(PAGE).topics(topics.iter().map(String::as_str));
            if let Some(a) = self.after {
                query = query.after(a);
            }
            let page = follower.recorder().select_notifications(&query)?;
            for n in &page {
                let parked = follower.get::<Parked>(n.originator_id)?;
                self.parked
                    .insert(n.originator_id, (parked.leader.clone(), parked.is_open()));
                self.after = Some(n.id);
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }

    /// How many notifications of `leader` are parked and neither retried nor dropped.
    pub(crate) fn count(&self, leader: &str) -> u64 {
        self.parked
            .values()
            .filter(|(l, open)| *open && l == leader)
            .count() as u64
    }
}

/// The parked aggregate of `leader`'s notification `notification_id`, if it is parked or a retry
/// was requested.
///
/// # Errors
///
/// [`Error::Programming`] when it was never parked, or was retried or dropped already.
pub(crate) fn open_parked(
    follower: &Application,
    leader: &str,
    notification_id: NotificationId,
) -> Result<Root<Parked>> {
    let id = parked_id(leader, notification_id);
    let Some(parked) = follower.find::<Parked>(id)? else {
        return Err(Error::programming(format!(
            "{} has not parked notification {notification_id} of {leader}",
            follower.name()
        )));
    };
    match parked.status {
        _ if parked.is_open() => Ok(parked),
        done => Err(Error::programming(format!(
            "notification {notification_id} of {leader} parked by {} is {done:?} already",
            follower.name()
        ))),
    }
}

/// Gives up `leader`'s parked notification `notification_id` for good.
///
/// # Errors
///
/// [`Error::Programming`] when it was never parked, or was retried or dropped already; a
/// version conflict when that happened meanwhile.
pub fn drop_parked(
    follower: &Application,
    leader: &str,
    notification_id: NotificationId,
    reason: &str,
) -> Result<()> {
    let mut parked = open_parked(follower, leader, notification_id)?;
    parked.trigger(ParkedEvent::Dropped {
        reason: reason.to_owned(),
    });
    follower.save(&mut parked).map(drop)
}

/// Asks for a retry of `leader`'s parked notification `notification_id`, which a runner of the
/// follower performs (through its policy) when it next starts: for an operator's command,
/// which has no policy to run.
///
/// # Errors
///
/// [`Error::Programming`] when it was never parked, or was retried or dropped already; a
/// version conflict when that happened meanwhile.
pub fn request_retry(
    follower: &Application,
    leader: &str,
    notification_id: NotificationId,
) -> Result<()> {
    let mut parked = open_parked(follower, leader, notification_id)?;
    if parked.status == ParkedStatus::RetryRequested {
        return Ok(());
    }
    parked.trigger(ParkedEvent::RetryRequested);
    follower.save(&mut parked).map(drop)
}

/// The notification `notification_id` of `leader_log`.
///
/// # Errors
///
/// [`Error::Programming`] when the log has no such notification.
pub(crate) fn notification(
    leader_log: &dyn ApplicationRecorder,
    leader: &str,
    notification_id: NotificationId,
) -> Result<Notification> {
    let query = NotificationQuery::new(1).start_at(notification_id);
    leader_log
        .select_notifications(&query)?
        .into_iter()
        .find(|n| n.id == notification_id)
        .ok_or_else(|| {
            Error::programming(format!("{leader} has no notification {notification_id}"))
        })
}
