//! [`Broken`]: the in-memory recorder with one flaw, each a contract violation a real backend
//! could make.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, Result, StopHandle, StoredEvent, Subscription, Tracking,
    TrackingRecorder, Uuid,
};
use es_popo::PopoProcessRecorder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flaw {
    /// Inserts a batch event by event, so a conflict leaves the events before it written.
    HalfBatch,
    /// Accepts a tracking id lower than the recorded one (rejects only equal ids).
    LaxTracking,
    /// Applies the limit before the topic filter.
    LimitBeforeTopics,
    /// Reports version conflicts as plain integrity errors.
    GenericConflict,
    /// Writes the events even when the tracking record conflicts.
    LeakyProcess,
    /// Drops the last byte of every state it reads back.
    LossyState,
    /// Returns an id for an empty insert.
    PhantomId,
    /// Skips a notification id before every batch (a hidden event takes it).
    Gappy,
    /// Subscriptions catch up once and are never woken again.
    DeafSubscription,
    /// Subscriptions ignore their topic filter.
    TopicBlind,
    /// Subscriptions skip the backlog: they start at the log's end, whatever they were asked.
    TailOnly,
    /// `select_events` ignores the lower bound (`gt`).
    IgnoresGt,
    /// Records the events of a process insert and drops its tracking record.
    ForgetsTracking,
    /// `wait` returns at once, recorded or not.
    ImpatientWait,
    /// `has_tracking_id` is true only above the recorded id, not at it.
    StrictHasTracking,
    /// Records events with any tracking record, increasing or not.
    NoTrackingCheck,
    /// Checks only the last notification of a batch's tracking record, not its first.
    LastOfBatch,
    /// Grants a lease to whoever asks, held or not.
    SharedLease,
    /// A lease never expires: a dead holder keeps it for ever.
    ImmortalLease,
    /// Any holder's release frees a lease, not only its holder's.
    AnyoneReleases,
    /// `max_notification_id` is a cached value, read afresh only every eighth call.
    StaleMax,
    /// A release checks the holder, then (a round trip later) deletes the lease by name,
    /// whoever holds it by then.
    ReleaseCheckThenAct,
    /// An acquire checks that the lease is free, then (a round trip later) takes it, whoever
    /// took it in between.
    AcquireCheckThenAct,
    /// A selection asked for more than `MAX_NOTIFICATION_LIMIT` returns one more.
    Uncapped,
    /// A state over `MAX_STATE_SIZE` is stored cut to the maximum instead of refused.
    NoSizeCheck,
    /// Listings come in reverse name order.
    UnstableListing,
    /// A holder's name matches any holder whose name starts with it (`h1` releases `h10`'s).
    PrefixHolder,
    /// A listing's prefix is a LIKE pattern (`_` any character, `%` anything).
    PatternPrefix,
}

/// The topic of [`Flaw::Gappy`]'s hidden events.
const HIDDEN: &str = "Broken.Hidden";

/// The in-memory recorder with one flaw.
#[derive(Debug)]
pub(crate) struct Broken {
    pub(super) inner: PopoProcessRecorder,
    pub(super) flaw: Flaw,
    /// [`Flaw::ReleaseCheckThenAct`]: the last holder granted each lease, as the broken release
    /// remembers it (expired or not).
    pub(super) granted: Mutex<BTreeMap<String, String>>,
    lax: Mutex<BTreeMap<String, u64>>,
    /// [`Flaw::StaleMax`]: calls so far and the cached position.
    stale_max: Mutex<(u64, Option<NotificationId>)>,
}

impl Broken {
    pub(crate) fn new(flaw: Flaw) -> Self {
        Self {
            inner: PopoProcessRecorder::default(),
            flaw,
            granted: Mutex::new(BTreeMap::new()),
            lax: Mutex::new(BTreeMap::new()),
            stale_max: Mutex::new((0, None)),
        }
    }
}

impl AggregateRecorder for Broken {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        match self.flaw {
            Flaw::HalfBatch => {
                let mut ids = Vec::new();
                for e in events {
                    ids.extend(self.inner.insert_events(std::slice::from_ref(e))?);
                }
                Ok(ids)
            }
            Flaw::GenericConflict => self.inner.insert_events(events).map_err(|e| match e {
                Error::VersionConflict { source } => Error::Integrity { source },
                other => other,
            }),
            Flaw::PhantomId if events.is_empty() => Ok(vec![1]),
            Flaw::NoSizeCheck => {
                let mut cut = events.to_vec();
                for e in &mut cut {
                    e.state.truncate(es_core::backend::DEFAULT_MAX_STATE_SIZE);
                }
                self.inner.insert_events(&cut)
            }
            Flaw::Gappy if !events.is_empty() => {
                let hidden = StoredEvent::new(Uuid::new_v4(), 1, HIDDEN, Vec::new());
                self.inner.insert_events(&[hidden])?;
                self.inner.insert_events(events)
            }
            _ => self.inner.insert_events(events),
        }
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        let mut events = match self.flaw {
            Flaw::IgnoresGt => {
                let mut all = *query;
                all.gt = None;
                self.inner.select_events(originator_id, &all)?
            }
            _ => self.inner.select_events(originator_id, query)?,
        };
        if self.flaw == Flaw::LossyState {
            for e in &mut events {
                e.state.pop();
            }
        }
        Ok(events)
    }
}

