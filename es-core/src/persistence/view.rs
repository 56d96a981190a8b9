//! [`ViewStore`]: where a projection keeps its read model (a view), together with the tracking
//! record of how far the view has processed each upstream application.

use crate::error::Result;
use crate::persistence::{Tracking, TrackingRecorder};

/// A view's store: the user's own tables (PostgreSQL, SQLite) or state (in memory), and a
/// tracking table, in one database, so that a projection runner writes a batch's changes to
/// the view and the batch's tracking record in **one** transaction. That transaction is what
/// makes a view exactly-once across crashes, and here the runner, not the projection, writes
/// the tracking record: a projection cannot forget it.
///
/// # Contract
///
/// * [`transact`](Self::transact) is atomic: `tracking` is recorded and everything `f` wrote
///   is committed, or nothing is.
/// * The tracking record is refused as [`TrackingRecorder::insert_tracking`] refuses it: with
///   [`Error::TrackingConflict`](crate::Error::TrackingConflict) when the stored position is at
///   or above the record's first notification, and then nothing `f` wrote is kept, so no
///   notification is applied to the view twice, however many instances run.
/// * When `f` fails, nothing is kept and its error is returned.
/// * A commit whose acknowledgement is lost is settled (the store reads its tracking row back)
///   or reported as [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown), never reported as
///   failed when it committed.
/// * After a commit, [`TrackingRecorder::wait`] in this process returns without polling.
pub trait ViewStore: TrackingRecorder + 'static {
    /// What a projection writes through: a transaction on the view's database
    /// (`rusqlite::Transaction`, a PostgreSQL transaction) or a copy of the in-memory state.
    type Tx<'a>;

    /// Runs `f` in a transaction, records `tracking` in it, and commits: all or nothing.
    ///
    /// # Errors
    ///
    /// [`Error::TrackingConflict`](crate::Error::TrackingConflict) (nothing written); `f`'s
    /// error (nothing written); operational errors of the store.
    fn transact<R>(
        &self,
        tracking: &Tracking,
        f: impl FnOnce(&mut Self::Tx<'_>) -> Result<R>,
    ) -> Result<R>;

    /// Runs `f` in a transaction without a tracking record: the view's DDL (`CREATE TABLE IF
    /// NOT EXISTS …`), run by the projection runner when it starts.
    ///
    /// # Errors
    ///
    /// `f`'s error (nothing written); operational errors of the store.
    fn migrate(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<()>) -> Result<()>;
}

impl<T: ViewStore + Send + Sync> ViewStore for std::sync::Arc<T> {
    type Tx<'a> = T::Tx<'a>;

    fn transact<R>(
        &self,
        tracking: &Tracking,
        f: impl FnOnce(&mut Self::Tx<'_>) -> Result<R>,
    ) -> Result<R> {
        (**self).transact(tracking, f)
    }

    fn migrate(&self, f: impl FnOnce(&mut Self::Tx<'_>) -> Result<()>) -> Result<()> {
        (**self).migrate(f)
    }
}
