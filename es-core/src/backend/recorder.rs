//! [`Recorder`]: the one recorder type, generic over a [`Backend`] and a [`kind`] of storage.
//! Each backend crate names its recorders as aliases of it (`SqliteProcessRecorder =
//! Recorder<SqliteBackend, kind::Process>`); the public recorder traits are implemented here,
//! once, for every backend.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::{Backend, insert};
use crate::env::Env;
use crate::error::Result;
use crate::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, Lease, LeaseRecorder, Notification,
    NotificationId, NotificationQuery, ProcessRecorder, StopHandle, StoredEvent, Subscription,
    Tracking, TrackingRecorder, wait_for_tracking,
};

/// The kinds of storage a [`Recorder`] has in its backend, as types.
pub mod kind {
    /// Which tables a recorder of a kind uses: what a backend opens for it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Tables {
        /// The snapshots table.
        Snapshots,
        /// The events table with its notification log.
        Events,
        /// The tracking table.
        Tracking,
        /// The events and tracking tables, written together.
        Process,
    }

    /// A kind of [`Recorder`](super::Recorder).
    pub trait Kind: Send + Sync + 'static {
        /// The tables of this kind.
        const TABLES: Tables;
    }

    /// Kinds that store events: [`AggregateRecorder`](crate::persistence::AggregateRecorder).
    pub trait StoresEvents: Kind {
        /// Whether inserts return notification ids (a snapshots table has none).
        const RETURNS_IDS: bool;
    }

    /// Kinds with a notification log:
    /// [`ApplicationRecorder`](crate::persistence::ApplicationRecorder).
    pub trait HasLog: StoresEvents {}

    /// Kinds with tracking records: [`TrackingRecorder`](crate::persistence::TrackingRecorder).
    pub trait HasTracking: Kind {}

    /// A snapshots table: an [`AggregateRecorder`](crate::persistence::AggregateRecorder)
    /// whose inserts return no ids.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Snapshots;

    /// An events table: an [`ApplicationRecorder`](crate::persistence::ApplicationRecorder).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Events;

    /// A tracking table: a [`TrackingRecorder`](crate::persistence::TrackingRecorder).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Tracking;

    /// Events and tracking together: a [`ProcessRecorder`](crate::persistence::ProcessRecorder)
    /// and a [`LeaseRecorder`](crate::persistence::LeaseRecorder).
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Process;

    /// A DCB log: a [`DcbRecorder`](crate::persistence::dcb::DcbRecorder) on a
    /// [`DcbBackend`](crate::backend::DcbBackend). Not a [`Kind`]: its tables are a DCB
    /// backend's own.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Dcb;

    impl Kind for Snapshots {
        const TABLES: Tables = Tables::Snapshots;
    }
    impl Kind for Events {
        const TABLES: Tables = Tables::Events;
    }
    impl Kind for Tracking {
        const TABLES: Tables = Tables::Tracking;
    }
    impl Kind for Process {
        const TABLES: Tables = Tables::Process;
    }
    impl StoresEvents for Snapshots {
        const RETURNS_IDS: bool = false;
    }
    impl StoresEvents for Events {
        const RETURNS_IDS: bool = true;
    }
    impl StoresEvents for Process {
        const RETURNS_IDS: bool = true;
    }
    impl HasLog for Events {}
    impl HasLog for Process {}
    impl HasTracking for Tracking {}
    impl HasTracking for Process {}
}

use kind::{HasLog, HasTracking, Kind, StoresEvents};

/// A backend that opens one application's storage from a configuration. It gives its
/// recorders [`Recorder::new`] and [`Recorder::from_env`].
pub trait OpenBackend: Backend + Sized {
    /// The backend's configuration (`SqliteConfig`, `PostgresConfig`).
    type Config;

    /// Opens (creating them unless configured not to) the `tables` of application `app_name`.
    ///
    /// # Errors
    ///
    /// The backend's errors of opening and creating.
    fn open(config: &Self::Config, app_name: &str, tables: kind::Tables) -> Result<Arc<Self>>;

