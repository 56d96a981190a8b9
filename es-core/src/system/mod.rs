//! Systems of applications: leaders whose notification logs followers (process applications)
//! process, exactly once, and the runners that run them.
//!
//! A follower records the events its policy produces together with a tracking record of the
//! upstream notification, in one transaction, so processing survives crashes without loss or
//! duplication; every upstream notification advances tracking, even when the policy ignores it.

mod app_macro;
mod apps;
mod follow;
mod graph;
mod health;
mod lease;
mod multi;
pub mod parked;
mod projection;
mod runner;
mod single;

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

use crate::application::{Application, Pending};
use crate::domain::{Aggregate, Event, Root, TopicCheck, Topics, native_of, unknown_topic};
use crate::mapper::{Mapper, StoredFormat};
use crate::{Env, Notification, Result, Tracking};

pub use apps::{DEFAULT_FOLLOWER_CACHE, DEFAULT_PROCESSING_BATCH};
pub use follow::{process_notification, process_notifications};
pub use graph::{System, SystemBuilder};
pub use health::{EdgeHealth, EdgeState};
pub use lease::DEFAULT_LEASE_TTL;
pub use multi::MultiThreadedRunner;
pub use projection::{Projection, ProjectionHealth, ProjectionOptions, ProjectionRunner, Upstream};
pub use runner::Runner;
pub use single::SingleThreadedRunner;

/// Builds an application from its env (named after it): how runners open applications. The
/// facade's factory chooses the backend by `PERSISTENCE_MODULE`.
pub type AppFactory = Arc<dyn Fn(Env) -> Result<Application> + Send + Sync>;

/// A user application type: a name and the [`Application`] it wraps.
pub trait App: Send + Sync + Sized + 'static {
    /// The application's name, for example `"DogSchool"`: its env prefix and table prefix.
    const NAME: &'static str;

    /// Wraps an application opened with this app's env.
    ///
    /// # Errors
    ///
    /// What the app's own set-up fails with.
    fn from_application(application: Application) -> Result<Self>;

    /// The wrapped application.
    fn application(&self) -> &Application;
}

/// A follower: processes upstream events with a policy and records what it produces with the
/// upstream position, atomically.
pub trait ProcessApplication: App {
    /// The upstream event types this follower processes, or `None` (the default) for every
    /// notification. When declared, a runner calls the policy only on notifications whose
    /// topic is under a declared type's [prefix](Event::PREFIX): it moves past the others
    /// (tracking advances, nothing is recorded), and it fails the edge at a topic under a
    /// declared prefix that the type does not know (a renamed variant without an alias), naming
    /// the topic, the leader and the notification, instead of moving past it. Runners show the
    /// prefixes in [`EdgeHealth::follows`]. Notifications are filtered after they are read: a
    /// store's topic filter is exact, and would hide the renamed topics this check exists for.
    ///
    /// ```ignore
    /// fn follows() -> Option<Topics> {
    ///     Some(Topics::new().event::<DogEvent>())
    /// }
    /// ```
    fn follows() -> Option<Topics> {
        None
    }

    /// Processes one upstream event: decode it with [`Received::decode`], change aggregates,
    /// and [`collect`](Processing::collect) them. Ignoring an event is fine: tracking still
    /// advances.
    ///
    /// # Errors
    ///
    /// An error stops processing at this notification; nothing of it is recorded.
    fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()>;
}

/// An upstream notification as a policy receives it.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The leader's name.
    pub leader: &'a str,
    /// The notification.
    pub notification: &'a Notification,
    mapper: &'a Mapper,
}

