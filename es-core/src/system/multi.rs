//! [`MultiThreadedRunner`]: a thread per edge follows its leader's subscription.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{Env, Error, NotificationId, Result, StopHandle};

use super::apps::Apps;
use super::follow::process_batch;
use super::health::{EdgeHealth, Edges, is_transient};
use super::lease::Leasing;
use super::{App, AppFactory, System};
use crate::sync::lock;

/// What the runner's threads share.
struct Shared {
    apps: Apps,
    stopping: AtomicBool,
    /// The live subscription of each edge, to stop it.
    subscriptions: Mutex<Vec<Option<StopHandle>>>,
    /// One lock per application: a follower processes one notification at a time.
    processing: Vec<Mutex<()>>,
    /// Each edge's status, for health and waits.
    edges: Edges,
    /// The first edge to fail and its error, and a condition to wait for it.
    error: Mutex<Option<(usize, Arc<Error>)>>,
    errored: Condvar,
    /// The edges' leases, when `RUNNER_LEASES` is on for any follower.
    leasing: Option<Leasing>,
}

/// The first pause after an operational error; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between retries of an edge whose store is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Shared {
    fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for handle in lock(&self.subscriptions).iter().flatten() {
            handle.stop();
        }
    }

    /// `edge` stopped at `error`: the other edges go on; waits for its follower, `stop` and
    /// `watch_for_errors` return it.
    fn fail(&self, edge: usize, error: Error) {
        let (leader, follower) = self.apps.edge_names(edge);
        let notification_id = match &error {
            Error::Processing {
                notification_id, ..
            } => Some(*notification_id),
            _ => None,
        };
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
    fn follow(&self, edge: usize) -> Result<()> {
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
    fn lease(&self) {
        while let Some(leasing) = &self.leasing {
            self.pause(leasing.tick);
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            leasing.tick(&self.apps, &|edge| self.lost(edge));
        }
    }
}

/// The lease thread ended at a panic: its edges' leases are no longer renewed.
#[derive(Debug, thiserror::Error)]
#[error("the runner's lease thread died")]
struct LeaseThreadDied(#[source] Arc<Error>);

struct Running {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Runs a [`System`] with one thread per leader-follower edge. Each thread follows its
/// leader's [`subscribe`](crate::ApplicationRecorder::subscribe): it catches up with any
/// backlog at [`start`](Self::start), is woken by the leader's saves in this process, and sees
/// writes made by other processes through the subscription's polling (or PostgreSQL's
/// NOTIFY).
///
/// Failures: an operational error (a store unreachable, a timeout) is retried with back-off
/// from 50 ms to 2 s, and the edge shows as retrying in [`health`](Self::health). Any other
/// error (an undecodable event, a policy's error) stops that edge only: [`wait`](Self::wait)
/// for its follower returns [`Error::EdgeStopped`], [`stop`](Self::stop) and
/// [`watch_for_errors`](Self::watch_for_errors) return the error, and
/// [`health`](Self::health) shows it. A stopped runner can be started again, and then
/// resumes each edge from its tracking position.
pub struct MultiThreadedRunner {
    pub(super) system: System,
    env: Env,
    factory: AppFactory,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for MultiThreadedRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiThreadedRunner")
            .field("system", &self.system)
            .field("env", &self.env)
            .field("started", &lock(&self.running).is_some())
            .finish_non_exhaustive()
    }
}

impl MultiThreadedRunner {
    /// A runner of `system` whose applications `factory` opens with `env`, renamed after each.
    pub fn new(system: System, env: Env, factory: AppFactory) -> Self {
        Self {
            system,
            env,
            factory,
            running: Mutex::new(None),
        }
    }

    /// Opens the applications and starts a thread per edge.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerAlreadyStarted`]; errors opening applications or starting threads.
    pub fn start(&self) -> Result<()> {
        let mut slot = lock(&self.running);
        if slot.is_some() {
            return Err(Error::RunnerAlreadyStarted);
        }
        let apps = Apps::start(&self.system, &self.env, &self.factory)?;
        let leasing = Leasing::new(&apps)?;
        let edges = apps.edges.len();
        let shared = Arc::new(Shared {
            processing: (0..apps.apps.len()).map(|_| Mutex::new(())).collect(),
            apps,
            stopping: AtomicBool::new(false),
            subscriptions: Mutex::new(vec![None; edges]),
            edges: Edges::new(edges),
            error: Mutex::new(None),
            errored: Condvar::new(),
            leasing,
        });
        let mut threads = Vec::with_capacity(edges + 1);
        if let Some(leasing) = &shared.leasing {
            // The first round now: an instance alone takes every edge at once.
            leasing.tick(&shared.apps, &|_| {});
            let s = Arc::clone(&shared);
            match thread::Builder::new()
                .name("es-leases".to_owned())
                .spawn(move || {
                    // Leases run out unrenewed without this thread: every edge shows it.
                    if let Err(e) = crate::sync::catch_panic(|| s.lease()) {
                        let e = Arc::new(e);
                        for edge in 0..s.apps.edges.len() {
                            s.fail(
                                edge,
                                Error::Internal {
                                    source: Box::new(LeaseThreadDied(Arc::clone(&e))),
                                },
                            );
                        }
                    }
                }) {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    leasing.release_all(&shared.apps);
                    return Err(Error::Internal {
                        source: Box::new(e),
                    });
                }
            }
        }
        for edge in 0..edges {
            let s = Arc::clone(&shared);
            let name = format!("es-follow-{}", s.apps.names[s.apps.edges[edge].1]);
            let spawned = thread::Builder::new().name(name).spawn(move || {
                let (l, f) = s.apps.edges[edge];
                let _span = tracing::info_span!(
                    target: "eventsourcing::runner",
                    "follow",
                    leader = s.apps.names[l],
                    follower = s.apps.names[f]
                )
                .entered();
                // A panic anywhere in following (a policy's is caught closer, per
                // notification) fails the edge instead of ending the thread unseen.
                if let Err(e) = crate::sync::catch_panic(|| s.follow(edge)).and_then(|r| r) {
                    s.fail(edge, e);
                }
            });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    shared.stop_all();
                    for t in threads {
                        let _ = t.join();
                    }
                    if let Some(leasing) = &shared.leasing {
                        leasing.release_all(&shared.apps);
                    }
                    return Err(Error::Internal {
                        source: Box::new(e),
                    });
                }
            }
        }
        tracing::info!(target: "eventsourcing::runner", runner = "multi-threaded", edges, "started");
        *slot = Some(Running { shared, threads });
        Ok(())
    }

    /// Stops the threads, closes the applications, and returns the first processing error.
    /// Stopping a stopped runner does nothing.
    ///
    /// # Errors
    ///
    /// The first error a thread met, if any.
    pub fn stop(&self) -> Result<()> {
        let Some(running) = lock(&self.running).take() else {
            return Ok(());
        };
        running.shared.stop_all();
        for t in running.threads {
            let _ = t.join();
        }
        // Nothing processes any more: the other instances may take the edges at once.
        if let Some(leasing) = &running.shared.leasing {
            leasing.release_all(&running.shared.apps);
        }
        running.shared.apps.close();
        tracing::info!(target: "eventsourcing::runner", runner = "multi-threaded", "stopped");
        let failed = lock(&running.shared.error).take();
        // The error itself, when no wait holds a copy.
        running.shared.edges.forget_failures();
        match failed {
            Some((edge, e)) => {
                Err(Arc::try_unwrap(e)
                    .unwrap_or_else(|e| running.shared.apps.edge_stopped(edge, e)))
            }
            None => Ok(()),
        }
    }

    /// True when a thread has failed (the error waits in [`stop`](Self::stop)).
    pub fn has_errored(&self) -> bool {
        lock(&self.running)
            .as_ref()
            .is_some_and(|r| lock(&r.shared.error).is_some())
    }

    /// Waits up to `timeout` for an edge to fail. On failure stops the runner and returns the
    /// error; otherwise returns `Ok` after the timeout.
    ///
    /// # Errors
    ///
    /// The first error a thread met.
    pub fn watch_for_errors(&self, timeout: Duration) -> Result<()> {
        let shared = match lock(&self.running).as_ref() {
            Some(r) => Arc::clone(&r.shared),
            None => return Ok(()),
        };
        let deadline = Instant::now() + timeout;
        let mut error = lock(&shared.error);
        while error.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            error = shared
                .errored
                .wait_timeout(error, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(error);
        self.stop()
    }

    /// The application of type `T`.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`]; [`Error::Programming`] when `T` is not in the system.
    pub fn get<T: App>(&self) -> Result<Arc<T>> {
        lock(&self.running)
            .as_ref()
            .ok_or(Error::RunnerNotStarted)?
            .shared
            .apps
            .get::<T>()
    }

    /// Blocks until follower `F` has processed `leader` up to `notification_id`:
    /// read-your-writes after a leader's save.
    ///
    /// # Errors
    ///
    /// [`Error::EdgeStopped`] when the follower stopped following `leader` at an error (at
    /// once, not after the timeout); [`Error::Timeout`] after `timeout`;
    /// [`Error::RunnerNotStarted`].
    pub fn wait<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        timeout: Duration,
    ) -> Result<()> {
        let shared = match lock(&self.running).as_ref() {
            Some(r) => Arc::clone(&r.shared),
            None => return Err(Error::RunnerNotStarted),
        };
        shared.edges.wait(
            &shared.apps,
            F::NAME,
            leader,
            notification_id,
            timeout,
            true,
        )
    }

    /// The health of every edge: positions, lag, when it last processed, and its state
    /// (running, caught up, retrying after an operational error, or stopped by an error).
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`]; the recorders' errors reading the positions.
    pub fn health(&self) -> Result<Vec<EdgeHealth>> {
        let shared = match lock(&self.running).as_ref() {
            Some(r) => Arc::clone(&r.shared),
            None => return Err(Error::RunnerNotStarted),
        };
        shared.edges.health(&shared.apps)
    }
}

impl Drop for MultiThreadedRunner {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
