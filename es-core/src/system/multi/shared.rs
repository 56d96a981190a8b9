//! What the multi-threaded runner's threads share, and an edge thread's loop: follow the
//! leader's subscription, retry operational errors with back-off, fail the edge otherwise.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::sync::lock;
use crate::{Error, NotificationId, Result, StopHandle};

use super::super::apps::Apps;
use super::super::follow::process_batch;
use super::super::health::{Edges, failed_at, is_transient};
use super::super::lease::Leasing;

/// What the runner's threads share.
pub(super) struct Shared {
    pub(super) apps: Apps,
    pub(super) stopping: AtomicBool,
    /// The live subscription of each edge, to stop it.
    pub(super) subscriptions: Mutex<Vec<Option<StopHandle>>>,
    /// One lock per application: a follower processes one notification at a time.
    pub(super) processing: Vec<Mutex<()>>,
    /// Each edge's status, for health and waits.
    pub(super) edges: Edges,
    /// The first edge to fail and its error, and a condition to wait for it.
    pub(super) error: Mutex<Option<(usize, Arc<Error>)>>,
    pub(super) errored: Condvar,
    /// The edges' leases, when `RUNNER_LEASES` is on for any follower.
    pub(super) leasing: Option<Leasing>,
}

/// The first pause after an operational error; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between retries of an edge whose store is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Shared {
    pub(super) fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for handle in lock(&self.subscriptions).iter().flatten() {
            handle.stop();
        }
    }

    /// `edge` stopped at `error`: the other edges go on; waits for its follower, `stop` and
    /// `watch_for_errors` return it.
    pub(super) fn fail(&self, edge: usize, error: Error) {
        let (leader, follower) = self.apps.edge_names(edge);
        let notification_id = failed_at(&error);
        tracing::error!(
            target: "eventsourcing::runner",
            leader,
            follower,
            notification_id,
            error = %error.report(),
            "the follower stopped: this edge processes nothing more until the runner restarts"
        );
        let error = Arc::new(error);
        // The runner's error first: whoever a failed wait wakes sees `has_errored` true.
        {
            let mut slot = lock(&self.error);
            if slot.is_none() {
                *slot = Some((edge, Arc::clone(&error)));
            }
        }
        self.edges.failed(edge, error);
        self.errored.notify_all();
    }

    /// After `edge` failed at `notification_id`: waits until the follower's tracking has
    /// reached it (an operator parked it, or another instance processed it), polling every
    /// 200 ms, then clears the failure and returns true; false when the runner stops first.
    pub(super) fn await_park(&self, edge: usize, notification_id: NotificationId) -> bool {
        let (l, f) = self.apps.edges[edge];
        let (leader, follower) = (self.apps.names[l], self.apps.apps[f].application());
        while !self.stopping.load(Ordering::SeqCst) {
            if follower
                .recorder()
                .max_tracking_id(leader)
                .is_ok_and(|p| p.is_some_and(|p| p >= notification_id))
            {
                self.clear_failure(edge);
                tracing::info!(
                    target: "eventsourcing::runner",
                    leader,
                    follower = follower.name(),
                    notification_id,
                    "the notification the edge stopped on is parked or processed: going on"
                );
                return true;
            }
            self.pause(Duration::from_millis(200));
        }
        false
    }

    /// True when `edge` failed at `error`'s notification and the follower has tracked it since
    /// (it was parked).
    pub(super) fn parked_since(&self, edge: usize, error: &Error) -> bool {
        let Some(notification_id) = failed_at(error) else {
            return false;
        };
        let (l, f) = self.apps.edges[edge];
        self.apps.apps[f]
            .application()
            .recorder()
            .has_tracking_id(self.apps.names[l], notification_id)
            .unwrap_or(false)
    }

    /// Forgets `edge`'s failure (its notification is parked): health, waits and `stop` no
    /// longer report it.
    pub(super) fn clear_failure(&self, edge: usize) {
        {
            let mut slot = lock(&self.error);
            if slot.as_ref().is_some_and(|(e, _)| *e == edge) {
                *slot = None;
            }
        }
        self.edges.ok(edge);
    }

    /// Sleeps `pause`, or less when the runner stops.
    fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while !self.stopping.load(Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// Follows `leader` for `follower` until stopped or a deterministic error. Operational
    /// errors (a store unreachable, a timeout), also inside processing, are retried from the
    /// tracking position after a pause that doubles from 50 ms to 2 s; the edge shows as
    /// retrying meanwhile.
    pub(super) fn follow(&self, edge: usize) -> Result<()> {
        let mut failures = 0u32;
        while !self.stopping.load(Ordering::SeqCst) {
            if let Some(leasing) = &self.leasing
                && !leasing.holds(edge)
            {
                self.edges.standing_by(edge, true);
                leasing.wait_for(edge, leasing.tick);
                continue;
            }
            self.edges.standing_by(edge, false);
            match self.follow_from_tracking(edge, &mut failures) {
                Ok(()) => {}
                Err(e) if is_transient(&e) => {
                    self.edges.retrying(edge, &e);
                    let pause = MIN_BACKOFF
                        .saturating_mul(1 << failures.min(6))
                        .min(MAX_BACKOFF);
                    failures = failures.saturating_add(1);
                    let (leader, follower) = self.apps.edge_names(edge);
                    tracing::warn!(target: "eventsourcing::runner", leader, follower, error = %e.report(), ?pause, failures, "retrying after an operational error");
                    self.pause(pause);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Subscribes after the follower's tracking position (so a backlog is processed at once,
    /// and writes of other processes arrive by the leader's subscription), and processes each
    /// notification. Returns `Ok` when stopped or when another instance processed a
    /// notification first (a tracking conflict: resubscribe from the new position).
    fn follow_from_tracking(&self, edge: usize, failures: &mut u32) -> Result<()> {
        let (l, f) = self.apps.edges[edge];
        let (leader, follower) = (self.apps.apps[l].as_ref(), self.apps.apps[f].as_ref());
        let leader_name = self.apps.names[l];
        let position = follower
            .application()
            .recorder()
            .max_tracking_id(leader_name)?;
        let mut subscription = leader.application().recorder().subscribe(position, &[])?;
        lock(&self.subscriptions)[edge] = Some(subscription.stop_handle());
        if self.stopping.load(Ordering::SeqCst) || !self.holds(edge) {
            subscription.stop();
        }
        let batch = self.apps.batches[f];
        while let Some(item) = subscription.next() {
            // Lease lost or run out (a stall): the new holder resumes from tracking.
            if !self.holds(edge) {
                return Ok(());
            }
            let mut notifications = vec![item?];
            notifications.extend(subscription.take_buffered(batch.saturating_sub(1)));
            let _guard = lock(&self.processing[f]);
            let processed = &mut || self.edges.processed(edge);
            match process_batch(follower, leader_name, leader, &notifications, processed) {
                Ok(()) => *failures = 0,
                Err(e) if e.is_tracking_conflict() => {
                    self.edges.conflict(edge);
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn holds(&self, edge: usize) -> bool {
        self.leasing.as_ref().is_none_or(|l| l.holds(edge))
    }

    /// Stops `edge`'s subscription: its lease is lost or given up.
    fn lost(&self, edge: usize) {
        if let Some(handle) = lock(&self.subscriptions).get(edge).and_then(Option::as_ref) {
            handle.stop();
        }
    }

    /// The lease thread: ticks until the runner stops.
    pub(super) fn lease(&self) {
        while let Some(leasing) = &self.leasing {
            self.pause(leasing.tick);
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            leasing.tick(&self.apps, &|edge| self.lost(edge));
        }
    }
}