impl Received<'_> {
    /// The stored topic.
    pub fn topic(&self) -> &str {
        &self.notification.topic
    }

    /// The event, when its topic is one of `E`'s; `None` for topics outside `E`'s
    /// [`PREFIX`](Event::PREFIX) (`"Dog"` owns `"Dog"` and every `"Dog.…"` topic). Decoded with
    /// the leader's mapper (its cipher and compressor).
    ///
    /// Nothing under `E`'s prefix is skipped silently: a topic there that `E` does not know
    /// (a variant renamed without an [alias](Event::ALIASES), or written by newer code) is an
    /// error, so the edge stops at it instead of advancing its tracking over an event it
    /// should have processed.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`](crate::Error::Decode) when the topic is under `E`'s prefix but not one
    /// of its topics or aliases, or when the state does not decode.
    pub fn decode<E: Event>(&self) -> Result<Option<E>> {
        let n = self.notification;
        // In the Python format, `E`'s topics are under its Python aggregate's topic.
        let native = match (self.mapper.format(), E::PYTHON) {
            (StoredFormat::Python, Some(p)) => match native_of(&n.topic, p.aggregate, E::PREFIX) {
                Some(native) => Cow::Owned(native),
                None => return Ok(None),
            },
            _ => Cow::Borrowed(n.topic.as_str()),
        };
        if !E::handles(&native) {
            if !Topics::owns(E::PREFIX, &native) {
                return Ok(None);
            }
            return Err(unknown_topic(n, std::any::type_name::<E>()));
        }
        let envelope = self.mapper.to_envelope::<E>(
            n.originator_id,
            n.originator_version,
            &n.topic,
            &n.state,
        )?;
        Ok(Some(envelope.event))
    }
}

/// What a policy produces for one upstream notification.
pub struct Processing {
    tracking: Tracking,
    collected: Vec<Box<dyn Pending>>,
}

impl std::fmt::Debug for Processing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processing")
            .field("tracking", &self.tracking)
            .field("collected", &self.collected.len())
            .finish()
    }
}

impl Processing {
    pub(crate) fn new(tracking: Tracking) -> Self {
        Self {
            tracking,
            collected: Vec::new(),
        }
    }

    /// Records `aggregate`'s pending events with the tracking record.
    pub fn collect<A: Aggregate>(&mut self, aggregate: Root<A>) {
        self.collected.push(Box::new(aggregate));
    }

    /// The tracking record of the notification being processed.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }
}

/// A constructed application in a runner, type-erased.
pub(crate) trait NodeApp: Send + Sync {
    fn application(&self) -> &Application;
    fn as_any(&self) -> &dyn Any;
    /// Runs the policy; `None` for an application that does not follow.
    fn process(&self, received: &Received<'_>, processing: &mut Processing) -> Option<Result<()>>;
    /// What a follower declared it follows ([`ProcessApplication::follows`]).
    fn follows(&self) -> Option<&Topics> {
        None
    }
}

struct Plain<T>(Arc<T>);
/// A process application and what it declared it follows.
struct Process<T>(Arc<T>, Option<Topics>);

/// Runs `follower`'s policy on `received` if `follows` (what it declared) lets it: a foreign
/// topic is processed as nothing, a topic unknown under a declared prefix is an error.
pub(crate) fn follow_policy<T: ProcessApplication>(
    follower: &T,
    follows: Option<&Topics>,
    received: &Received<'_>,
    processing: &mut Processing,
) -> Result<()> {
    match follows
        .map(|f| f.check(received.notification))
        .transpose()?
    {
        Some(TopicCheck::Foreign) => Ok(()),
        Some(TopicCheck::Known) | None => follower.policy(received, processing),
    }
}

impl<T: App> NodeApp for Plain<T> {
    fn application(&self) -> &Application {
        self.0.application()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn process(&self, _: &Received<'_>, _: &mut Processing) -> Option<Result<()>> {
        None
    }
}

impl<T: ProcessApplication> NodeApp for Process<T> {
    fn application(&self) -> &Application {
        self.0.application()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn process(&self, received: &Received<'_>, processing: &mut Processing) -> Option<Result<()>> {
        Some(follow_policy(
            &*self.0,
            self.1.as_ref(),
            received,
            processing,
        ))
    }

    fn follows(&self) -> Option<&Topics> {
        self.1.as_ref()
    }
}

fn downcast<T: App>(node: &dyn NodeApp) -> Option<Arc<T>> {
    let any = node.as_any();
    any.downcast_ref::<Plain<T>>()
        .map(|p| Arc::clone(&p.0))
        .or_else(|| any.downcast_ref::<Process<T>>().map(|p| Arc::clone(&p.0)))
}
