//! [`ApplicationBuilder`]: an application from its name, env and snapshotting settings.

use es_core::application::Application;
use es_core::domain::Aggregate;
use es_core::{Env, Result};

use crate::backends::open_recorders;

/// Builds an [`Application`]: the env is the process environment (unless
/// [`without_process_env`](Self::without_process_env)) overlaid with the given variables; the
/// backend is the one `PERSISTENCE_MODULE` names.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = eventsourcing::ApplicationBuilder::new("DogSchool")
///     .without_process_env()
///     .var("PERSISTENCE_MODULE", "sqlite")
///     .var("SQLITE_DBNAME", ":memory:")
///     .build()?;
/// assert_eq!(app.name(), "DogSchool");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ApplicationBuilder {
    name: String,
    vars: Vec<(String, String)>,
    process_env: bool,
    intervals: Vec<(&'static str, u64)>,
}

impl ApplicationBuilder {
    /// An application named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            vars: Vec::new(),
            process_env: true,
            intervals: Vec::new(),
        }
    }

    /// Sets a variable, over the process environment.
    #[must_use]
    pub fn var(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.push((key.into(), value.into()));
        self
    }

    /// Sets variables, over the process environment.
    #[must_use]
    pub fn vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Ignores the process environment.
    #[must_use]
    pub fn without_process_env(mut self) -> Self {
        self.process_env = false;
        self
    }

    /// Snapshots aggregates of type `A` every `interval` versions (this opens a snapshot store).
    #[must_use]
    pub fn snapshotting_interval<A: Aggregate>(mut self, interval: u64) -> Self {
        self.intervals.push((A::NAME, interval));
        self
    }

    /// Sections of the notification log of `size` notifications (`LOG_SECTION_SIZE`; 10 by
    /// default, as the Python library's).
    #[must_use]
    pub fn log_section_size(self, size: usize) -> Self {
        self.var("LOG_SECTION_SIZE", size.to_string())
    }

    /// The env the application gets.
    pub fn env(&self) -> Env {
        let env = if self.process_env {
            Env::from_process(self.name.clone())
        } else {
            Env::new(self.name.clone())
        };
        env.with_all(self.vars.iter().cloned())
    }

    /// Opens the recorders and builds the application.
    ///
    /// # Errors
    ///
    /// Configuration and backend errors.
    pub fn build(self) -> Result<Application> {
        let env = self.env();
        let recorders = open_recorders(&env, !self.intervals.is_empty())?;
        let mut app = Application::new(env, recorders)?;
        for (name, interval) in self.intervals {
            app = app.with_snapshotting_interval_for(name, interval)?;
        }
        Ok(app)
    }
}
