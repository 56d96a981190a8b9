//! The persistence contract: what every backend keeps and the kit checks. The recorder traits,
//! the stored values, queries, subscriptions and their wake-ups, and validated identifiers.
//!
//! This layer names nothing above it (domain, mapper, application, system); a test in
//! `es-core/tests/layering.rs` keeps it so.

pub mod dcb;
mod identifier;
mod lease;
mod query;
mod recorder;
mod subscription;
mod tail;
mod values;
mod view;
pub mod wake;

use std::sync::Arc;

pub use identifier::{MAX_IDENTIFIER_LEN, TablePrefix};
pub use lease::{Lease, LeaseRecorder};
pub use query::{EventQuery, MAX_NOTIFICATION_LIMIT, NotificationQuery};
pub use recorder::{
    AggregateRecorder, ApplicationRecorder, DynAggregateRecorder, DynApplicationRecorder,
    DynProcessRecorder, DynTrackingRecorder, ProcessRecorder, TrackingRecorder, wait_for_tracking,
};
pub use subscription::{SUBSCRIPTION_BATCH_SIZE, Subscription};
pub use values::{Notification, NotificationId, StoredEvent, Tracking};
pub use view::ViewStore;
pub use wake::{Notifier, StopHandle};

/// The recorders of one application: its events (a process recorder, so that it can also
/// follow other applications) and, when snapshotting is on, its snapshots.
#[derive(Debug, Clone)]
pub struct Recorders {
    /// Events, the notification log and tracking.
    pub events: Arc<dyn ProcessRecorder>,
    /// Snapshots, if enabled.
    pub snapshots: Option<Arc<dyn AggregateRecorder>>,
}

impl Recorders {
    /// Recorders without snapshots.
    pub fn new(events: Arc<dyn ProcessRecorder>) -> Self {
        Self {
            events,
            snapshots: None,
        }
    }

    /// Adds a snapshot recorder.
    #[must_use]
    pub fn with_snapshots(mut self, snapshots: Arc<dyn AggregateRecorder>) -> Self {
        self.snapshots = Some(snapshots);
        self
    }
}
