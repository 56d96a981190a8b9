#![doc = include_str!("../README.md")]

mod admin;
mod backend;
mod client;
mod combiner;
mod config;
mod connect;
mod error;
mod open;
mod pool;
mod probe;
mod recorder;
mod runtime;
mod sql;
mod tls;
mod watch;

pub use admin::{drop_postgres_schema, drop_postgres_table};
pub use config::{POLL_INTERVAL, PostgresConfig};
pub use open::open;
pub use recorder::{
    PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresProcessRecorder,
    PostgresTrackingRecorder,
};
pub use tls::{SslMode, TlsSettings};