    /// The configuration from an application's settings.
    ///
    /// # Errors
    ///
    /// A typed error naming the setting that is wrong or missing.
    fn config_from_env(env: &Env) -> Result<Self::Config>;
}

/// A recorder: a handle on one application's storage in backend `B`, of kind `K` ([`kind`]).
/// Clones share the backend. The recorder traits of its kind are implemented for every
/// backend, here; what is particular to a backend is reached through [`backend`](Self::backend).
pub struct Recorder<B, K> {
    backend: Arc<B>,
    kind: PhantomData<fn() -> K>,
}

impl<B, K> Recorder<B, K> {
    /// A recorder on `backend`.
    pub fn from_backend(backend: Arc<B>) -> Self {
        Self {
            backend,
            kind: PhantomData,
        }
    }

    /// The backend, for what is particular to it (a SQLite pragma, PostgreSQL's session
    /// settings).
    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }
}

impl<B: OpenBackend, K: Kind> Recorder<B, K> {
    /// Opens the tables of this kind of application `app_name` with `config`, creating them
    /// unless the configuration says not to.
    ///
    /// # Errors
    ///
    /// As the backend's [`OpenBackend::open`]: a typed error for an application name that is
    /// not a valid table prefix, connection errors, errors of creating the tables.
    pub fn new(config: &B::Config, app_name: &str) -> Result<Self> {
        B::open(config, app_name, K::TABLES).map(Self::from_backend)
    }

    /// As [`new`](Self::new), with the settings and name of `env`.
    ///
    /// # Errors
    ///
    /// As [`OpenBackend::config_from_env`] and [`new`](Self::new).
    pub fn from_env(env: &Env) -> Result<Self> {
        Self::new(&B::config_from_env(env)?, env.name())
    }
}

impl<B, K> Clone for Recorder<B, K> {
    fn clone(&self) -> Self {
        Self::from_backend(Arc::clone(&self.backend))
    }
}

impl<B: Default, K> Default for Recorder<B, K> {
    fn default() -> Self {
        Self::from_backend(Arc::default())
    }
}

impl<B: fmt::Debug, K: Kind> fmt::Debug for Recorder<B, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("kind", &K::TABLES)
            .field("backend", &self.backend)
            .finish()
    }
}

impl<B: Backend, K: StoresEvents> AggregateRecorder for Recorder<B, K> {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        let ids = insert(&*self.backend, events, None)?;
        Ok(if K::RETURNS_IDS { ids } else { Vec::new() })
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.backend.select_events(originator_id, query)
    }
}

impl<B: Backend, K: HasLog> ApplicationRecorder for Recorder<B, K> {
    fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        self.backend.select_notifications(query)
    }

    fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.backend.max_notification_id()
    }

    fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
        Backend::subscribe(&self.backend, gt, topics)
    }

    fn reads_ahead(&self) -> bool {
        self.backend.reads_ahead()
    }
}

impl<B: Backend, K: HasTracking> TrackingRecorder for Recorder<B, K> {
    fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
        self.backend.insert_tracking(tracking)
    }

    fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
        self.backend.max_tracking_id(application_name)
    }

    fn wait(
        &self,
        application_name: &str,
        notification_id: NotificationId,
        timeout: Duration,
        interrupt: Option<&StopHandle>,
    ) -> Result<()> {
        wait_for_tracking(
            self,
            application_name,
            notification_id,
            timeout,
            interrupt,
            Some(self.backend.tracking_notifier()),
        )
    }
}

impl<B: Backend> ProcessRecorder for Recorder<B, kind::Process> {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        insert(&*self.backend, events, Some(tracking))
    }
}

impl<B: Backend> LeaseRecorder for Recorder<B, kind::Process> {
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        self.backend.acquire_lease(name, holder, ttl)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        self.backend.release_lease(name, holder)
    }

    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        self.backend.leases(prefix)
    }
}
