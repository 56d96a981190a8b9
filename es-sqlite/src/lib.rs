#![doc = include_str!("../README.md")]

mod config;
mod db;
mod error;
mod recorder;
mod sql;
mod tables;

pub use config::{DEFAULT_LOCK_TIMEOUT, DEFAULT_POOL_SIZE, SqliteConfig};
pub use recorder::{
    POLL_INTERVAL, SqliteAggregateRecorder, SqliteApplicationRecorder, SqliteProcessRecorder,
    SqliteTrackingRecorder,
};
