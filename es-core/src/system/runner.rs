//! [`Runner`]: what both runners offer, so code and tests can be generic over them.

use std::sync::Arc;
use std::time::Duration;

use super::parked::Parked;
use super::{App, AppFactory, EdgeHealth, MultiThreadedRunner, SingleThreadedRunner, System};
use crate::{Env, NotificationId, Result};

/// A runner of a [`System`]: [`SingleThreadedRunner`] processes in the leader's save,
/// [`MultiThreadedRunner`] on a thread per edge. Code written against this trait runs on both:
///
/// ```
/// # use std::time::Duration;
/// # use es_core::system::{App, Runner};
/// # use es_core::Result;
/// fn caught_up<R: Runner, Leader: App, Follower: App>(runner: &R) -> Result<()> {
///     let leader = runner.get::<Leader>()?;
///     let last = leader.application().recorder().max_notification_id()?.unwrap_or(0);
///     runner.wait::<Follower>(Leader::NAME, last, Duration::from_secs(5))
/// }
/// ```
pub trait Runner: Send + Sync {
    /// A runner of `system` whose applications `factory` opens with `env`, renamed after each
    /// (the facade's `RunnerFromEnv` opens them from the process environment).
    fn new(system: System, env: Env, factory: AppFactory) -> Self
    where
        Self: Sized;

    /// Opens the applications and starts processing.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerAlreadyStarted`](crate::Error::RunnerAlreadyStarted); errors opening the
    /// applications; see each runner.
    fn start(&self) -> Result<()>;

    /// Stops processing and closes the applications. Stopping a stopped runner does nothing.
    ///
    /// # Errors
    ///
    /// See each runner.
    fn stop(&self) -> Result<()>;

    /// The started application of type `T`.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`](crate::Error::RunnerNotStarted);
    /// [`Error::Programming`](crate::Error::Programming) when `T` is not in the system.
    fn get<T: App>(&self) -> Result<Arc<T>>
    where
        Self: Sized;

    /// Blocks until follower `F` has processed `leader` up to `notification_id`.
    ///
    /// # Errors
    ///
    /// [`Error::EdgeStopped`](crate::Error::EdgeStopped) at once when the edge stopped at an
    /// error; [`Error::Timeout`](crate::Error::Timeout) after `timeout`;
    /// [`Error::RunnerNotStarted`](crate::Error::RunnerNotStarted).
    fn wait<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        timeout: Duration,
    ) -> Result<()>
    where
        Self: Sized;

    /// The health of every edge.
    ///
    /// # Errors
    ///
    /// [`Error::RunnerNotStarted`](crate::Error::RunnerNotStarted) only.
    fn health(&self) -> Result<Vec<EdgeHealth>>;

    /// Parks the notification of `leader` that follower `F` is stopped on: see each runner.
    ///
    /// # Errors
    ///
    /// See each runner.
    fn park<F: App>(&self, leader: &str, reason: &str) -> Result<NotificationId>
    where
        Self: Sized;

    /// Every notification `F` has parked.
    ///
    /// # Errors
    ///
    /// See each runner.
    fn parked<F: App>(&self) -> Result<Vec<Parked>>
    where
        Self: Sized;

    /// Processes a parked notification through `F`'s policy, once.
    ///
    /// # Errors
    ///
    /// See each runner.
    fn retry_parked<F: App>(&self, leader: &str, notification_id: NotificationId) -> Result<()>
    where
        Self: Sized;

    /// Gives up a parked notification for good.
    ///
    /// # Errors
    ///
    /// See each runner.
    fn drop_parked<F: App>(
        &self,
        leader: &str,
        notification_id: NotificationId,
        reason: &str,
    ) -> Result<()>
    where
        Self: Sized;

    /// The system it runs.
    fn system(&self) -> &System;
}

macro_rules! delegate {
    ($runner:ty) => {
        impl Runner for $runner {
            fn new(system: System, env: Env, factory: AppFactory) -> Self {
                <$runner>::new(system, env, factory)
            }
            fn start(&self) -> Result<()> {
                <$runner>::start(self)
            }
            fn stop(&self) -> Result<()> {
                <$runner>::stop(self)
            }
            fn get<T: App>(&self) -> Result<Arc<T>> {
                <$runner>::get(self)
            }
            fn wait<F: App>(
                &self,
                leader: &str,
                notification_id: NotificationId,
                timeout: Duration,
            ) -> Result<()> {
                <$runner>::wait::<F>(self, leader, notification_id, timeout)
            }
            fn health(&self) -> Result<Vec<EdgeHealth>> {
                <$runner>::health(self)
            }
            fn park<F: App>(&self, leader: &str, reason: &str) -> Result<NotificationId> {
                <$runner>::park::<F>(self, leader, reason)
            }
            fn parked<F: App>(&self) -> Result<Vec<Parked>> {
                <$runner>::parked::<F>(self)
            }
            fn retry_parked<F: App>(
                &self,
                leader: &str,
                notification_id: NotificationId,
            ) -> Result<()> {
                <$runner>::retry_parked::<F>(self, leader, notification_id)
            }
            fn drop_parked<F: App>(
                &self,
                leader: &str,
                notification_id: NotificationId,
                reason: &str,
            ) -> Result<()> {
                <$runner>::drop_parked::<F>(self, leader, notification_id, reason)
            }
            fn system(&self) -> &System {
                &self.system
            }
        }
    };
}

delegate!(SingleThreadedRunner);
delegate!(MultiThreadedRunner);
