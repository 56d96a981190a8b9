//! [`MultiThreadedRunner`]: a thread per edge follows its leader's subscription.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::{Env, Error, NotificationId, Result, StopHandle};

use super::apps::Apps;
use super::follow::process_one;
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
    /// The first error, and a condition to wait for it.
    error: Mutex<Option<Error>>,
    errored: Condvar,
}

impl Shared {
    fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for handle in lock(&self.subscriptions).iter().flatten() {
            handle.stop();
        }
    }

    fn fail(&self, error: Error) {
        {
            let mut slot = lock(&self.error);
            if slot.is_none() {
                *slot = Some(error);
            }
        }
        self.errored.notify_all();
        self.stop_all();
    }

    /// Follows `leader` for `follower` until stopped: subscribes after the follower's tracking
    /// position (so a backlog is processed at once, and writes of other processes arrive by
    /// the leader's subscription), and processes each notification. A tracking conflict (another
    /// instance processed it) resubscribes from the new position.
    fn follow(&self, edge: usize) -> Result<()> {
        let (l, f) = self.apps.edges[edge];
        let (leader, follower) = (self.apps.apps[l].as_ref(), self.apps.apps[f].as_ref());
        let leader_name = self.apps.names[l];
        while !self.stopping.load(Ordering::SeqCst) {
            let position = follower
                .application()
                .recorder()
                .max_tracking_id(leader_name)?;
            let mut subscription = leader.application().recorder().subscribe(position, &[])?;
            lock(&self.subscriptions)[edge] = Some(subscription.stop_handle());
            if self.stopping.load(Ordering::SeqCst) {
                subscription.stop();
            }
            for item in subscription.by_ref() {
                let notification = match item {
                    Ok(n) => n,
                    // The leader's store is unreachable: the subscription backs off and retries.
                    Err(e) if e.is_operational() => continue,
                    Err(e) => return Err(e),
                };
                let _guard = lock(&self.processing[f]);
                match process_one(follower, leader_name, leader, &notification) {
                    Ok(()) => {}
                    Err(e) if e.is_tracking_conflict() => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

struct Running {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Runs a [`System`] with one thread per leader-follower edge. Each thread follows its
/// leader's [`subscribe`](crate::ApplicationRecorder::subscribe): it catches up with any
/// backlog at [`start`](Self::start), is woken by the leader's saves in this process, and sees
/// writes made by other processes through the subscription's polling (or PostgreSQL's
/// NOTIFY). A processing error stops the runner and is returned by [`stop`](Self::stop) and
/// [`watch_for_errors`](Self::watch_for_errors). A stopped runner can be started again.
pub struct MultiThreadedRunner {
    system: System,
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
        let edges = apps.edges.len();
        let shared = Arc::new(Shared {
            processing: (0..apps.apps.len()).map(|_| Mutex::new(())).collect(),
            apps,
            stopping: AtomicBool::new(false),
            subscriptions: Mutex::new(vec![None; edges]),
            error: Mutex::new(None),
            errored: Condvar::new(),
        });
        let mut threads = Vec::with_capacity(edges);
        for edge in 0..edges {
            let s = Arc::clone(&shared);
            let name = format!("es-follow-{}", s.apps.names[s.apps.edges[edge].1]);
            let spawned = thread::Builder::new().name(name).spawn(move || {
                if let Err(e) = s.follow(edge) {
                    s.fail(e);
                }
            });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(e) => {
                    shared.stop_all();
                    for t in threads {
                        let _ = t.join();
                    }
                    return Err(Error::Internal {
                        source: Box::new(e),
                    });
                }
            }
        }
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
        running.shared.apps.close();
        match lock(&running.shared.error).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// True when a thread has failed (the error waits in [`stop`](Self::stop)).
    pub fn has_errored(&self) -> bool {
        lock(&self.running)
            .as_ref()
            .is_some_and(|r| lock(&r.shared.error).is_some())
    }

    /// Waits up to `timeout` for a thread to fail. On failure stops the runner and returns the
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
    /// [`Error::Timeout`] after `timeout`; [`Error::RunnerNotStarted`].
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
        shared.apps.wait(F::NAME, leader, notification_id, timeout)
    }
}

impl Drop for MultiThreadedRunner {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
