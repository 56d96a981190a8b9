//! Systems of applications and the runners that run them, opened from the environment: process
//! applications follow other applications' notification logs and record their new events
//! together with a tracking record, so each notification is processed exactly once.

use std::marker::PhantomData;
use std::sync::Arc;

use es_core::application::Application;
#[doc(inline)]
pub use es_core::system::{
    App, AppFactory, DEFAULT_FOLLOWER_CACHE, DEFAULT_LEASE_TTL, DEFAULT_PROCESSING_BATCH,
    EdgeHealth, EdgeState, MultiThreadedRunner, ProcessApplication, Processing, Projection,
    ProjectionHealth, ProjectionOptions, ProjectionRunner, Received, Runner, SingleThreadedRunner,
    System, SystemBuilder, Upstream, parked, process_notification, process_notifications,
};
use es_core::{Env, Result};

use crate::backends::open_recorders;

/// The factory runners use to open applications: the backend `PERSISTENCE_MODULE` names in
/// each application's env (`IS_SNAPSHOTTING_ENABLED` adds a snapshot store).
pub fn app_factory() -> AppFactory {
    Arc::new(|env: Env| -> Result<Application> {
        let recorders = open_recorders(&env, false)?;
        Application::new(env, recorders)
    })
}

/// Runners opened from the environment, as the Python library's `runner_class(system, env=...)`:
/// implemented for every [`Runner`].
///
/// ```
/// use eventsourcing::system::{RunnerFromEnv, SingleThreadedRunner, System};
///
/// let system = System::builder().build()?;
/// // The process environment:
/// let runner = SingleThreadedRunner::from_env(system.clone());
/// // The process environment with overrides, app-prefixed keys first:
/// let runner = SingleThreadedRunner::builder(system)
///     .var("PERSISTENCE_MODULE", "popo")
///     .build();
/// # Ok::<(), eventsourcing::Error>(())
/// ```
pub trait RunnerFromEnv: Runner + Sized {
    /// A runner of `system` whose applications read the process environment
    /// (`DOGSCHOOL_SQLITE_DBNAME`, then `SQLITE_DBNAME`).
    fn from_env(system: System) -> Self {
        Self::builder(system).build()
    }

    /// A runner of `system` whose applications read exactly `env` (renamed after each).
    fn with_env(system: System, env: Env) -> Self {
        Self::new(system, env, app_factory())
    }

    /// A builder: the process environment with overrides.
    fn builder(system: System) -> RunnerBuilder<Self> {
        RunnerBuilder {
            system,
            env: Env::from_process(""),
            factory: None,
            runner: PhantomData,
        }
    }
}

impl<R: Runner> RunnerFromEnv for R {}

/// Builds a runner: see [`RunnerFromEnv::builder`].
#[must_use = "a builder does nothing until `build`"]
pub struct RunnerBuilder<R> {
    system: System,
    env: Env,
    factory: Option<AppFactory>,
    runner: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for RunnerBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerBuilder")
            .field("system", &self.system)
            .field("env", &self.env)
            .field("factory", &self.factory.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl<R: Runner> RunnerBuilder<R> {
    /// Sets `key` (plain, as `SQLITE_DBNAME`, or app-prefixed, as `DOGSCHOOL_SQLITE_DBNAME`)
    /// over the process environment.
    pub fn var(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env = self.env.with(key, value);
        self
    }

    /// Sets every `(key, value)` of `vars`, as [`var`](Self::var).
    pub fn vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = self.env.with_all(vars);
        self
    }

    /// Reads exactly `env` instead of the process environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Opens the applications with `factory` instead of the backends'.
    pub fn factory(mut self, factory: AppFactory) -> Self {
        self.factory = Some(factory);
        self
    }

    /// The runner (not started).
    pub fn build(self) -> R {
        R::new(
            self.system,
            self.env,
            self.factory.unwrap_or_else(app_factory),
        )
    }
}
