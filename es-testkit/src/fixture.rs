//! [`Guarded`]: a recorder that keeps its fixture (a temporary directory, a schema to drop)
//! alive for as long as the recorder lives.

use std::fmt::Debug;
use std::time::Duration;

use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbRecorder, DcbSubscription, Position,
};
use es_core::{
    AggregateRecorder, ApplicationRecorder, EventQuery, Lease, LeaseRecorder, Notification,
    NotificationId, NotificationQuery, ProcessRecorder, Result, StopHandle, StoredEvent,
    Subscription, Tracking, TrackingRecorder, Uuid,
};

/// A recorder and its guard. Fields drop in order: the recorder first, then the guard, so a
/// temporary directory outlives the connections into it.
#[derive(Debug)]
pub struct Guarded<R, G> {
    recorder: R,
    guard: G,
}

impl<R, G> Guarded<R, G> {
    /// `recorder`, keeping `guard` alive.
    pub fn new(recorder: R, guard: G) -> Self {
        Self { recorder, guard }
    }

    /// The guard.
    pub fn guard(&self) -> &G {
        &self.guard
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: DcbRecorder, G: Send + Sync + Debug> DcbRecorder for Guarded<R, G> {
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        self.recorder.read(query, after, limit)
    }
    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        self.recorder.append(events, condition)
    }
    fn subscribe(&self, query: &DcbQuery, after: Option<Position>) -> Result<DcbSubscription> {
        self.recorder.subscribe(query, after)
    }
    fn head(&self) -> Result<Option<Position>> {
        self.recorder.head()
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: AggregateRecorder, G: Send + Sync + Debug> AggregateRecorder for Guarded<R, G> {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.recorder.insert_events(events)
    }
    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.recorder.select_events(originator_id, query)
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: ApplicationRecorder, G: Send + Sync + Debug> ApplicationRecorder for Guarded<R, G> {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        self.recorder.select_notifications(query)
    }
    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.recorder.max_notification_id()
    }
    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        self.recorder.subscribe(gt, topics)
    }
    fn reads_ahead(&self) -> bool {
        self.recorder.reads_ahead()
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: TrackingRecorder, G: Send + Sync + Debug> TrackingRecorder for Guarded<R, G> {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.recorder.insert_tracking(tracking)
    }
    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.recorder.max_tracking_id(application_name)
    }
    fn has_tracking_id(
        &self,
        application_name: &str,
        notification_id: NotificationId,
    ) -> Result<bool> {
        self.recorder
            .has_tracking_id(application_name, notification_id)
    }
    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        self.recorder
            .wait(application_name, notification_id, timeout, interrupt)
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: ProcessRecorder, G: Send + Sync + Debug> LeaseRecorder for Guarded<R, G> {
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        self.recorder.acquire_lease(name, holder, ttl)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.recorder.release_lease(name, holder)
    }
    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        self.recorder.leases(prefix)
    }
}

#[deny(clippy::missing_trait_methods)]
impl<R: ProcessRecorder, G: Send + Sync + Debug> ProcessRecorder for Guarded<R, G> {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.recorder.insert_events_with_tracking(events, tracking)
    }
}

/// A recorder whose writes fail with an operational error while its switch is on, as if its
/// database were unreachable: for the runners' outage property. Reads pass through.
#[derive(Debug)]
pub(crate) struct Outage<R> {
    recorder: R,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R> Outage<R> {
    /// `recorder`, failing its writes while `down` is true.
    pub(crate) fn new(recorder: R, down: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Self {
        Self { recorder, down }
    }

    fn check(&self) -> Result<()> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(es_core::Error::Operational {
                source: "the database is unreachable (an outage of the test)".into(),
            });
        }
        Ok(())
    }
}

impl<R: AggregateRecorder> AggregateRecorder for Outage<R> {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.check()?;
        self.recorder.insert_events(events)
    }
    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.recorder.select_events(originator_id, query)
    }
}

impl<R: ApplicationRecorder> ApplicationRecorder for Outage<R> {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        self.recorder.select_notifications(query)
    }
    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.recorder.max_notification_id()
    }
    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        self.recorder.subscribe(gt, topics)
    }
    fn reads_ahead(&self) -> bool {
        self.recorder.reads_ahead()
    }
}

impl<R: TrackingRecorder> TrackingRecorder for Outage<R> {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.check()?;
        self.recorder.insert_tracking(tracking)
    }
    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.recorder.max_tracking_id(application_name)
    }
}

/// An outage takes leases away too: a holder cannot renew, a stand-by cannot take over.
impl<R: ProcessRecorder> LeaseRecorder for Outage<R> {
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        self.check()?;
        self.recorder.acquire_lease(name, holder, ttl)
    }
    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.check()?;
        self.recorder.release_lease(name, holder)
    }
    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        self.check()?;
        self.recorder.leases(prefix)
    }
}

impl<R: ProcessRecorder> ProcessRecorder for Outage<R> {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.check()?;
        self.recorder.insert_events_with_tracking(events, tracking)
    }
}
