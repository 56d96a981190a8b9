#![doc = include_str!("../README.md")]
// Library code returns typed errors: no unwrap or expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod backend;
mod config;
mod connections;
mod dcb;
mod error;
mod open;
mod recorder;
mod sql;
mod view;

pub use backend::SqliteBackend;
pub use config::{DEFAULT_LOCK_TIMEOUT, DEFAULT_POOL_SIZE, POLL_INTERVAL, SqliteConfig};
pub use dcb::{SqliteDcbBackend, SqliteDcbRecorder};
pub use open::open;
pub use recorder::{
    SqliteAggregateRecorder, SqliteApplicationRecorder, SqliteProcessRecorder,
    SqliteTrackingRecorder,
};
/// The driver, for the types a view's statements take (`rusqlite::params!`, `Row`).
pub use rusqlite;
pub use view::{SqliteTx, SqliteView};
