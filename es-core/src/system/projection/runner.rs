//! [`ProjectionRunner`]: a thread that follows an upstream application and applies its
//! notifications to a view, batch by batch, each batch and its tracking record in one
//! transaction.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::domain::{TopicCheck, Topics};
use crate::persistence::wake::Waker;
use crate::sync::{catch_panic, lock};
use crate::{
    Env, Error, Notification, NotificationId, Result, StopHandle, Subscription, Tracking,
    TrackingRecorder, ViewStore,
};

use super::super::health::{EdgeState, is_transient};
use super::super::{DEFAULT_PROCESSING_BATCH, Received};
use super::{Projection, Upstream};

/// The first pause after an operational error; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between attempts while the store or the upstream stays unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How a [`ProjectionRunner`] processes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectionOptions {
    /// The most notifications applied in one transaction (`PROCESSING_BATCH`, default
    /// [`DEFAULT_PROCESSING_BATCH`]); 1 commits each notification on its own.
    pub batch: usize,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        Self {
            batch: DEFAULT_PROCESSING_BATCH,
        }
    }
}

impl ProjectionOptions {
    /// The options `env` sets (named after the projection: `TRICKCOUNTS_PROCESSING_BATCH`,
    /// then `PROCESSING_BATCH`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the setting when `PROCESSING_BATCH` is not an integer above 0.
    pub fn from_env(env: &Env) -> Result<Self> {
        Ok(Self {
            batch: super::super::apps::processing_batch(env)?,
        })
    }

    /// These options with at most `batch` notifications per transaction (at least 1).
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }
}

/// The health of a running projection: positions, lag and state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectionHealth {
    /// The projection's name.
    pub projection: &'static str,
    /// The upstream application's name.
    pub leader: String,
    /// The upstream's highest notification id (`None`: an empty log).
    pub leader_position: Option<NotificationId>,
    /// The highest upstream notification the view has processed.
    pub position: Option<NotificationId>,
    /// How far the view is behind (an upper bound: ids may skip).
    pub lag: u64,
    /// When this runner last committed a batch.
    pub last_processed: Option<SystemTime>,
    /// What the runner is doing.
    pub state: EdgeState,
    /// Batches another instance had applied first (their work was thrown away and this one
    /// resumed after the other's position).
    pub tracking_conflicts: u64,
}

/// Follows an upstream application on a thread of its own and applies its notifications to a
/// projection's view: in batches of up to [`ProjectionOptions::batch`], each batch with its
/// tracking record in one [`ViewStore::transact`], so the view holds every notification
/// exactly once across crashes and restarts; a failing batch is applied again one
/// notification at a time, so the notifications before a failing one are kept.
///
/// * It starts after the view's position ([`TrackingRecorder::max_tracking_id`]): a restarted
///   runner resumes where the last one committed.
/// * Operational errors (the store or the upstream unreachable, a lock timeout) are retried
///   with back-off from 50 ms to 2 s, shown as [`EdgeState::Retrying`] in
///   [`health`](Self::health) and logged when they start and end.
/// * Any other error, a panic of the projection included, stops it at the failing
///   notification: logged with the names, shown as [`EdgeState::Failed`], and returned by
///   [`wait`](Self::wait), [`run_forever`](Self::run_forever) and [`stop`](Self::stop), every
///   time (it is not cleared by being returned once).
/// * Another instance on the same view is harmless: the tracking record refuses a batch
///   applied already, and this runner resumes after it.
/// * Dropping the runner stops it and joins its thread.
pub struct ProjectionRunner<S: ViewStore, P: Projection<S>> {
    shared: Arc<Shared<S, P>>,
    thread: Option<JoinHandle<()>>,
}

impl<S: ViewStore, P: Projection<S>> std::fmt::Debug for ProjectionRunner<S, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectionRunner")
            .field("projection", &P::NAME)
            .field("leader", &self.shared.leader)
            .field("store", &self.shared.store)
            .finish_non_exhaustive()
    }
}

struct Shared<S: ViewStore, P: Projection<S>> {
    upstream: Arc<dyn Upstream>,
    leader: String,
    projection: P,
    follows: Option<Topics>,
    store: Arc<S>,
    batch: usize,
    /// Stopped by [`ProjectionRunner::stop`].
    stop: StopHandle,
    /// Stopped by `stop` or by a failure: interrupts waits.
    ended: StopHandle,
    /// The running subscription's stop handle.
    subscription: Mutex<Option<StopHandle>>,
    status: Mutex<Status>,
    _store: PhantomData<fn() -> S>,
}

#[derive(Debug, Default)]
struct Status {
    last_processed: Option<SystemTime>,
    retrying: Option<String>,
    failed: Option<Arc<Error>>,
    conflicts: u64,
}

impl<S: ViewStore + Send + Sync, P: Projection<S>> ProjectionRunner<S, P> {
    /// Creates the view ([`Projection::create_view`]) and starts following `upstream` with
    /// the default options.
    ///
    /// # Errors
    ///
    /// As [`start_with`](Self::start_with).
    pub fn start<U: Upstream>(upstream: Arc<U>, projection: P, store: Arc<S>) -> Result<Self> {
        Self::start_with(upstream, projection, store, ProjectionOptions::default())
    }

