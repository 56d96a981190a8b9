//! Systems of applications and the runners that run them, opened from the environment: process
//! applications follow other applications' notification logs and record their new events
//! together with a tracking record, so each notification is processed exactly once.

use std::sync::Arc;

use es_core::application::Application;
#[doc(inline)]
pub use es_core::system::{
    App, AppFactory, EdgeHealth, EdgeState, MultiThreadedRunner, Node, ProcessApplication,
    Processing, Received, SingleThreadedRunner, System,
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

/// Runners built from the environment, as the Python library's `runner_class(system, env=...)`.
pub trait RunnerFromEnv: Sized {
    /// A runner of `system` whose applications read the process environment overlaid with
    /// `vars`, app-prefixed keys first (`DOGSCHOOL_SQLITE_DBNAME`, then `SQLITE_DBNAME`).
    fn from_env<I, K, V>(system: System, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self::with_env(system, Env::from_process("").with_all(vars))
    }

    /// A runner of `system` whose applications read exactly `env` (renamed after each).
    fn with_env(system: System, env: Env) -> Self;
}

impl RunnerFromEnv for SingleThreadedRunner {
    fn with_env(system: System, env: Env) -> Self {
        Self::new(system, env, app_factory())
    }
}

impl RunnerFromEnv for MultiThreadedRunner {
    fn with_env(system: System, env: Env) -> Self {
        Self::new(system, env, app_factory())
    }
}
