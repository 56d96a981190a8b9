//! [`MultiThreadedRunner`]: a thread per edge follows its leader's subscription.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{Env, Error, NotificationId, Result};

use super::apps::Apps;
use super::health::{EdgeHealth, Edges};
use super::lease::Leasing;
use super::{App, AppFactory, System};
use crate::sync::lock;
use shared::Shared;

mod shared;

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
        // Retries an operator asked for (`eventsourcing retry`), before anything else runs.
        for edge in 0..apps.edges.len() {
            apps.retry_requested(edge);
        }
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
                // notification) fails the edge instead of ending the thread unseen. A failed
                // edge waits for its notification to be parked, then goes on.
                while let Err(e) = crate::sync::catch_panic(|| s.follow(edge)).and_then(|r| r) {
                    if s.apps.park_if_permanent(edge, &e) {
                        continue;
                    }
                    let failed_at = super::health::failed_at(&e);
                    s.fail(edge, e);
                    if !failed_at.is_some_and(|id| s.await_park(edge, id)) {
                        break;
                    }
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
        // Not a failure that an operator parked meanwhile (the edge had not noticed yet).
        let failed = lock(&running.shared.error)
            .take()
            .filter(|(edge, e)| !running.shared.parked_since(*edge, e));
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
    /// [`Error::RunnerNotStarted`] only: a position that cannot be read is `None`, the edge
    /// retrying with the error.
    pub fn health(&self) -> Result<Vec<EdgeHealth>> {
        let shared = match lock(&self.running).as_ref() {
            Some(r) => Arc::clone(&r.shared),
            None => return Err(Error::RunnerNotStarted),
        };
        Ok(shared.edges.health(&shared.apps))
    }
}

impl MultiThreadedRunner {
    fn shared(&self) -> Result<Arc<Shared>> {
        lock(&self.running)
            .as_ref()
            .map(|r| Arc::clone(&r.shared))
            .ok_or(Error::RunnerNotStarted)
    }

    /// Parks the notification of `leader` that follower `F` is stopped on, with `reason` (see
    /// [`parked`](super::parked)): recorded with the tracking record that moves past it, after
    /// which the failed edge goes on by itself. Returns the parked notification's id.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when `F` does not follow `leader` or has nothing left to
    /// process; [`Error::TrackingConflict`] when it processed that notification meanwhile;
    /// [`Error::RunnerNotStarted`].
    pub fn park<F: App>(&self, leader: &str, reason: &str) -> Result<NotificationId> {
        let shared = self.shared()?;
        let edge = shared.apps.edge(F::NAME, leader)?;
        let _processing = lock(&shared.processing[shared.apps.edges[edge].1]);
        let parked = shared.apps.park(edge, reason)?;
        // At once, so that a wait from now on waits for the edge (which goes on within
        // 200 ms) rather than returning the failure.
        shared.clear_failure(edge);
        Ok(parked)
    }

    /// Every notification `F` has parked, whatever became of them.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`]; the recorders' errors.
    pub fn parked<F: App>(&self) -> Result<Vec<super::parked::Parked>> {
        super::parked::parked(self.shared()?.apps.get::<F>()?.application())
    }

    /// Processes `leader`'s parked notification `notification_id` through `F`'s policy, once.
    ///
    /// # Errors
    ///
    /// The policy's error ([`Error::Processing`]; it stays parked); [`Error::Programming`]
    /// when it is not parked (or was retried or dropped already); [`Error::RunnerNotStarted`].
    pub fn retry_parked<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
    ) -> Result<()> {
        let shared = self.shared()?;
        let edge = shared.apps.edge(F::NAME, leader)?;
        let _processing = lock(&shared.processing[shared.apps.edges[edge].1]);
        shared.apps.retry_parked(edge, notification_id)
    }

    /// Gives up `leader`'s parked notification `notification_id` for good.
    ///
    /// # Errors
    ///
    /// As [`retry_parked`](Self::retry_parked), but for the policy.
    pub fn drop_parked<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        reason: &str,
    ) -> Result<()> {
        let shared = self.shared()?;
        shared.apps.edge(F::NAME, leader)?;
        super::parked::drop_parked(
            shared.apps.get::<F>()?.application(),
            leader,
            notification_id,
            reason,
        )
    }
}

impl Drop for MultiThreadedRunner {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
