#![doc = include_str!("../README.md")]

mod builder;
mod factory;
pub mod system;

pub use builder::ApplicationBuilder;
pub use es_core::{Env, Error, Result, Uuid, aggregate};
pub use factory::{BackendConstructor, backend_names, open_stores, register_backend};

pub use es_core as core;
pub use es_popo as popo;
pub use es_postgres as postgres;
pub use es_sqlite as sqlite;

pub use es_core::{application, domain, mapper};
pub use system::RunnerFromEnv;

/// The persistence layer: recorder traits, stored values and errors.
pub mod persistence {
    pub use es_core::*;
}
