//! [`SingleThreadedRunner`]: followers process synchronously, inside their leader's save.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Env, Error, NotificationId, Result};

use super::apps::Apps;
use super::follow::pull_and_process;
use super::health::{EdgeHealth, Edges, failed_at, is_transient};
use super::{App, AppFactory, System};
use crate::sync::lock;

struct Core {
    apps: Apps,
    edges: Edges,
    /// Whether a thread is processing, and the leaders prompted meanwhile.
    queue: Mutex<(bool, VecDeque<usize>)>,
}

impl Core {
    /// Processes every follower of `leader` (and of the leaders their processing prompts),
    /// unless this or another thread is already processing, in which case that thread does.
    fn prompt(&self, leader: usize) -> Result<()> {
        {
            let mut q = lock(&self.queue);
            if !q.1.contains(&leader) {
                q.1.push_back(leader);
            }
            if q.0 {
                return Ok(());
            }
            q.0 = true;
        }
        loop {
            let next = {
                let mut q = lock(&self.queue);
                match q.1.pop_front() {
                    Some(l) => l,
                    None => {
                        q.0 = false;
                        return Ok(());
                    }
                }
            };
            for (edge, &(_, f)) in self.apps.edges.iter().enumerate() {
                if self.apps.edges[edge].0 != next {
                    continue;
                }
                // A panic (a policy's is caught per notification, closer) must not leave
                // the queue marked busy for ever, nor unwind through the caller's save.
                // A permanent error parked (`PARK_PERMANENT_ERRORS`): go on after it.
                let result = loop {
                    let result = crate::sync::catch_panic(|| {
                        pull_and_process(
                            self.apps.apps[f].as_ref(),
                            self.apps.names[next],
                            self.apps.apps[next].as_ref(),
                            self.apps.batches[f],
                            &mut || self.edges.processed(edge),
                        )
                    })
                    .and_then(|r| r);
                    match result {
                        Err(e) if self.apps.park_if_permanent(edge, &e) => {}
                        other => break other,
                    }
                };
                match result {
                    Ok(()) => self.edges.ok(edge),
                    Err(e) => {
                        let notification_id = failed_at(&e);
                        tracing::error!(
                            target: "eventsourcing::runner",
                            leader = self.apps.names[next],
                            follower = self.apps.names[f],
                            notification_id,
                            error = %e.report(),
                            "processing failed; retried on the leader's next save"
                        );
                        let e = if is_transient(&e) {
                            self.edges.retrying(edge, &e);
                            e
                        } else {
                            let e = Arc::new(e);
                            self.edges.failed(edge, Arc::clone(&e));
                            self.apps.edge_stopped(edge, e)
                        };
                        let mut q = lock(&self.queue);
                        q.0 = false;
                        q.1.clear();
                        return Err(e);
                    }
                }
            }
        }
    }
}

/// Runs a [`System`] in the caller's thread: each save of a leader processes its followers
/// before it returns. Catches up with any backlog at [`start`](Self::start); can be stopped
/// and started again.
///
/// Failures: when processing fails, the leader's save returns [`Error::Recorded`] with the
/// leader's notification ids: its events are stored, so **the command must not be repeated**.
/// Its source is the operational error (a store unreachable), or [`Error::EdgeStopped`] with
/// the error that stopped the follower (an undecodable event, a policy's error). The follower
/// stays at its last tracked notification and retries on the leader's next save or at the
/// next start; [`health`](Self::health) shows the edge as retrying or failed until then.
pub struct SingleThreadedRunner {
    pub(super) system: System,
    env: Env,
    factory: AppFactory,
    core: Mutex<Option<Arc<Core>>>,
}

impl std::fmt::Debug for SingleThreadedRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleThreadedRunner")
            .field("system", &self.system)
            .field("env", &self.env)
            .field("started", &lock(&self.core).is_some())
            .finish_non_exhaustive()
    }
}

impl SingleThreadedRunner {
    /// A runner of `system` whose applications `factory` opens with `env`, renamed after each.
    pub fn new(system: System, env: Env, factory: AppFactory) -> Self {
        Self {
            system,
            env,
            factory,
            core: Mutex::new(None),
        }
    }

