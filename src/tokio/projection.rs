//! [`AsyncProjectionRunner`]: a projection runner for async code.

use std::sync::Arc;
use std::time::Duration;

use super::blocking;
use crate::Result;
use crate::persistence::{NotificationId, ViewStore};
use crate::system::{Projection, ProjectionHealth, ProjectionOptions, ProjectionRunner, Upstream};

/// A [`ProjectionRunner`] for async code: a cheap, cloneable handle whose calls run on tokio's
/// blocking pool (the projection itself runs on the runner's own thread, as in sync code).
/// Read the view with [`read`](Self::read); wait for a save with [`wait`](Self::wait)
/// (read-your-writes). Dropping the last handle stops the runner, as dropping the runner does.
///
/// ```
/// # use es_testkit::apps::domain::{Dog, DogEvent};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// use eventsourcing::popo::MemoryView;
/// use eventsourcing::system::{Projection, Received};
/// use eventsourcing::tokio::AsyncProjectionRunner;
/// use eventsourcing::{ApplicationBuilder, Result};
///
/// /// Registrations, counted in memory.
/// struct Registered;
///
/// impl Projection<MemoryView<u64>> for Registered {
///     const NAME: &'static str = "registered";
///
///     fn process(&self, event: &Received<'_>, count: &mut u64) -> Result<()> {
///         if let Some(DogEvent::Registered { .. }) = event.decode::<DogEvent>()? {
///             *count += 1;
///         }
///         Ok(())
///     }
/// }
///
/// # #[::tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventsourcing::Result<()> {
/// let school = Arc::new(ApplicationBuilder::new("DogSchool").without_process_env().build()?);
/// let view = Arc::new(MemoryView::new(0_u64));
/// let runner = AsyncProjectionRunner::start(Arc::clone(&school), Registered, view).await?;
/// let mut dog = Dog::register("Fido");
/// let last = school.save(&mut dog)?.last().map_or(0, |r| r.notification_id);
/// runner.wait(last, Duration::from_secs(10)).await?;
/// assert_eq!(runner.read(|view| Ok(*view.get())).await?, 1);
/// runner.stop().await?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncProjectionRunner<S: ViewStore, P: Projection<S>>(Arc<ProjectionRunner<S, P>>);

impl<S: ViewStore, P: Projection<S>> Clone for AsyncProjectionRunner<S, P> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S: ViewStore, P: Projection<S>> std::fmt::Debug for AsyncProjectionRunner<S, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AsyncProjectionRunner")
            .field(&self.0)
            .finish()
    }
}

impl<S: ViewStore + Send + Sync, P: Projection<S>> AsyncProjectionRunner<S, P> {
    /// Creates the view and starts following `upstream` (on the blocking pool: it reads the
    /// view's position and subscribes).
    ///
    /// # Errors
    ///
    /// As [`ProjectionRunner::start`].
    pub async fn start<U: Upstream>(
        upstream: Arc<U>,
        projection: P,
        store: Arc<S>,
    ) -> Result<Self> {
        Self::start_with(upstream, projection, store, ProjectionOptions::default()).await
    }

    /// As [`start`](Self::start), with `options`.
    ///
    /// # Errors
    ///
    /// As [`ProjectionRunner::start_with`].
    pub async fn start_with<U: Upstream>(
        upstream: Arc<U>,
        projection: P,
        store: Arc<S>,
        options: ProjectionOptions,
    ) -> Result<Self> {
        blocking(move || ProjectionRunner::start_with(upstream, projection, store, options))
            .await
            .map(Self::new)
    }

    /// A handle on a started `runner`.
    pub fn new(runner: ProjectionRunner<S, P>) -> Self {
        Self(Arc::new(runner))
    }

    /// The runner itself, for its sync API.
    pub fn runner(&self) -> &Arc<ProjectionRunner<S, P>> {
        &self.0
    }

    /// Waits until the view has processed the upstream up to `notification_id`, for at most
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// As [`ProjectionRunner::wait`].
    pub async fn wait(&self, notification_id: NotificationId, timeout: Duration) -> Result<()> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.wait(notification_id, timeout)).await
    }

    /// Runs `f` on the view's store, on the blocking pool: how a handler reads the view.
    ///
    /// # Errors
    ///
    /// `f`'s error.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&S) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let runner = Arc::clone(&self.0);
        blocking(move || f(runner.store())).await
    }

    /// Positions, lag and state.
    ///
    /// # Errors
    ///
    /// As [`ProjectionRunner::health`].
    pub async fn health(&self) -> Result<ProjectionHealth> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.health()).await
    }

    /// Stops the runner and joins its thread.
    ///
    /// # Errors
    ///
    /// As [`ProjectionRunner::stop`].
    pub async fn stop(&self) -> Result<()> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.stop()).await
    }
}
