//! A store that pushes each commit to its subscribers, written through the seam as the guide's
//! "Push subscriptions" says: a [`Backend`] that overrides [`Backend::subscribe`], with the
//! recorder traits from the seam's generic recorder. [`Handoff::RegisterFirst`] is the guide's way and
//! passes the whole kit; [`Handoff::BacklogFirst`] and [`Handoff::DrainAfterBacklog`] are the
//! two ways of losing the commits made while a subscription catches up.
//!
//! A real push store reads its backlog and registers its listener in two round trips to the
//! server; each variant waits [`ROUND_TRIP`] between its two steps, the correct one too (the
//! pause is not what the kit catches: the order is).
//!
//! Its storage makes no size check of its own: the kit's state-size property passes only
//! because the seam's check runs before [`Backend::insert`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use es_core::backend::{Backend, Recorder, kind};
use es_core::persistence::wake::Notifier;
use es_core::{
    Error, EventQuery, Notification, NotificationId, NotificationQuery, Result, StoredEvent,
    Subscription, Tracking, Uuid,
};

/// The time between a subscription's two steps: a round trip to a server.
const ROUND_TRIP: Duration = Duration::from_micros(300);

/// When a new subscription registers for pushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Handoff {
    /// Before it reads the backlog (correct).
    #[default]
    RegisterFirst,
    /// After it reads the backlog (the catch-up gap).
    BacklogFirst,
    /// Before it reads the backlog, but then throws away what was pushed meanwhile as if all
    /// of it were in the backlog: a commit after the backlog's read is lost.
    DrainAfterBacklog,
}

#[derive(Debug, Default)]
struct State {
    log: BTreeMap<NotificationId, StoredEvent>,
    keys: BTreeSet<(Uuid, u64)>,
    tracking: HashMap<String, NotificationId>,
    listeners: Vec<Sender<Notification>>,
}

/// One application's storage; pushes happen under the lock that orders commits.
#[derive(Debug, Default)]
pub(crate) struct PushStore {
    handoff: Handoff,
    state: Mutex<State>,
    events: Notifier,
    tracking: Notifier,
}

impl PushStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self) -> mpsc::Receiver<Notification> {
        let (tx, rx) = mpsc::channel();
        self.state().listeners.push(tx);
        rx
    }

    fn backlog(&self, gt: Option<NotificationId>) -> BTreeMap<NotificationId, Notification> {
        let first = gt.map_or(0, |g| g.saturating_add(1));
        self.state()
            .log
            .range(first..)
            .map(|(&id, e)| (id, Notification::new(id, e.clone())))
            .collect()
    }
}

impl Backend for PushStore {
    fn insert(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        let ids = {
            let mut s = self.state();
            if let Some(t) = tracking {
                let stored = s.tracking.get(&t.application_name);
                if stored.is_some_and(|&m| t.first_notification_id <= m) {
                    return Err(Error::tracking_conflict(
                        &t.application_name,
                        t.notification_id,
                    ));
                }
            }
            let mut seen = BTreeSet::new();
            for e in events {
                let key = (e.originator_id, e.originator_version);
                if s.keys.contains(&key) || !seen.insert(key) {
                    return Err(Error::version_conflict(
                        e.originator_id,
                        e.originator_version,
                    ));
                }
            }
            let mut ids = Vec::with_capacity(events.len());
            for e in events {
                let id = s.log.keys().next_back().map_or(1, |last| last + 1);
                s.log.insert(id, e.clone());
                s.keys.insert((e.originator_id, e.originator_version));
                let pushed = Notification::new(id, e.clone());
                s.listeners.retain(|l| l.send(pushed.clone()).is_ok());
                ids.push(id);
            }
            if let Some(t) = tracking {
                s.tracking
                    .insert(t.application_name.clone(), t.notification_id);
            }
            ids
        };
        if !events.is_empty() {
            self.events.notify();
        }
        if tracking.is_some() {
            self.tracking.notify();
        }
        Ok(ids)
    }

    fn select_events(&self, originator_id: Uuid, q: &EventQuery) -> Result<Vec<StoredEvent>> {
        let s = self.state();
        let mut out: Vec<StoredEvent> = s
            .log
            .values()
            .filter(|e| e.originator_id == originator_id && q.contains(e.originator_version))
            .cloned()
            .collect();
        out.sort_by_key(|e| e.originator_version);
        if q.desc {
            out.reverse();
        }
        out.truncate(q.limit.unwrap_or(usize::MAX));
        Ok(out)
    }

    fn select_notifications(&self, q: &NotificationQuery) -> Result<Vec<Notification>> {
        Ok(self
            .state()
            .log
            .iter()
            .filter(|(id, e)| q.admits(**id, &e.topic))
            .take(q.effective_limit())
            .map(|(id, e)| Notification::new(*id, e.clone()))
            .collect())
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        Ok(self.state().log.keys().next_back().copied())
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        Ok(self.state().tracking.get(application_name).copied())
    }

    fn events_notifier(&self) -> &Notifier {
        &self.events
    }

    fn tracking_notifier(&self) -> &Notifier {
        &self.tracking
    }

    fn subscribe(
        self: &Arc<Self>,
        gt: Option<NotificationId>,
        topics: &[String],
    ) -> Result<Subscription> {
        let (pushes, mut pending) = match self.handoff {
            Handoff::RegisterFirst => {
                let pushes = self.register();
                thread::sleep(ROUND_TRIP);
                (pushes, self.backlog(gt))
            }
            Handoff::BacklogFirst => {
                let backlog = self.backlog(gt);
                thread::sleep(ROUND_TRIP);
                (self.register(), backlog)
            }
            Handoff::DrainAfterBacklog => {
                let pushes = self.register();
                let backlog = self.backlog(gt);
                thread::sleep(ROUND_TRIP);
                pushes.try_iter().for_each(drop);
                (pushes, backlog)
            }
        };
        let fetch = move |q: &NotificationQuery| {
            pending.extend(pushes.try_iter().map(|n| (n.id, n)));
            let first = q.first_id().unwrap_or(NotificationId::MAX);
            pending.retain(|&id, _| id >= first);
            let out: Vec<Notification> = pending
                .values()
                .filter(|n| q.admits(n.id, &n.topic))
                .take(q.effective_limit())
                .cloned()
                .collect();
            if let Some(last) = out.last() {
                let last = last.id;
                pending.retain(|&id, _| id > last);
            }
            Ok(out)
        };
        Ok(Subscription::new(fetch, gt, topics).woken_by(self.events_notifier()))
    }
}

/// The process recorder of a [`PushStore`]: the seam's generic recorder.
pub(crate) type PushRecorder = Recorder<PushStore, kind::Process>;

/// A recorder on a new store with `handoff`.
pub(crate) fn push_recorder(handoff: Handoff) -> PushRecorder {
    Recorder::from_backend(Arc::new(PushStore {
        handoff,
        ..PushStore::default()
    }))
}