    /// Opens the applications, wires leaders to followers, and processes any backlog.
    ///
    /// Returns `Ok` once the runner runs, whatever its edges' states: an error processing the
    /// backlog (a poison notification, a store unreachable) is logged and shown in
    /// [`health`](Self::health) and by [`wait`](Self::wait), and retried on the leader's next
    /// save, so a service with one failing edge still starts (no crash loop at boot).
    ///
    /// # Errors
    ///
    /// [`Error::RunnerAlreadyStarted`]; errors opening applications.
    pub fn start(&self) -> Result<()> {
        let core = {
            let mut slot = lock(&self.core);
            if slot.is_some() {
                return Err(Error::RunnerAlreadyStarted);
            }
            let apps = Apps::start(&self.system, &self.env, &self.factory)?;
            if super::lease::Leasing::new(&apps)?.is_some() {
                return Err(Error::config(
                    "RUNNER_LEASES",
                    "leases share edges between runner instances: they need the multi-threaded \
                     runner (the single-threaded one processes in its callers' saves)",
                ));
            }
            let core = Arc::new(Core {
                edges: Edges::new(self.system.edges.len()),
                apps,
                queue: Mutex::new((false, VecDeque::new())),
            });
            for (leader, _) in &core.apps.edges {
                let weak = Arc::downgrade(&core);
                let leader = *leader;
                core.apps.apps[leader]
                    .application()
                    .add_listener(Arc::new(move |_| {
                        weak.upgrade().map_or(Ok(()), |core| core.prompt(leader))
                    }));
            }
            *slot = Some(Arc::clone(&core));
            tracing::info!(target: "eventsourcing::runner", runner = "single-threaded", edges = core.apps.edges.len(), "started");
            core
        };
        // Retries an operator asked for (`eventsourcing retry`) run first.
        for edge in 0..core.apps.edges.len() {
            core.apps.retry_requested(edge);
        }
        let leaders: Vec<usize> = core.apps.edges.iter().map(|e| e.0).collect();
        for leader in leaders {
            // Logged and kept in health by `prompt`; the other leaders' followers go on.
            let _ = core.prompt(leader);
        }
        Ok(())
    }

    /// Detaches and closes the applications. Stopping a stopped runner does nothing.
    ///
    /// # Errors
    ///
    /// None at present; the signature matches [`MultiThreadedRunner::stop`](super::MultiThreadedRunner::stop).
    pub fn stop(&self) -> Result<()> {
        if let Some(core) = lock(&self.core).take() {
            core.apps.close();
            tracing::info!(target: "eventsourcing::runner", runner = "single-threaded", "stopped");
        }
        Ok(())
    }

    /// The application of type `T`.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`]; [`Error::Programming`] when `T` is not in the system.
    pub fn get<T: App>(&self) -> Result<Arc<T>> {
        lock(&self.core)
            .as_ref()
            .ok_or(Error::RunnerNotStarted)?
            .apps
            .get::<T>()
    }

    /// Blocks until follower `F` has processed `leader` up to `notification_id` (always true
    /// once the leader's save returned `Ok`, with this runner).
    ///
    /// # Errors
    ///
    /// [`Error::EdgeStopped`] at once when the last processing of the edge failed and `F` has
    /// not got that far (the next save of the leader retries it); [`Error::Timeout`] after
    /// `timeout`; [`Error::RunnerNotStarted`].
    pub fn wait<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        timeout: Duration,
    ) -> Result<()> {
        let core = lock(&self.core).clone().ok_or(Error::RunnerNotStarted)?;
        core.edges
            .wait(&core.apps, F::NAME, leader, notification_id, timeout, false)
    }

    /// The health of every edge: positions, lag, when it last processed, and its state
    /// (caught up, behind, retrying after an operational error, or failed: this runner
    /// retries both on the leader's next save).
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`] only: a position that cannot be read is `None`, the edge
    /// retrying with the error.
    pub fn health(&self) -> Result<Vec<EdgeHealth>> {
        let core = lock(&self.core).clone().ok_or(Error::RunnerNotStarted)?;
        Ok(core.edges.health(&core.apps))
    }
}

impl SingleThreadedRunner {
    fn core(&self) -> Result<Arc<Core>> {
        lock(&self.core).clone().ok_or(Error::RunnerNotStarted)
    }

    /// Parks the notification of `leader` that follower `F` is stopped on, with `reason` (see
    /// [`parked`](super::parked)), and processes what follows it at once. Returns the parked
    /// notification's id.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when `F` does not follow `leader` or has nothing left to
    /// process; [`Error::TrackingConflict`] when it processed that notification meanwhile;
    /// [`Error::RunnerNotStarted`]. An error processing what follows is in health, not here.
    pub fn park<F: App>(&self, leader: &str, reason: &str) -> Result<NotificationId> {
        let core = self.core()?;
        let edge = core.apps.edge(F::NAME, leader)?;
        let parked = core.apps.park(edge, reason)?;
        core.edges.ok(edge);
        let _ = core.prompt(core.apps.edges[edge].0);
        Ok(parked)
    }

    /// Every notification `F` has parked, whatever became of them.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`]; the recorders' errors.
    pub fn parked<F: App>(&self) -> Result<Vec<super::parked::Parked>> {
        super::parked::parked(self.core()?.apps.get::<F>()?.application())
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
        let core = self.core()?;
        let edge = core.apps.edge(F::NAME, leader)?;
        core.apps.retry_parked(edge, notification_id)
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
        let core = self.core()?;
        core.apps.edge(F::NAME, leader)?;
        super::parked::drop_parked(
            core.apps.get::<F>()?.application(),
            leader,
            notification_id,
            reason,
        )
    }
}

impl Drop for SingleThreadedRunner {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
