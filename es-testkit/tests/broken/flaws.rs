//! The kit can fail: deliberately broken recorders, and the properties that must catch each.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{UnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Error, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, Result, StoredEvent, Subscription, Tracking,
    TrackingRecorder, Uuid,
};
use es_popo::PopoProcessRecorder;
use es_testkit::{aggregate, application, concurrent, process, tracking};

fn assert_caught(property: impl FnOnce() + UnwindSafe) {
    assert!(
        catch_unwind(property).is_err(),
        "the property passed a broken recorder"
    );
}

#[derive(Debug, Clone, Copy)]
enum Flaw {
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
}

/// The in-memory recorder with one flaw.
#[derive(Debug)]
struct Broken {
    inner: PopoProcessRecorder,
    flaw: Flaw,
    lax: Mutex<BTreeMap<String, u64>>,
}

impl Broken {
    fn new(flaw: Flaw) -> Self {
        Self {
            inner: PopoProcessRecorder::new(),
            flaw,
            lax: Mutex::new(BTreeMap::new()),
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
            _ => self.inner.insert_events(events),
        }
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.inner.select_events(originator_id, query)
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
        self.inner.select_notifications(query)
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.inner.max_notification_id()
    }

    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        self.inner.subscribe(gt, topics)
    }
}

impl TrackingRecorder for Broken {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
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
}

impl ProcessRecorder for Broken {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        match self.flaw {
            Flaw::LeakyProcess => {
                let ids = self.inner.insert_events(events)?;
                self.inner.insert_tracking(tracking)?;
                Ok(ids)
            }
            Flaw::LaxTracking => {
                self.insert_tracking(tracking)?;
                self.inner.insert_events(events)
            }
            _ => self.inner.insert_events_with_tracking(events, tracking),
        }
    }
}

/// Hands out ids before taking the lock and publishes each event a little later, so ids do not
/// follow commit order and batches interleave.
#[derive(Debug, Default)]
struct OutOfOrder {
    next: AtomicU64,
    keys: Mutex<BTreeSet<(Uuid, u64)>>,
    log: Arc<Mutex<BTreeMap<u64, StoredEvent>>>,
}

impl AggregateRecorder for OutOfOrder {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        {
            let mut keys = self.keys.lock().unwrap();
            for e in events {
                if keys.contains(&(e.originator_id, e.originator_version)) {
                    return Err(Error::version_conflict(
                        e.originator_id,
                        e.originator_version,
                    ));
                }
            }
            keys.extend(
                events
                    .iter()
                    .map(|e| (e.originator_id, e.originator_version)),
            );
        }
        let mut ids = Vec::new();
        for e in events {
            let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
            thread::sleep(Duration::from_micros(30 * (id % 4)));
            self.log.lock().unwrap().insert(id, e.clone());
            ids.push(id);
        }
        Ok(ids)
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        let log = self.log.lock().unwrap();
        let mut out: Vec<_> = log
            .values()
            .filter(|e| e.originator_id == originator_id && query.contains(e.originator_version))
            .cloned()
            .collect();
        out.sort_by_key(|e| e.originator_version);
        if query.desc {
            out.reverse();
        }
        out.truncate(query.limit.unwrap_or(usize::MAX));
        Ok(out)
    }
}

fn select(log: &Mutex<BTreeMap<u64, StoredEvent>>, q: &NotificationQuery) -> Vec<Notification> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(id, e)| q.admits(**id, &e.topic))
        .take(q.limit)
        .map(|(id, e)| Notification::new(*id, e.clone()))
        .collect()
}

impl ApplicationRecorder for OutOfOrder {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        Ok(select(&self.log, query))
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        Ok(self.log.lock().unwrap().keys().next_back().copied())
    }

    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        let log = Arc::clone(&self.log);
        let fetch = move |q: &NotificationQuery| Ok(select(&log, q));
        Ok(Subscription::new(fetch, gt, topics).polling(Duration::from_millis(2)))
    }
}

fn half_batch() -> Broken {
    Broken::new(Flaw::HalfBatch)
}
fn lax_tracking() -> Broken {
    Broken::new(Flaw::LaxTracking)
}
fn limit_before_topics() -> Broken {
    Broken::new(Flaw::LimitBeforeTopics)
}
fn generic_conflict() -> Broken {
    Broken::new(Flaw::GenericConflict)
}
fn leaky_process() -> Broken {
    Broken::new(Flaw::LeakyProcess)
}

#[test]
fn half_written_batches_are_caught() {
    assert_caught(|| aggregate::insert_and_select(&half_batch));
    assert_caught(|| aggregate::model_based(&half_batch));
    assert_caught(|| application::model_based(&half_batch));
}

#[test]
fn out_of_commit_order_ids_are_caught() {
    assert_caught(|| concurrent::tailing_readers_never_go_back(&OutOfOrder::default));
    assert_caught(|| concurrent::non_interleaving_batches(&OutOfOrder::default));
}

#[test]
fn lower_tracking_ids_are_caught() {
    assert_caught(|| tracking::insert_tracking(&lax_tracking));
    assert_caught(|| tracking::model_based(&lax_tracking));
    assert_caught(|| process::raises_when_lower_inserted_later(&lax_tracking));
    assert_caught(|| process::model_based(&lax_tracking));
}

#[test]
fn a_limit_before_the_topic_filter_is_caught() {
    assert_caught(|| application::insert_select(&limit_before_topics));
    assert_caught(|| application::model_based(&limit_before_topics));
}

#[test]
fn conflicts_of_the_wrong_kind_are_caught() {
    assert_caught(|| concurrent::racing_writers_one_winner(&generic_conflict));
    assert_caught(|| aggregate::insert_and_select(&generic_conflict));
    assert_caught(|| aggregate::model_based(&generic_conflict));
}

#[test]
fn events_written_despite_a_tracking_conflict_are_caught() {
    assert_caught(|| process::insert_select(&leaky_process));
    assert_caught(|| process::model_based(&leaky_process));
}

#[test]
fn the_correct_recorder_passes_the_same_properties() {
    let make = PopoProcessRecorder::new;
    aggregate::insert_and_select(&make);
    application::insert_select(&make);
    tracking::insert_tracking(&make);
    process::insert_select(&make);
    concurrent::racing_writers_one_winner(&make);
    concurrent::tailing_readers_never_go_back(&make);
}
