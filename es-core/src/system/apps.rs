//! [`Apps`]: the applications a runner has started.

use crate::{Env, Error, NotificationId, Result};
use std::sync::Arc;

use super::{App, AppFactory, NodeApp, System, downcast, follow, parked};

/// Started applications, in system order, and the edges between them by index.
pub(crate) struct Apps {
    pub(crate) names: Vec<&'static str>,
    pub(crate) apps: Vec<Arc<dyn NodeApp>>,
    pub(crate) edges: Vec<(usize, usize)>,
    /// Each application's `PROCESSING_BATCH`: the most notifications it processes in one
    /// transaction.
    pub(crate) batches: Vec<usize>,
    /// Each application's `PARK_PERMANENT_ERRORS`: park a notification whose policy failed
    /// with [`Error::permanent`] and go on.
    pub(crate) park_permanent: Vec<bool>,
}

/// The most notifications a follower processes in one transaction unless its
/// `PROCESSING_BATCH` says otherwise: a subscription's page
/// ([`SUBSCRIPTION_BATCH_SIZE`](crate::persistence::SUBSCRIPTION_BATCH_SIZE)). A batch only
/// takes what is already there (a backlog, a burst), so it adds no latency; on PostgreSQL a
/// batch has a fixed cost of about 2 ms (its commit, and a fast-forward read for each
/// aggregate it loads from the cache), which 500 notifications spread thinly.
pub const DEFAULT_PROCESSING_BATCH: usize = 500;

/// The aggregate cache of a follower (its `AGGREGATE_CACHE_MAXSIZE`) unless that is set:
/// processing gets the aggregates its policy changes often (a counter) from memory,
/// fast-forwarded from the store, instead of replaying them. An empty
/// `AGGREGATE_CACHE_MAXSIZE` turns the cache off.
pub const DEFAULT_FOLLOWER_CACHE: usize = 1_000;

/// `PROCESSING_BATCH` of `env`: above 0, [`DEFAULT_PROCESSING_BATCH`] when unset.
pub(crate) fn processing_batch(env: &Env) -> Result<usize> {
    match env.parse::<usize>("PROCESSING_BATCH")? {
        None => Ok(DEFAULT_PROCESSING_BATCH),
        Some(0) => Err(Error::config(
            env.lookup("PROCESSING_BATCH")
                .map(|(key, _)| key)
                .unwrap_or_default(),
            "expected an integer above 0 (1 processes one notification per transaction)",
        )),
        Some(n) => Ok(n),
    }
}

impl Apps {
    /// Opens every application of `system` with `env` renamed after it.
    pub(crate) fn start(system: &System, env: &Env, factory: &AppFactory) -> Result<Self> {
        let mut apps = Vec::with_capacity(system.nodes.len());
        let mut batches = Vec::with_capacity(system.nodes.len());
        let mut park_permanent = Vec::with_capacity(system.nodes.len());
        for (i, node) in system.nodes.iter().enumerate() {
            let mut env = env.renamed(node.name);
            let follows = system.edges.iter().any(|&(_, f)| f == i);
            if follows && env.lookup("AGGREGATE_CACHE_MAXSIZE").is_none() {
                env = env.with(
                    "AGGREGATE_CACHE_MAXSIZE",
                    DEFAULT_FOLLOWER_CACHE.to_string(),
                );
            }
            let application = factory(env)?;
            batches.push(processing_batch(application.env())?);
            park_permanent.push(application.env().flag("PARK_PERMANENT_ERRORS", false)?);
            apps.push((node.build)(application)?);
        }
        Ok(Self {
            names: system.nodes.iter().map(|n| n.name).collect(),
            apps,
            edges: system.edges.clone(),
            batches,
            park_permanent,
        })
    }

    /// The started application of type `T`.
    pub(crate) fn get<T: App>(&self) -> Result<Arc<T>> {
        self.apps
            .iter()
            .find_map(|a| downcast::<T>(a.as_ref()))
            .ok_or_else(|| Error::programming(format!("{} is not in the system", T::NAME)))
    }

