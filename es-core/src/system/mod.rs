//! Systems of applications: leaders whose notification logs followers (process applications)
//! process, exactly once, and the runners that run them.
//!
//! A follower records the events its policy produces together with a tracking record of the
//! upstream notification, in one transaction, so processing survives crashes without loss or
//! duplication; every upstream notification advances tracking, even when the policy ignores it.

mod apps;
mod follow;
mod health;
mod multi;
mod single;

use std::any::Any;
use std::sync::Arc;

use crate::application::{Application, Pending};
use crate::domain::{Aggregate, Event};
use crate::mapper::Mapper;
use crate::{Env, Error, Notification, Result, Tracking};

pub use health::{EdgeHealth, EdgeState};
pub use multi::MultiThreadedRunner;
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

    /// The event, when its topic is one of `E`'s; `None` for other event types. Decoded with
    /// the leader's mapper (its cipher and compressor).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the topic is `E`'s but the state does not decode.
    pub fn decode<E: Event>(&self) -> Result<Option<E>> {
        if !E::handles(&self.notification.topic) {
            return Ok(None);
        }
        let n = self.notification;
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
    pub fn collect<A: Aggregate>(&mut self, aggregate: A) {
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
}

struct Plain<T>(Arc<T>);
struct Process<T>(Arc<T>);

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
        Some(self.0.policy(received, processing))
    }
}

fn downcast<T: App>(node: &dyn NodeApp) -> Option<Arc<T>> {
    let any = node.as_any();
    any.downcast_ref::<Plain<T>>()
        .map(|p| Arc::clone(&p.0))
        .or_else(|| any.downcast_ref::<Process<T>>().map(|p| Arc::clone(&p.0)))
}

type Build = fn(Application) -> Result<Arc<dyn NodeApp>>;

/// An application type in a system: [`Node::app`] for one that only leads (or stands alone),
/// [`Node::process`] for a process application.
#[derive(Clone, Copy)]
pub struct Node {
    name: &'static str,
    is_process: bool,
    build: Build,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field("is_process", &self.is_process)
            .finish()
    }
}

impl Node {
    /// An application that does not follow.
    pub fn app<T: App>() -> Self {
        Self {
            name: T::NAME,
            is_process: false,
            build: |a| Ok(Arc::new(Plain(Arc::new(T::from_application(a)?)))),
        }
    }

    /// A process application.
    pub fn process<T: ProcessApplication>() -> Self {
        Self {
            name: T::NAME,
            is_process: true,
            build: |a| Ok(Arc::new(Process(Arc::new(T::from_application(a)?)))),
        }
    }

    /// The application's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// Applications and who follows whom, from pipes: `[[DogSchool, Counters]]` makes DogSchool a
/// leader and Counters its follower. Edges are de-duplicated, keep their definition order, and
/// may form cycles.
#[derive(Debug, Clone)]
pub struct System {
    nodes: Vec<Node>,
    edges: Vec<(usize, usize)>,
}

impl System {
    /// The system of `pipes`.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when a follower is not a process application, or two different
    /// nodes share a name.
    pub fn new<P: IntoIterator<Item = Vec<Node>>>(pipes: P) -> Result<Self> {
        let mut system = Self {
            nodes: Vec::new(),
            edges: Vec::new(),
        };
        for pipe in pipes {
            let mut previous = None;
            for node in pipe {
                let index = system.add(node)?;
                if let Some(leader) = previous
                    && !system.edges.contains(&(leader, index))
                {
                    if !system.nodes[index].is_process {
                        return Err(Error::programming(format!(
                            "not a process application: {} follows {} but was added with Node::app",
                            system.nodes[index].name, system.nodes[leader].name
                        )));
                    }
                    system.edges.push((leader, index));
                }
                previous = Some(index);
            }
        }
        Ok(system)
    }

    fn add(&mut self, node: Node) -> Result<usize> {
        match self.nodes.iter().position(|n| n.name == node.name) {
            Some(i) if self.nodes[i].is_process == node.is_process => Ok(i),
            Some(_) => Err(Error::programming(format!(
                "{} appears both as an application and as a process application",
                node.name
            ))),
            None => {
                self.nodes.push(node);
                Ok(self.nodes.len() - 1)
            }
        }
    }

    /// Application names, in order of first appearance.
    pub fn nodes(&self) -> Vec<&'static str> {
        self.nodes.iter().map(|n| n.name).collect()
    }

    /// `(leader, follower)` pairs, de-duplicated, in definition order.
    pub fn edges(&self) -> Vec<(&'static str, &'static str)> {
        self.edges
            .iter()
            .map(|&(l, f)| (self.nodes[l].name, self.nodes[f].name))
            .collect()
    }

    fn select(&self, keep: impl Fn(bool, bool) -> bool) -> Vec<&'static str> {
        (0..self.nodes.len())
            .filter(|&i| {
                let leads = self.edges.iter().any(|e| e.0 == i);
                let follows = self.edges.iter().any(|e| e.1 == i);
                keep(leads, follows)
            })
            .map(|i| self.nodes[i].name)
            .collect()
    }

    /// Applications that lead.
    pub fn leaders(&self) -> Vec<&'static str> {
        self.select(|leads, _| leads)
    }

    /// Applications that follow.
    pub fn followers(&self) -> Vec<&'static str> {
        self.select(|_, follows| follows)
    }

    /// Applications that lead and do not follow.
    pub fn leaders_only(&self) -> Vec<&'static str> {
        self.select(|leads, follows| leads && !follows)
    }

    /// Applications that both lead and follow.
    pub fn processors(&self) -> Vec<&'static str> {
        self.select(|leads, follows| leads && follows)
    }

    /// Applications that neither lead nor follow.
    pub fn singles(&self) -> Vec<&'static str> {
        self.select(|leads, follows| !leads && !follows)
    }

    /// The leaders `name` follows.
    pub fn follows(&self, name: &str) -> Vec<&'static str> {
        self.edges()
            .into_iter()
            .filter(|e| e.1 == name)
            .map(|e| e.0)
            .collect()
    }

    /// The followers of `name`.
    pub fn leads(&self, name: &str) -> Vec<&'static str> {
        self.edges()
            .into_iter()
            .filter(|e| e.0 == name)
            .map(|e| e.1)
            .collect()
    }
}
