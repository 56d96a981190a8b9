//! [`ProjectionOptions`] and [`ProjectionHealth`].

use std::time::SystemTime;

use crate::system::DEFAULT_PROCESSING_BATCH;
use crate::system::health::EdgeState;
use crate::{Env, NotificationId, Result};

#[allow(unused_imports)] // Linked from the docs.
use super::ProjectionRunner;

/// How a [`ProjectionRunner`] processes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectionOptions {
    /// The most notifications applied in one transaction (`PROCESSING_BATCH`, default
    /// [`DEFAULT_PROCESSING_BATCH`]); 1 commits each notification on its own.
    pub batch: usize,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        Self {
            batch: DEFAULT_PROCESSING_BATCH,
        }
    }
}

impl ProjectionOptions {
    /// The options `env` sets (named after the projection: `TRICKCOUNTS_PROCESSING_BATCH`,
    /// then `PROCESSING_BATCH`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) naming the setting when `PROCESSING_BATCH` is not an integer above 0.
    pub fn from_env(env: &Env) -> Result<Self> {
        Ok(Self {
            batch: super::super::apps::processing_batch(env)?,
        })
    }

    /// These options with at most `batch` notifications per transaction (at least 1).
    #[must_use]
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }
}

/// The health of a running projection: positions, lag and state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProjectionHealth {
    /// The projection's name.
    pub projection: &'static str,
    /// The upstream application's name.
    pub leader: String,
    /// The upstream's highest notification id (`None`: an empty log).
    pub leader_position: Option<NotificationId>,
    /// The highest upstream notification the view has processed.
    pub position: Option<NotificationId>,
    /// The last upstream notification this runner itself applied, or found applied by
    /// another instance: where it follows from (`position` is the view's, which any
    /// instance advances).
    pub followed: Option<NotificationId>,
    /// How far the view is behind (an upper bound: ids may skip).
    pub lag: u64,
    /// When this runner last committed a batch.
    pub last_processed: Option<SystemTime>,
    /// What the runner is doing.
    pub state: EdgeState,
    /// Batches another instance had applied first (their work was thrown away and this one
    /// resumed after the other's position).
    pub tracking_conflicts: u64,
}