    pub(crate) fn index(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| Error::programming(format!("{name} is not in the system")))
    }

    /// The edge from `leader` to `follower`, by name.
    pub(crate) fn edge(&self, follower: &str, leader: &str) -> Result<usize> {
        let (l, f) = (self.index(leader)?, self.index(follower)?);
        self.edges
            .iter()
            .position(|e| *e == (l, f))
            .ok_or_else(|| Error::programming(format!("{follower} does not follow {leader}")))
    }

    /// Parks the notification `edge` is stopped on (see [`parked::park`]).
    pub(crate) fn park(&self, edge: usize, reason: &str) -> Result<NotificationId> {
        let (l, f) = self.edges[edge];
        let log = self.apps[l].application().recorder();
        parked::park(self.apps[f].application(), self.names[l], &**log, reason)
    }

    /// When `edge`'s follower parks permanent errors and `error` is one: parks the
    /// notification it failed at (the next unprocessed one) with the error as the reason and
    /// returns true, so the edge goes on.
    pub(crate) fn park_if_permanent(&self, edge: usize, error: &Error) -> bool {
        let (_, f) = self.edges[edge];
        if !(self.park_permanent[f] && error.is_permanent()) {
            return false;
        }
        let reason = error.report().to_string();
        match self.park(edge, &reason) {
            Ok(_) => true,
            Err(e) => {
                let (leader, follower) = self.edge_names(edge);
                tracing::error!(target: "eventsourcing::runner", leader, follower, error = %e.report(), "cannot park the notification of a permanent error");
                false
            }
        }
    }

    /// Retries a parked notification of `edge` through its follower's policy.
    pub(crate) fn retry_parked(&self, edge: usize, notification_id: NotificationId) -> Result<()> {
        let (l, f) = self.edges[edge];
        follow::retry_parked(
            self.apps[f].as_ref(),
            self.names[l],
            self.apps[l].as_ref(),
            notification_id,
        )
    }

    /// Performs the retries an operator asked for on `edge` ([`parked::request_retry`]);
    /// logs each that fails (it stays requested) and returns how many succeeded.
    pub(crate) fn retry_requested(&self, edge: usize) -> usize {
        let (l, f) = self.edges[edge];
        let (leader, follower) = (self.names[l], self.names[f]);
        let requested = match parked::parked(self.apps[f].application()) {
            Ok(all) => all,
            Err(e) => {
                tracing::error!(target: "eventsourcing::runner", leader, follower, error = %e.report(), "cannot list parked notifications");
                return 0;
            }
        };
        let mut retried = 0;
        for p in requested
            .iter()
            .filter(|p| p.leader == leader && p.status == parked::ParkedStatus::RetryRequested)
        {
            match self.retry_parked(edge, p.notification_id) {
                Ok(()) => retried += 1,
                Err(e) => tracing::error!(
                    target: "eventsourcing::runner",
                    leader,
                    follower,
                    notification_id = p.notification_id,
                    error = %e.report(),
                    "a requested retry of a parked notification failed: it stays parked"
                ),
            }
        }
        retried
    }

    /// The names of `edge`'s leader and follower.
    pub(crate) fn edge_names(&self, edge: usize) -> (&'static str, &'static str) {
        let (l, f) = self.edges.get(edge).copied().unwrap_or_default();
        (
            self.names.get(l).copied().unwrap_or_default(),
            self.names.get(f).copied().unwrap_or_default(),
        )
    }

    /// [`Error::EdgeStopped`] for `edge`, which failed at `error`.
    pub(crate) fn edge_stopped(&self, edge: usize, error: Arc<Error>) -> Error {
        let (leader, follower) = self.edge_names(edge);
        Error::EdgeStopped {
            leader: leader.to_owned(),
            follower: follower.to_owned(),
            source: error,
        }
    }

    /// Detaches the runner from the applications.
    pub(crate) fn close(&self) {
        for app in &self.apps {
            app.application().clear_listeners();
        }
    }
}
