#![doc = include_str!("../README.md")]

mod backend;
mod config;
mod connections;
mod error;
mod open;
mod recorder;
mod sql;

pub use config::{DEFAULT_LOCK_TIMEOUT, DEFAULT_POOL_SIZE, POLL_INTERVAL, SqliteConfig};
pub use open::open;
pub use recorder::{
    SqliteAggregateRecorder, SqliteApplicationRecorder, SqliteProcessRecorder,
    SqliteTrackingRecorder,
};
