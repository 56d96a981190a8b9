//! [`Apps`]: the applications a runner has started.

use crate::{Env, Error, Result};
use std::sync::Arc;

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

    pub(crate) fn index(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| Error::programming(format!("{name} is not in the system")))
    }

    /// [`Error::EdgeStopped`] for `edge`, which failed at `error`.
    pub(crate) fn edge_stopped(&self, edge: usize, error: Arc<Error>) -> Error {
        let (l, f) = self.edges.get(edge).copied().unwrap_or_default();
        Error::EdgeStopped {
            leader: self.names.get(l).copied().unwrap_or_default().to_owned(),
            follower: self.names.get(f).copied().unwrap_or_default().to_owned(),
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
