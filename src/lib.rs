#![doc = include_str!("guide.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code returns typed errors: no unwrap or expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod backends;
mod builder;
pub mod dcb;
pub mod system;
pub mod testing;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

pub use backends::{BackendConstructor, backend_names, open_recorders, register_backend};
pub use builder::ApplicationBuilder;
#[doc(inline)]
pub use es_core::{
    BatchConflict, BoxError, ConnectProblem, Env, Error, EventConflict, Report, Result,
    TimeoutKind, Uuid, app,
};

#[doc(inline)]
pub use es_core::{application, domain, mapper};

/// The persistence contract: the recorder traits an application writes through, the values
/// they store and return, queries and subscriptions.
pub mod persistence {
    #[doc(inline)]
    pub use es_core::persistence::{
        AggregateRecorder, ApplicationRecorder, DynAggregateRecorder, DynApplicationRecorder,
        DynProcessRecorder, DynTrackingRecorder, EventQuery, Lease, LeaseRecorder,
        MAX_IDENTIFIER_LEN, MAX_NOTIFICATION_LIMIT, Notification, NotificationId,
        NotificationQuery, ProcessRecorder, Recorders, SUBSCRIPTION_BATCH_SIZE, StopHandle,
        StoredEvent, Subscription, TablePrefix, Tracking, TrackingRecorder, ViewStore, dcb,
        wait_for_tracking, wake,
    };
}

/// Writing a backend of your own: the seam and its guide (re-exported from `es-core`).
#[doc(inline)]
pub use es_core::backend;

/// In-memory recorders: the default backend (`PERSISTENCE_MODULE` unset or `popo`).
#[doc(inline)]
pub use es_popo as popo;

/// SQLite recorders (`PERSISTENCE_MODULE=sqlite`; the `sqlite` feature, on by default).
#[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
#[doc(inline)]
pub use es_sqlite as sqlite;

/// PostgreSQL recorders (`PERSISTENCE_MODULE=postgres`; the `postgres` feature).
#[cfg(feature = "postgres")]
#[doc(inline)]
pub use es_postgres as postgres;

/// The README's examples, compiled and run as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
