#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code returns typed errors: no unwrap or expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// The lower layer: the contract every backend keeps, and the seam a backend implements. Nothing
// in it names the upper layer (tests/layering.rs checks).
pub mod backend;
pub mod env;
mod error;
pub mod persistence;
pub mod sync;

// The upper layer: events and aggregates, their encoding, applications and systems.
pub mod application;
pub mod dcb;
pub mod domain;
pub mod mapper;
pub mod system;

pub use env::Env;
pub use error::{
    BatchConflict, BoxError, ConnectProblem, Error, EventConflict, Report, Result, TimeoutKind,
};
pub use persistence::{
    AggregateRecorder, ApplicationRecorder, DynAggregateRecorder, DynApplicationRecorder,
    DynProcessRecorder, DynTrackingRecorder, EventQuery, Lease, LeaseRecorder, MAX_IDENTIFIER_LEN,
    MAX_NOTIFICATION_LIMIT, Notification, NotificationId, NotificationQuery, ProcessRecorder,
    Recorders, SUBSCRIPTION_BATCH_SIZE, StopHandle, StoredEvent, Subscription, TablePrefix,
    Tracking, TrackingRecorder, ViewStore, wait_for_tracking,
};
pub use uuid::Uuid;

/// Re-exports for macros. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
