//! [`LeaseRecorder`]: named, time-limited, exclusive claims kept in a process application's
//! store, through which runner instances on several processes or machines share out the work.

use std::fmt::Debug;
use std::time::Duration;

use crate::error::Result;

/// A live lease: who holds it, as [`LeaseRecorder::leases`] lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Lease {
    /// The lease's name.
    pub name: String,
    /// The holder that took it last.
    pub holder: String,
}

/// Leases in a store: each name is held by at most one holder until its time runs out.
///
/// The store's clock decides expiry (PostgreSQL's `clock_timestamp()`, one clock for every
/// machine; SQLite and POPO the local clock), so holders on machines whose clocks disagree
/// still agree on who holds a lease.
///
/// # Contract
///
/// * At most one holder: while a lease is unexpired, `acquire_lease` by another holder
///   returns `false` and changes nothing; concurrent acquirers of a free lease get `true`
///   exactly once.
/// * `acquire_lease` by the holder renews it: it then expires `ttl` after this call.
/// * A lease not renewed within its `ttl` is free for any holder.
/// * `release_lease` by the holder frees it at once; by another holder it changes nothing.
/// * `leases(prefix)` lists the unexpired leases whose names begin with `prefix` (a string,
///   never a pattern), in byte order of their names, as Rust orders strings (PostgreSQL sorts
///   with `COLLATE "C"`, not the database's collation).
/// * Holders and names are compared whole: `h1` is not `h10`.
///
/// A lease is not a fence: a holder paused past its `ttl` may wake and act before it learns it
/// lost the lease. What it writes must be fenced by the store itself, as tracking records
/// fence processing (a record at or below the stored position is refused).
pub trait LeaseRecorder: Send + Sync + Debug {
    /// Takes lease `name` for `holder` until `ttl` from now when it is free, expired or
    /// `holder`'s already: `true` when `holder` holds it on return.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`](crate::Error::NotSupported) by a backend without leases;
    /// operational errors when the store is unreachable (the caller must then assume it holds
    /// nothing once its last grant's `ttl` has run out).
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool>;

    /// Frees lease `name` at once if `holder` holds it; otherwise does nothing.
    ///
    /// # Errors
    ///
    /// As [`acquire_lease`](Self::acquire_lease).
    fn release_lease(&self, name: &str, holder: &str) -> Result<()>;

    /// The unexpired leases whose names begin with `prefix`, in byte order of their names.
    ///
    /// # Errors
    ///
    /// As [`acquire_lease`](Self::acquire_lease).
    fn leases(&self, prefix: &str) -> Result<Vec<Lease>>;
}

macro_rules! forward_lease_impls {
    ($($wrapper:ty),*) => {$(
        #[deny(clippy::missing_trait_methods)]
        impl<T: LeaseRecorder + ?Sized> LeaseRecorder for $wrapper {
            fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
                (**self).acquire_lease(name, holder, ttl)
            }
            fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
                (**self).release_lease(name, holder)
            }
            fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
                (**self).leases(prefix)
            }
        }
    )*};
}

forward_lease_impls!(&T, Box<T>, std::sync::Arc<T>);
