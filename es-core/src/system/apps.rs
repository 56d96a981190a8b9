//! [`Apps`]: the applications a runner has started.

use std::sync::Arc;
use std::time::Duration;

use crate::{Env, Error, NotificationId, Result};

use super::{App, AppFactory, NodeApp, System, downcast};

/// Started applications, in system order, and the edges between them by index.
pub(crate) struct Apps {
    pub(crate) names: Vec<&'static str>,
    pub(crate) apps: Vec<Arc<dyn NodeApp>>,
    pub(crate) edges: Vec<(usize, usize)>,
}

impl Apps {
    /// Opens every application of `system` with `env` renamed after it.
    pub(crate) fn start(system: &System, env: &Env, factory: &AppFactory) -> Result<Self> {
        let mut apps = Vec::with_capacity(system.nodes.len());
        for node in &system.nodes {
            let application = factory(env.renamed(node.name))?;
            apps.push((node.build)(application)?);
        }
        Ok(Self {
            names: system.nodes.iter().map(|n| n.name).collect(),
            apps,
            edges: system.edges.clone(),
        })
    }

    /// The started application of type `T`.
    pub(crate) fn get<T: App>(&self) -> Result<Arc<T>> {
        self.apps
            .iter()
            .find_map(|a| downcast::<T>(a.as_ref()))
            .ok_or_else(|| Error::programming(format!("{} is not in the system", T::NAME)))
    }

    fn index(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| Error::programming(format!("{name} is not in the system")))
    }

    /// Blocks until `follower` has processed `leader` up to `notification_id`.
    pub(crate) fn wait(
        &self,
        follower: &str,
        leader: &str,
        notification_id: NotificationId,
        timeout: Duration,
    ) -> Result<()> {
        self.index(leader)?;
        let f = self.index(follower)?;
        self.apps[f]
            .application()
            .recorder()
            .wait(leader, notification_id, timeout, None)
    }

    /// The followers of application `leader`.
    pub(crate) fn followers_of(&self, leader: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |e| e.0 == leader)
            .map(|e| e.1)
    }

    /// Detaches the runner from the applications.
    pub(crate) fn close(&self) {
        for app in &self.apps {
            app.application().clear_listeners();
        }
    }
}
