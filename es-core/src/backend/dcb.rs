//! [`DcbBackend`]: one DCB log in a backend, and the [`DcbRecorder`] every such backend gets
//! from it ([`Recorder`]`<B, kind::Dcb>`), with the checks and the subscription written once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::recorder::kind;
use super::{DEFAULT_MAX_STATE_SIZE, Recorder};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::persistence::dcb::{
    DCB_SUBSCRIPTION_BATCH_SIZE, DcbAppendCondition, DcbEvent, DcbQuery, DcbRead, DcbRecorder,
    DcbSubscription, Position,
};
use crate::persistence::wake::Notifier;

/// One DCB log in a backend. The methods carry the contract of [`DcbRecorder`]'s methods of the
/// same names; [`Recorder`]`<Self, kind::Dcb>` implements [`DcbRecorder`] from them, having
/// refused empty appends and oversized data before `append` is called.
pub trait DcbBackend: Send + Sync + fmt::Debug + 'static {
    /// As [`DcbRecorder::read`].
    ///
    /// # Errors
    ///
    /// As that method.
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead>;

    /// As [`DcbRecorder::append`], with at least one event, each within
    /// [`max_state_size`](Self::max_state_size). Notifies
    /// [`events_notifier`](Self::events_notifier) after the commit.
    ///
    /// # Errors
    ///
    /// As that method.
    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position>;

    /// As [`DcbRecorder::head`].
    ///
    /// # Errors
    ///
    /// As that method.
    fn head(&self) -> Result<Option<Position>>;

    /// Notified after each append through this process.
    fn events_notifier(&self) -> &Notifier;

    /// How often idle subscriptions read for appends no notifier reports (other processes).
    fn poll_interval(&self) -> Option<Duration> {
        None
    }

    /// The largest event data this log accepts (`MAX_STATE_SIZE`).
    fn max_state_size(&self) -> usize {
        DEFAULT_MAX_STATE_SIZE
    }

    /// Runs before each subscription starts (PostgreSQL starts its LISTEN thread here).
    ///
    /// # Errors
    ///
    /// What stops the subscription from starting.
    fn prepare_subscription(self: &Arc<Self>) -> Result<()> {
        Ok(())
    }
}

/// A DCB backend that opens one application's log from a configuration. It gives its recorders
/// [`Recorder::new`] and [`Recorder::from_env`].
pub trait OpenDcbBackend: DcbBackend + Sized {
    /// The backend's configuration (`SqliteConfig`, `PostgresConfig`).
    type Config;

    /// Opens (creating its tables unless configured not to) the DCB log of application
    /// `app_name`.
    ///
    /// # Errors
    ///
    /// The backend's errors of opening and creating.
    fn open(config: &Self::Config, app_name: &str) -> Result<Arc<Self>>;

    /// The configuration from an application's settings.
    ///
    /// # Errors
    ///
    /// A typed error naming the setting that is wrong or missing.
    fn config_from_env(env: &Env) -> Result<Self::Config>;
}

impl<B: OpenDcbBackend> Recorder<B, kind::Dcb> {
    /// Opens the DCB log of application `app_name` with `config`, creating its tables unless
    /// the configuration says not to.
    ///
    /// # Errors
    ///
    /// As the backend's [`OpenDcbBackend::open`].
    pub fn new(config: &B::Config, app_name: &str) -> Result<Self> {
        B::open(config, app_name).map(Self::from_backend)
    }

    /// As [`new`](Self::new), with the settings and name of `env`.
    ///
    /// # Errors
    ///
    /// As [`OpenDcbBackend::config_from_env`] and [`new`](Self::new).
    pub fn from_env(env: &Env) -> Result<Self> {
        Self::new(&B::config_from_env(env)?, env.name())
    }
}

impl<B: fmt::Debug> fmt::Debug for Recorder<B, kind::Dcb> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("kind", &"Dcb")
            .field("backend", self.backend())
            .finish()
    }
}

impl<B: DcbBackend> DcbRecorder for Recorder<B, kind::Dcb> {
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        self.backend().read(query, after, limit)
    }

    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        if events.is_empty() {
            return Err(Error::programming("a DCB append needs at least one event"));
        }
        let max = self.backend().max_state_size();
        if let Some(e) = events.iter().find(|e| e.data.len() > max) {
            return Err(Error::PayloadTooLarge {
                size: e.data.len(),
                max,
            });
        }
        self.backend().append(events, condition)
    }

    fn subscribe(&self, query: &DcbQuery, after: Option<Position>) -> Result<DcbSubscription> {
        let backend = self.backend();
        backend.prepare_subscription()?;
        let source = Arc::clone(backend);
        let read = move |q: &DcbQuery, after: Option<Position>| {
            source
                .read(q, after, Some(DCB_SUBSCRIPTION_BATCH_SIZE))
                .map(|r| r.events)
        };
        let sub =
            DcbSubscription::new(read, query.clone(), after).woken_by(backend.events_notifier());
        Ok(match backend.poll_interval() {
            Some(interval) => sub.polling(interval),
            None => sub,
        })
    }

    fn head(&self) -> Result<Option<Position>> {
        self.backend().head()
    }
}
