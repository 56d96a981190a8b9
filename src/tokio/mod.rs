//! The async facade (feature `tokio`): applications, runners and subscriptions for tokio
//! services, over the same sync core.
//!
//! Every call that touches a store runs on tokio's blocking pool
//! ([`spawn_blocking`](::tokio::task::spawn_blocking)) or, for a subscription, on a thread of
//! its own: nothing here blocks an async worker thread, and the futures are `Send`, so they
//! work in axum or tonic handlers. Encoding a save's events happens before the hand-off, on
//! the caller's task (microseconds, no I/O), so the aggregates never leave the caller.
//!
//! ```
//! # use es_testkit::apps::domain::Dog;
//! use eventsourcing::system::App;
//! use eventsourcing::tokio::AsyncApp;
//! use eventsourcing::{ApplicationBuilder, app};
//!
//! app!(pub struct DogSchool);
//!
//! # #[::tokio::main(flavor = "current_thread")]
//! # async fn main() -> eventsourcing::Result<()> {
//! let application = ApplicationBuilder::new("DogSchool").build()?;
//! let school = AsyncApp::from_app(DogSchool::from_application(application)?);
//! let mut dog = Dog::register("Fido");
//! dog.trigger(dog.add_trick("roll over"));
//! school.save(&mut dog).await?;
//! let copy = school.get::<Dog>(dog.id()).await?;
//! assert_eq!(copy.tricks, ["roll over"]);
//! # Ok(())
//! # }
//! ```
//!
//! # Cancellation
//!
//! A future dropped before it completes (a client that went away, a `select!` that took
//! another branch, a timeout) stops waiting, not the work already handed to the blocking
//! pool: a store's write runs to its end, and it either commits as a whole or not at all,
//! never half a batch. A dropped [`save`](AsyncApp::save) leaves the aggregate's events
//! pending, since it never learned the outcome — the same position as a sync save that
//! returned [`Error::OutcomeUnknown`]: read the aggregate back with
//! [`get`](AsyncApp::get) before acting again. Saving the same pending events again cannot
//! record them twice: if the first save committed, the second fails with
//! [`Error::VersionConflict`].
//!
//! # Process applications
//!
//! Policies stay sync: a runner calls them on its own threads (the multi-threaded runner's
//! follower threads, or inside a save for the single-threaded runner, which here runs on the
//! blocking pool), so a policy may block on a store but should not wait on async work.

mod projection;
mod runner;
mod stream;

use std::sync::Arc;

use ::tokio::runtime::Handle;

pub use projection::AsyncProjectionRunner;
pub use runner::AsyncRunner;
pub use stream::NotificationStream;

use crate::application::{Pending, Recording, Section};
use crate::domain::{Aggregate, Root};
use crate::persistence::NotificationId;
use crate::system::App;
use crate::{Error, Result, Uuid};

/// The default number of notifications a [`NotificationStream`] holds for a slow consumer
/// (besides the subscription's own page of up to 500).
pub const DEFAULT_STREAM_CAPACITY: usize = 256;

/// Runs `f` on tokio's blocking pool and waits for it without blocking the task's thread.
///
/// # Errors
///
/// `f`'s error; [`Error::Programming`] outside a tokio runtime; [`Error::Interface`] when the
/// runtime shut down before `f` ran. A panic in `f` is resumed on the caller.
pub async fn blocking<R, F>(f: F) -> Result<R>
where
    F: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let handle = Handle::try_current().map_err(|e| Error::Programming {
        source: format!("the async API needs a tokio runtime: {e}").into(),
    })?;
    match handle
        .spawn_blocking(|| crate::backend::on_blocking_thread(f))
        .await
    {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::Interface {
            source: format!("the blocking task did not run: {e}").into(),
        }),
    }
}

/// An application for async code: a cheap, cloneable handle on an [`App`] whose calls run on
/// tokio's blocking pool. See the [module](self) for cancellation.
#[derive(Debug)]
pub struct AsyncApp<T>(Arc<T>);

impl<T> Clone for AsyncApp<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: App> AsyncApp<T> {
    /// A handle on `app` (for example one a runner holds).
    pub fn new(app: Arc<T>) -> Self {
        Self(app)
    }

    /// A handle on `app`.
    pub fn from_app(app: T) -> Self {
        Self(Arc::new(app))
    }

    /// The application itself, for its sync API.
    pub fn app(&self) -> &Arc<T> {
        &self.0
    }

