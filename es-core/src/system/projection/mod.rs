//! Projections: read models (views) that follow an application's notification log, each event
//! applied to the view exactly once across crashes.
//!
//! A [`Projection`] has a name, declares what it follows, creates its view and applies
//! received events to it. A [`ProjectionRunner`] follows the upstream application and applies
//! its notifications in batches, each batch in one [`ViewStore::transact`]: the view's changes
//! and the tracking record commit together, and the runner (never the projection) writes the
//! tracking record, so every notification advances it, also the ones the projection ignores:
//! [`ProjectionRunner::wait`] never hangs on an event the projection filtered out.
//!
//! This is the Python library's `eventsourcing.projection` (`Projection`, `ProjectionRunner`),
//! with batches, retries of operational errors, a position that filtered events advance, and
//! any backend upstream (SQLite included).

mod options;
mod runner;
mod thread;

use crate::application::Application;
use crate::domain::Topics;
use crate::{Result, ViewStore};

use super::{App, Received};

pub use options::{ProjectionHealth, ProjectionOptions};
pub use runner::ProjectionRunner;

/// A read model: how upstream events change a view kept in store `S`.
///
/// ```ignore
/// struct TricksPerDog;
///
/// impl Projection<SqliteView> for TricksPerDog {
///     const NAME: &'static str = "trickcounts";
///
///     fn create_view(&self, view: &mut SqliteTx<'_>) -> Result<()> {
///         view.execute_batch("CREATE TABLE IF NOT EXISTS trickcounts_dogs \
///                             (id BLOB PRIMARY KEY, tricks INTEGER NOT NULL)")?;
///         Ok(())
///     }
///
///     fn process(&self, event: &Received<'_>, view: &mut SqliteTx<'_>) -> Result<()> {
///         if let Some(DogEvent::TrickAdded { .. }) = event.decode::<DogEvent>()? {
///             view.execute("INSERT INTO trickcounts_dogs VALUES (?1, 1) ON CONFLICT (id) \
///                           DO UPDATE SET tricks = tricks + 1",
///                          [event.notification.originator_id.as_bytes()])?;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Projection<S: ViewStore>: Send + Sync + 'static {
    /// The projection's name, for example `"trickcounts"`: in logs, health and errors, and
    /// (upper-cased) the prefix of its settings, as the Python library's `Projection.name`.
    /// A constant, so a wrapper type cannot rename a projection by accident.
    const NAME: &'static str;

    /// The upstream event types this projection applies, or `None` (the default) for every
    /// notification, as [`ProcessApplication::follows`](super::ProcessApplication::follows):
    /// other topics are moved past (the tracking record still covers them), and a topic under
    /// a declared prefix that the type does not know stops the projection, naming it.
    fn follows() -> Option<Topics> {
        None
    }

    /// Creates the view (`CREATE TABLE IF NOT EXISTS …`): run by the runner when it starts,
    /// in [`ViewStore::migrate`]. The default does nothing.
    ///
    /// # Errors
    ///
    /// An error stops the runner before it processes anything.
    fn create_view(&self, view: &mut S::Tx<'_>) -> Result<()> {
        let _ = view;
        Ok(())
    }

    /// Applies one upstream event to the view. Decode it with [`Received::decode`]. Ignoring
    /// an event is fine: the runner records the position anyway. Never write tracking here.
    ///
    /// # Errors
    ///
    /// An operational error (a lock timeout, a lost connection) is retried with back-off; any
    /// other error (a panic too) stops the projection at this notification, with nothing of
    /// it applied, and is returned by [`ProjectionRunner::wait`] and
    /// [`ProjectionRunner::run_forever`] from then on.
    fn process(&self, event: &Received<'_>, view: &mut S::Tx<'_>) -> Result<()>;
}

/// What a projection follows: an application, or an [`App`] that wraps one.
pub trait Upstream: Send + Sync + 'static {
    /// The application whose notification log the projection follows.
    fn application(&self) -> &Application;
}

impl Upstream for Application {
    fn application(&self) -> &Application {
        self
    }
}

impl<A: App> Upstream for A {
    fn application(&self) -> &Application {
        App::application(self)
    }
}
