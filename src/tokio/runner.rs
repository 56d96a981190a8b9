//! [`AsyncRunner`]: a runner for async code.

use std::sync::Arc;
use std::time::Duration;

use super::{AsyncApp, blocking};
use crate::Result;
use crate::persistence::NotificationId;
use crate::system::{App, EdgeHealth, Runner};

/// A runner for async code: a cheap, cloneable handle whose calls run on tokio's blocking
/// pool. The followers' policies still run on the runner's own threads (they stay sync).
///
/// ```
/// # use es_testkit::apps::domain::Dog;
/// use eventsourcing::app;
/// use eventsourcing::system::{RunnerFromEnv, SingleThreadedRunner, System};
/// use eventsourcing::tokio::AsyncRunner;
///
/// app!(pub struct DogSchool);
///
/// # #[::tokio::main(flavor = "current_thread")]
/// # async fn main() -> eventsourcing::Result<()> {
/// let system = System::builder().app::<DogSchool>().build()?;
/// let runner = AsyncRunner::new(SingleThreadedRunner::builder(system).build());
/// runner.start().await?;
/// let school = runner.get::<DogSchool>()?;
/// let mut dog = Dog::register("Fido");
/// school.save(&mut dog).await?;
/// assert_eq!(school.get::<Dog>(dog.id()).await?.name, "Fido");
/// runner.stop().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncRunner<R>(Arc<R>);

impl<R> Clone for AsyncRunner<R> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<R: Runner + 'static> AsyncRunner<R> {
    /// A handle on `runner`.
    pub fn new(runner: R) -> Self {
        Self(Arc::new(runner))
    }

    /// The runner itself, for its sync API.
    pub fn runner(&self) -> &Arc<R> {
        &self.0
    }

    /// Starts the runner (opens its applications, catches its followers up).
    ///
    /// # Errors
    ///
    /// As [`Runner::start`].
    pub async fn start(&self) -> Result<()> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.start()).await
    }

    /// Stops the runner.
    ///
    /// # Errors
    ///
    /// As [`Runner::stop`].
    pub async fn stop(&self) -> Result<()> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.stop()).await
    }

    /// The running application `T`.
    ///
    /// # Errors
    ///
    /// As [`Runner::get`].
    pub fn get<T: App>(&self) -> Result<AsyncApp<T>> {
        self.0.get::<T>().map(AsyncApp::new)
    }

    /// Waits until follower `F` has processed `leader`'s notification `notification_id`
    /// (read-your-writes after a save), for at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`Runner::wait`].
    pub async fn wait<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        timeout: Duration,
    ) -> Result<()> {
        let runner = Arc::clone(&self.0);
        let leader = leader.to_owned();
        blocking(move || runner.wait::<F>(&leader, notification_id, timeout)).await
    }

    /// The health of every edge.
    ///
    /// # Errors
    ///
    /// As [`Runner::health`].
    pub async fn health(&self) -> Result<Vec<EdgeHealth>> {
        let runner = Arc::clone(&self.0);
        blocking(move || runner.health()).await
    }
}
