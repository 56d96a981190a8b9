#![doc = include_str!("../README.md")]

pub use es_core as core;
pub use es_popo as popo;
pub use es_postgres as postgres;
pub use es_sqlite as sqlite;

/// The persistence layer: recorder traits, stored values and errors.
pub mod persistence {
    pub use es_core::*;
}