impl ApplicationRecorder for Broken {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        if let Flaw::LimitBeforeTopics = self.flaw {
            let mut unfiltered = query.clone();
            unfiltered.topics.clear();
            let mut page = self.inner.select_notifications(&unfiltered)?;
            page.retain(|n| query.admits_topic(&n.topic));
            return Ok(page);
        }
        let mut page = self.inner.select_notifications(query)?;
        match self.flaw {
            Flaw::LossyState => page.iter_mut().for_each(|n| {
                n.state.pop();
            }),
            Flaw::Gappy => page.retain(|n| n.topic != HIDDEN),
            Flaw::Uncapped if query.limit > es_core::MAX_NOTIFICATION_LIMIT => {
                if let Some(last) = page.last().map(|n| n.id) {
                    let mut more = query.clone();
                    more.start = Some(last);
                    more.inclusive_of_start = false;
                    more.limit = 1;
                    page.extend(self.inner.select_notifications(&more)?);
                }
            }
            _ => {}
        }
        Ok(page)
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        if self.flaw == Flaw::StaleMax {
            let mut cached = self.stale_max.lock().unwrap();
            if cached.0.is_multiple_of(8) {
                cached.1 = self.inner.max_notification_id()?;
            }
            cached.0 += 1;
            return Ok(cached.1);
        }
        self.inner.max_notification_id()
    }

    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        match self.flaw {
            Flaw::DeafSubscription => {
                let inner = self.inner.clone();
                let fetch = move |q: &NotificationQuery| inner.select_notifications(q);
                Ok(Subscription::new(fetch, gt, topics))
            }
            Flaw::TopicBlind => self.inner.subscribe(gt, &[]),
            Flaw::TailOnly => self
                .inner
                .subscribe(self.inner.max_notification_id()?, topics),
            _ => self.inner.subscribe(gt, topics),
        }
    }
}

impl TrackingRecorder for Broken {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        if let Flaw::LastOfBatch = self.flaw {
            let last = Tracking::new(&tracking.application_name, tracking.notification_id);
            return self.inner.insert_tracking(&last);
        }
        if let Flaw::LaxTracking = self.flaw {
            let mut lax = self.lax.lock().unwrap();
            let name = &tracking.application_name;
            if lax.get(name) == Some(&tracking.notification_id) {
                return Err(Error::tracking_conflict(name, tracking.notification_id));
            }
            lax.insert(name.clone(), tracking.notification_id);
            return Ok(());
        }
        self.inner.insert_tracking(tracking)
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        if let Flaw::LaxTracking = self.flaw {
            return Ok(self.lax.lock().unwrap().get(application_name).copied());
        }
        self.inner.max_tracking_id(application_name)
    }

    fn has_tracking_id(
        &self,
        application_name: &str,
        notification_id: NotificationId,
    ) -> Result<bool> {
        let max = self.max_tracking_id(application_name)?;
        Ok(match self.flaw {
            Flaw::StrictHasTracking => max.is_some_and(|m| m > notification_id),
            _ => max.is_some_and(|m| m >= notification_id),
        })
    }

    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        match self.flaw {
            Flaw::ImpatientWait => Ok(()),
            _ => self
                .inner
                .wait(application_name, notification_id, timeout, interrupt),
        }
    }
}

impl ProcessRecorder for Broken {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        match self.flaw {
            Flaw::ForgetsTracking => self.inner.insert_events(events),
            Flaw::LastOfBatch => self.inner.insert_events_with_tracking(
                events,
                &Tracking::new(&tracking.application_name, tracking.notification_id),
            ),
            Flaw::LeakyProcess => {
                let ids = self.inner.insert_events(events)?;
                self.inner.insert_tracking(tracking)?;
                Ok(ids)
            }
            Flaw::LaxTracking => {
                self.insert_tracking(tracking)?;
                self.inner.insert_events(events)
            }
            Flaw::Gappy => {
                let hidden = StoredEvent::new(Uuid::new_v4(), 1, HIDDEN, Vec::new());
                self.inner.insert_events(&[hidden])?;
                self.inner.insert_events_with_tracking(events, tracking)
            }
            Flaw::NoTrackingCheck => {
                let ids = self.inner.insert_events(events)?;
                let max = self.inner.max_tracking_id(&tracking.application_name)?;
                if max.is_none_or(|m| m < tracking.notification_id) {
                    self.inner.insert_tracking(tracking)?;
                }
                Ok(ids)
            }
            _ => self.inner.insert_events_with_tracking(events, tracking),
        }
    }
}