    /// Runs `f` with the application on the blocking pool: any sync call, off the async
    /// threads.
    ///
    /// # Errors
    ///
    /// `f`'s error, and as [`blocking`].
    pub async fn run<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&T) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let app = Arc::clone(&self.0);
        blocking(move || f(&app)).await
    }

    /// Saves the pending events of `aggregate` in one atomic insert: see
    /// [`Application::save`](crate::application::Application::save).
    ///
    /// # Errors
    ///
    /// As [`save_all`](Self::save_all).
    pub async fn save<P: Pending>(&self, aggregate: &mut P) -> Result<Vec<Recording>> {
        let mut one: [&mut dyn Pending; 1] = [aggregate];
        self.save_all(&mut one).await
    }

    /// Saves the pending events of every aggregate in one atomic insert: encodes them here,
    /// then commits on the blocking pool. On success (or [`Error::Recorded`]) they are no
    /// longer pending; on any other error, or if this future is dropped first, they stay
    /// pending.
    ///
    /// # Errors
    ///
    /// As [`Application::save_all`](crate::application::Application::save_all).
    pub async fn save_all(&self, aggregates: &mut [&mut dyn Pending]) -> Result<Vec<Recording>> {
        let prepared = self
            .0
            .application()
            .prepare(aggregates.iter().map(|a| &**a))?;
        let app = Arc::clone(&self.0);
        let result = blocking(move || app.application().commit(prepared, None)).await;
        if matches!(result, Ok(_) | Err(Error::Recorded { .. })) {
            for a in aggregates.iter_mut() {
                a.clear_pending();
            }
        }
        result
    }

    /// A command on aggregate `id` in one hop to the blocking pool: loads it, runs `command`
    /// on it (which triggers events, or refuses with an error) and saves what it triggered;
    /// on a version conflict (another writer saved the aggregate first) it loads again and
    /// reruns `command`, at most `attempts` times in all. Returns what `command` returned and
    /// the recordings. A dropped future stops waiting, not the hop: the command may still be
    /// saved.
    ///
    /// `command` may fail with the user's own error type `E` (any type the library's
    /// [`Error`] converts into, `Error` itself included), which comes back as it is:
    /// `update::<Dog, _, _, ShopError>(id, 3, |dog| Err(ShopError::TooManyTricks))`.
    ///
    /// # Errors
    ///
    /// `command`'s error (nothing saved); [`Error::VersionConflict`] when every attempt met
    /// one; otherwise as [`get`](Self::get) and [`save`](Self::save), converted into `E`.
    pub async fn update<A, F, R, E>(
        &self,
        id: Uuid,
        attempts: usize,
        mut command: F,
    ) -> Result<(R, Vec<Recording>), E>
    where
        A: Aggregate,
        F: FnMut(&mut Root<A>) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let outcome = self
            .run(move |app| {
                let app = app.application();
                let mut attempt = 1;
                Ok(loop {
                    let mut root = match app.get::<A>(id) {
                        Ok(root) => root,
                        Err(e) => break Err(E::from(e)),
                    };
                    let answer = match command(&mut root) {
                        Ok(answer) => answer,
                        Err(e) => break Err(e),
                    };
                    match app.save(&mut root) {
                        Err(e) if e.is_version_conflict() && attempt < attempts => attempt += 1,
                        saved => break saved.map(|r| (answer, r)).map_err(E::from),
                    }
                })
            })
            .await;
        outcome.map_err(E::from)?
    }

    /// The latest version of aggregate `id`.
    ///
    /// # Errors
    ///
    /// As [`Application::get`](crate::application::Application::get).
    pub async fn get<A: Aggregate>(&self, id: Uuid) -> Result<Root<A>> {
        self.run(move |app| app.application().get::<A>(id)).await
    }

    /// Aggregate `id`, or `create()` when it has no events.
    ///
    /// # Errors
    ///
    /// As [`Application::get_or`](crate::application::Application::get_or).
    pub async fn get_or<A, F>(&self, id: Uuid, create: F) -> Result<Root<A>>
    where
        A: Aggregate,
        F: FnOnce() -> Root<A> + Send + 'static,
    {
        self.run(move |app| app.application().get_or::<A>(id, create))
            .await
    }

    /// Aggregate `id`, or `None` when it has no events.
    ///
    /// # Errors
    ///
    /// As [`Application::find`](crate::application::Application::find).
    pub async fn find<A: Aggregate>(&self, id: Uuid) -> Result<Option<Root<A>>> {
        self.run(move |app| app.application().find::<A>(id)).await
    }

    /// A section of the notification log (`"1,10"`, …), in the Python library's format.
    ///
    /// # Errors
    ///
    /// As [`NotificationLog::section`](crate::application::NotificationLog::section).
    pub async fn section(&self, section_id: &str) -> Result<Section> {
        let section_id = section_id.to_owned();
        self.run(move |app| app.application().notification_log().section(&section_id))
            .await
    }

    /// The greatest notification id recorded, or `None` when the log is empty.
    ///
    /// # Errors
    ///
    /// The recorder's errors.
    pub async fn max_notification_id(&self) -> Result<Option<NotificationId>> {
        self.run(|app| app.application().recorder().max_notification_id())
            .await
    }

    /// The notifications after `gt` (from the start when `None`) with one of `topics` (all
    /// when empty), then those recorded later, as a stream holding at most
    /// [`DEFAULT_STREAM_CAPACITY`] for a slow consumer: see [`NotificationStream`].
    ///
    /// # Errors
    ///
    /// As [`ApplicationRecorder::subscribe`](crate::persistence::ApplicationRecorder::subscribe).
    pub async fn subscribe(
        &self,
        gt: Option<NotificationId>,
        topics: Vec<String>,
    ) -> Result<NotificationStream> {
        self.subscribe_with_capacity(gt, topics, DEFAULT_STREAM_CAPACITY)
            .await
    }

    /// As [`subscribe`](Self::subscribe), holding at most `capacity` (at least 1)
    /// notifications for a slow consumer.
    ///
    /// # Errors
    ///
    /// As [`subscribe`](Self::subscribe).
    pub async fn subscribe_with_capacity(
        &self,
        gt: Option<NotificationId>,
        topics: Vec<String>,
        capacity: usize,
    ) -> Result<NotificationStream> {
        let subscription = self
            .run(move |app| app.application().recorder().subscribe(gt, &topics))
            .await?;
        NotificationStream::new(subscription, capacity)
    }
}
