#![doc = include_str!("../README.md")]
// Library code returns typed errors: no unwrap or expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod admin;
mod backend;
mod client;
mod combiner;
mod config;
mod connect;
mod dcb;
mod error;
mod open;
mod pool;
mod probe;
mod recorder;
mod runtime;
mod sql;
mod tls;
mod view;
mod watch;

pub use admin::{drop_postgres_schema, drop_postgres_table};
pub use backend::PostgresBackend;
pub use config::{POLL_INTERVAL, PostgresConfig};
pub use dcb::{PostgresDcbBackend, PostgresDcbRecorder};
pub use open::open;
/// The driver, for the types a view's statements take and return (`postgres::Row`,
/// `postgres::types::ToSql`).
pub use postgres;
pub use recorder::{
    PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresProcessRecorder,
    PostgresTrackingRecorder,
};
pub use tls::{SslMode, TlsSettings};
pub use view::{Param, PgTx, PostgresView};
