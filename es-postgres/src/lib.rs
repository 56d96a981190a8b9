#![doc = include_str!("../README.md")]

mod combine;
mod config;
mod error;
mod pool;
mod recorder;
mod settle;
mod sql;
mod tables;
mod util;

pub use config::PostgresConfig;
pub use recorder::{
    POLL_INTERVAL, PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresProcessRecorder,
    PostgresTrackingRecorder,
};
pub use util::{drop_postgres_schema, drop_postgres_table};