    /// Creates the view and starts following `upstream` with `options`.
    ///
    /// # Errors
    ///
    /// The error of [`Projection::create_view`], of the store reading the view's position, or
    /// of the upstream subscribing (with nothing started);
    /// [`Error::Internal`] when the thread cannot be spawned.
    pub fn start_with<U: Upstream>(
        upstream: Arc<U>,
        projection: P,
        store: Arc<S>,
        options: ProjectionOptions,
    ) -> Result<Self> {
        store.migrate(|tx| projection.create_view(tx))?;
        let leader = upstream.application().name().to_owned();
        // Where it starts is known when `start` returns: a runner started before a save
        // applies it, whatever instances run beside it.
        let position = store.max_tracking_id(&leader)?;
        let subscription = upstream.application().recorder().subscribe(position, &[])?;
        let shared = Arc::new(Shared {
            upstream,
            leader,
            projection,
            follows: P::follows(),
            store,
            batch: options.batch.max(1),
            stop: StopHandle::new(),
            ended: StopHandle::new(),
            subscription: Mutex::new(Some(subscription.stop_handle())),
            status: Mutex::new(Status::default()),
            _store: PhantomData,
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("projection-{}", P::NAME))
                .spawn(move || shared.run(subscription))
                .map_err(|e| Error::Internal {
                    source: Box::new(e),
                })?
        };
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The view's store: read the view through it.
    pub fn store(&self) -> &Arc<S> {
        &self.shared.store
    }

    /// The projection.
    pub fn projection(&self) -> &P {
        &self.shared.projection
    }

    /// Blocks until the view has processed the upstream up to `notification_id` (the id a
    /// save returned: read-your-writes), woken by the commit, not polling. Notifications the
    /// projection ignored or filtered out count as processed.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] (kind [`TimeoutKind::Wait`]) after `timeout`; at once, the error
    /// that stopped the projection ([`Error::EdgeStopped`]) when it failed before reaching
    /// `notification_id`; [`Error::WaitInterrupted`] when the runner was stopped first.
    pub fn wait(&self, notification_id: NotificationId, timeout: Duration) -> Result<()> {
        let shared = &*self.shared;
        let reached = || {
            shared
                .store
                .has_tracking_id(&shared.leader, notification_id)
        };
        match shared.store.wait(
            &shared.leader,
            notification_id,
            timeout,
            Some(&shared.ended),
        ) {
            Err(Error::WaitInterrupted) if reached()? => Ok(()),
            Err(Error::WaitInterrupted) => Err(self.failure().unwrap_or(Error::WaitInterrupted)),
            other => other,
        }
    }

    /// Blocks until the runner stops or fails, or `timeout` passes (`None`: no limit).
    ///
    /// # Errors
    ///
    /// The error that stopped the projection ([`Error::EdgeStopped`]); `Ok` after
    /// [`stop`](Self::stop) or at the timeout.
    pub fn run_forever(&self, timeout: Option<Duration>) -> Result<()> {
        let waker = Waker::new();
        self.shared.ended.register(&waker);
        let started = Instant::now();
        while !self.shared.ended.is_stopped() {
            let left = match timeout {
                Some(t) => match t.checked_sub(started.elapsed()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Ok(()),
                },
                None => None,
            };
            waker.wait(left);
        }
        self.failure().map_or(Ok(()), Err)
    }

    /// Stops the runner and joins its thread.
    ///
    /// # Errors
    ///
    /// The error that had stopped the projection, if any ([`Error::EdgeStopped`]).
    pub fn stop(&mut self) -> Result<()> {
        self.halt();
        self.failure().map_or(Ok(()), Err)
    }

    /// Positions, lag and state.
    ///
    /// # Errors
    ///
    /// Errors of the store or the upstream reading their positions.
    pub fn health(&self) -> Result<ProjectionHealth> {
        let shared = &*self.shared;
        let leader_position = shared
            .upstream
            .application()
            .recorder()
            .max_notification_id()?;
        let position = shared.store.max_tracking_id(&shared.leader)?;
        let lag = leader_position
            .unwrap_or(0)
            .saturating_sub(position.unwrap_or(0));
        let status = lock(&shared.status);
        let state = if let Some(e) = &status.failed {
            EdgeState::Failed {
                error: e.report().to_string(),
            }
        } else if let Some(error) = &status.retrying {
            EdgeState::Retrying {
                error: error.clone(),
            }
        } else if lag == 0 {
            EdgeState::CaughtUp
        } else {
            EdgeState::Running
        };
        Ok(ProjectionHealth {
            projection: P::NAME,
            leader: shared.leader.clone(),
            leader_position,
            position,
            lag,
            last_processed: status.last_processed,
            state,
            tracking_conflicts: status.conflicts,
        })
    }

    fn failure(&self) -> Option<Error> {
        lock(&self.shared.status)
            .failed
            .as_ref()
            .map(|source| Error::EdgeStopped {
                leader: self.shared.leader.clone(),
                follower: P::NAME.to_owned(),
                source: Arc::clone(source),
            })
    }
}

impl<S: ViewStore, P: Projection<S>> ProjectionRunner<S, P> {
    fn halt(&mut self) {
        self.shared.stop.stop();
        self.shared.ended.stop();
        if let Some(s) = lock(&self.shared.subscription).as_ref() {
            s.stop();
        }
        if let Some(thread) = self.thread.take() {
            // The thread catches the projection's panics; a join error is a bug of the runner.
            if thread.join().is_err() {
                tracing::error!(
                    target: "eventsourcing::projection",
                    projection = P::NAME,
                    "the projection's thread panicked"
                );
            }
        }
    }
}

impl<S: ViewStore, P: Projection<S>> Drop for ProjectionRunner<S, P> {
    fn drop(&mut self) {
        self.halt();
    }
}

impl<S: ViewStore, P: Projection<S>> Shared<S, P> {
    /// The thread: follows until stopped, retrying operational errors, ending at any other.
    fn run(&self, subscription: Subscription) {
        let waker = Waker::new();
        self.stop.register(&waker);
        let mut backoff = MIN_BACKOFF;
        let mut first = Some(subscription);
        while !self.stop.is_stopped() {
            let error = match self.follow(first.take()) {
                Ok(()) => break,
                Err(e) => e,
            };
            if error.is_tracking_conflict() {
                lock(&self.status).conflicts += 1;
                continue;
            }
            if is_transient(&error) {
                let first = lock(&self.status)
                    .retrying
                    .replace(error.report().to_string());
                if first.is_none() {
                    tracing::warn!(
                        target: "eventsourcing::projection",
                        projection = P::NAME,
                        leader = %self.leader,
                        error = %error.report(),
                        "the projection cannot proceed; retrying with back-off"
                    );
                }
                waker.wait(Some(backoff));
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            tracing::error!(
                target: "eventsourcing::projection",
                projection = P::NAME,
                leader = %self.leader,
                error = %error.report(),
                "the projection stopped"
            );
            lock(&self.status).failed = Some(Arc::new(error));
            self.ended.stop();
            return;
        }
    }

    /// Subscribes after the view's position and applies batches until stopped (`Ok`) or an
    /// error.
    fn follow(&self, subscription: Option<Subscription>) -> Result<()> {
        let mut subscription = match subscription {
            Some(s) => s,
            None => {
                let position = self.store.max_tracking_id(&self.leader)?;
                let recorder = self.upstream.application().recorder();
                let s = recorder.subscribe(position, &[])?;
                *lock(&self.subscription) = Some(s.stop_handle());
                s
            }
        };
        if self.stop.is_stopped() {
            return Ok(());
        }
        while let Some(first) = subscription.next() {
            let mut batch = vec![first?];
            batch.extend(subscription.take_buffered(self.batch - 1));
            self.apply(&batch)?;
            let mut status = lock(&self.status);
            status.last_processed = Some(SystemTime::now());
            if status.retrying.take().is_some() {
                tracing::warn!(
                    target: "eventsourcing::projection",
                    projection = P::NAME,
                    leader = %self.leader,
                    "the projection proceeds again"
                );
            }
        }
        Ok(())
    }

    /// Applies `batch` in one transaction; when that fails for a reason other than the store
    /// (a projection's error), one notification at a time, so the failing one is isolated.
    fn apply(&self, batch: &[Notification]) -> Result<()> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let tracking = Tracking::batch(&self.leader, first.id, last.id);
        let error = match self.transact(&tracking, batch) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if batch.len() == 1 || error.is_tracking_conflict() || is_transient(&error) {
            return Err(error);
        }
        tracing::debug!(
            target: "eventsourcing::projection",
            projection = P::NAME,
            first = first.id,
            last = last.id,
            error = %error.report(),
            "a batch failed; applying its notifications one at a time"
        );
        for n in batch {
            self.transact(&Tracking::new(&self.leader, n.id), std::slice::from_ref(n))?;
        }
        Ok(())
    }

    fn transact(&self, tracking: &Tracking, batch: &[Notification]) -> Result<()> {
        let mapper = self.upstream.application().mapper();
        self.store.transact(tracking, |tx| {
            for notification in batch {
                let received = Received {
                    leader: &self.leader,
                    notification,
                    mapper,
                };
                let outcome = match self.follows.as_ref().map(|f| f.check(notification)) {
                    Some(Ok(TopicCheck::Foreign)) => Ok(()),
                    Some(Err(e)) => Err(e),
                    Some(Ok(TopicCheck::Known)) | None => {
                        catch_panic(|| self.projection.process(&received, tx)).and_then(|r| r)
                    }
                };
                outcome.map_err(|source| match source {
                    e if e.is_operational() => e,
                    source => Error::Processing {
                        application: P::NAME.to_owned(),
                        leader: self.leader.clone(),
                        notification_id: notification.id,
                        source: Box::new(source),
                    },
                })?;
            }
            Ok(())
        })
    }
}
