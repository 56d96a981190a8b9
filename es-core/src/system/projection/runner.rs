//! [`ProjectionRunner`]: a thread that follows an upstream application and applies its
//! notifications to a view, batch by batch, each batch and its tracking record in one
//! transaction.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::domain::Topics;
use crate::persistence::wake::Waker;
use crate::sync::lock;
use crate::{Error, NotificationId, Result, StopHandle, TrackingRecorder, ViewStore};

use super::super::health::EdgeState;
use super::{Projection, ProjectionHealth, ProjectionOptions, Upstream};

/// The first pause after an operational error; it doubles up to [`MAX_BACKOFF`].
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest pause between attempts while the store or the upstream stays unreachable.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(2);

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
    thread: Mutex<Option<JoinHandle<()>>>,
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

pub(super) struct Shared<S: ViewStore, P: Projection<S>> {
    pub(super) upstream: Arc<dyn Upstream>,
    pub(super) leader: String,
    pub(super) projection: P,
    pub(super) follows: Option<Topics>,
    pub(super) store: Arc<S>,
    pub(super) batch: usize,
    /// Stopped by [`ProjectionRunner::stop`].
    pub(super) stop: StopHandle,
    /// Stopped by `stop` or by a failure: interrupts waits.
    pub(super) ended: StopHandle,
    /// The running subscription's stop handle.
    pub(super) subscription: Mutex<Option<StopHandle>>,
    pub(super) status: Mutex<Status>,
    pub(super) _store: PhantomData<fn() -> S>,
}

#[derive(Debug, Default)]
pub(super) struct Status {
    pub(super) last_processed: Option<SystemTime>,
    pub(super) retrying: Option<String>,
    pub(super) failed: Option<Arc<Error>>,
    pub(super) conflicts: u64,
    /// The last upstream notification this runner applied or found applied.
    pub(super) followed: Option<NotificationId>,
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
            status: Mutex::new(Status {
                followed: position,
                ..Status::default()
            }),
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
            thread: Mutex::new(Some(thread)),
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
    /// [`Error::Timeout`] (kind [`TimeoutKind::Wait`](crate::TimeoutKind::Wait)) after `timeout`; at once, the error
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

    /// Stops the runner and joins its thread; from any thread, also while others are in
    /// [`wait`](Self::wait) (which then returns [`Error::WaitInterrupted`]) or
    /// [`run_forever`](Self::run_forever) (which returns).
    ///
    /// # Errors
    ///
    /// The error that had stopped the projection, if any ([`Error::EdgeStopped`]).
    pub fn stop(&self) -> Result<()> {
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
            followed: status.followed,
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
    fn halt(&self) {
        self.shared.stop.stop();
        self.shared.ended.stop();
        if let Some(s) = lock(&self.shared.subscription).as_ref() {
            s.stop();
        }
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
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
