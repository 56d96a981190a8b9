#![doc = include_str!("../README.md")]

pub mod application;
pub mod domain;
pub mod env;
mod error;
mod ident;
pub mod mapper;
mod query;
mod recorder;
pub mod signal;
mod store;
mod subscription;
pub mod system;
mod types;

pub use env::Env;
pub use error::{BoxError, Error, EventConflict, Result, TimeoutKind};
pub use ident::{MAX_IDENTIFIER_LEN, TablePrefix};
pub use query::{EventQuery, MAX_NOTIFICATION_LIMIT, NotificationQuery};
pub use recorder::{
    AggregateRecorder, ApplicationRecorder, DynAggregateRecorder, DynApplicationRecorder,
    DynProcessRecorder, DynTrackingRecorder, ProcessRecorder, TrackingRecorder, wait_for_tracking,
};
pub use signal::StopHandle;
pub use store::{DEFAULT_MAX_STATE_SIZE, RecorderStore, check_state_sizes, subscribe_to};
pub use subscription::{SUBSCRIPTION_BATCH_SIZE, Subscription};
pub use types::{Notification, NotificationId, StoredEvent, Tracking};
pub use uuid::Uuid;

/// Re-exports for macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
