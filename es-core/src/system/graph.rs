//! [`System`]: applications and who follows whom, built with typed pipes so that a follower
//! which is not a process application does not compile.

use std::any::TypeId;
use std::sync::Arc;

use super::{App, NodeApp, Plain, Process, ProcessApplication};
use crate::application::Application;
use crate::{Error, Result};

type Build = fn(Application) -> Result<Arc<dyn NodeApp>>;

/// An application type in a system.
#[derive(Clone, Copy)]
pub(crate) struct Node {
    pub(crate) name: &'static str,
    type_id: TypeId,
    is_process: bool,
    pub(crate) build: Build,
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
    fn app<T: App>() -> Self {
        Self {
            name: T::NAME,
            type_id: TypeId::of::<T>(),
            is_process: false,
            build: |a| Ok(Arc::new(Plain(Arc::new(T::from_application(a)?)))),
        }
    }

    fn process<T: ProcessApplication>() -> Self {
        Self {
            name: T::NAME,
            type_id: TypeId::of::<T>(),
            is_process: true,
            build: |a| {
                Ok(Arc::new(Process(
                    Arc::new(T::from_application(a)?),
                    T::follows(),
                )))
            },
        }
    }
}

/// Applications and who follows whom: `System::builder().pipe::<DogSchool, Counters>()` makes
/// DogSchool a leader and Counters its follower, as the Python library's
/// `System(pipes=[[DogSchool, Counters]])`. A follower must implement [`ProcessApplication`],
/// checked by the compiler. Edges are de-duplicated, keep their definition order, and may form
/// cycles.
///
/// ```
/// # use es_core::system::{App, ProcessApplication, Processing, Received, System};
/// # use es_core::{app, Result};
/// # app!(pub struct DogSchool);
/// # app!(pub struct Counters);
/// # impl ProcessApplication for Counters {
/// #     fn policy(&self, _: &Received<'_>, _: &mut Processing) -> Result<()> { Ok(()) }
/// # }
/// # app!(pub struct Reports);
/// let system = System::builder()
///     .pipe::<DogSchool, Counters>()
///     .app::<Reports>()
///     .build()?;
/// assert_eq!(system.nodes(), ["DogSchool", "Counters", "Reports"]);
/// assert_eq!(system.edges(), [("DogSchool", "Counters")]);
/// assert_eq!((system.leaders_only(), system.singles()), (vec!["DogSchool"], vec!["Reports"]));
/// # Ok::<(), es_core::Error>(())
/// ```
///
/// A follower that is not a process application is a compile error:
///
/// ```compile_fail,E0277
/// # use es_core::system::System;
/// # use es_core::app;
/// # app!(pub struct DogSchool);
/// # app!(pub struct Reports);
/// let system = System::builder().pipe::<DogSchool, Reports>().build();
/// ```
#[derive(Debug, Clone)]
pub struct System {
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<(usize, usize)>,
}

/// Builds a [`System`]: see there.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until `build`"]
pub struct SystemBuilder {
    nodes: Vec<Node>,
    edges: Vec<(usize, usize)>,
    clash: Option<(&'static str, TypeId)>,
}

impl SystemBuilder {
    /// Adds `Follower` following `Leader`'s notification log (and both applications, when
    /// new).
    pub fn pipe<Leader: App, Follower: ProcessApplication>(mut self) -> Self {
        let leader = self.add(Node::app::<Leader>());
        let follower = self.add(Node::process::<Follower>());
        if let (Some(l), Some(f)) = (leader, follower)
            && !self.edges.contains(&(l, f))
        {
            self.edges.push((l, f));
        }
        self
    }

    /// Adds an application that neither leads nor follows (yet).
    pub fn app<T: App>(mut self) -> Self {
        self.add(Node::app::<T>());
        self
    }

    /// The system.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when two different application types share a name.
    pub fn build(self) -> Result<System> {
        if let Some((name, _)) = self.clash {
            return Err(Error::programming(format!(
                "two different application types are named {name}: names must be unique in a system"
            )));
        }
        Ok(System {
            nodes: self.nodes,
            edges: self.edges,
        })
    }

    /// The node's index; a process application's replaces a plain one of the same type.
    fn add(&mut self, node: Node) -> Option<usize> {
        match self.nodes.iter().position(|n| n.name == node.name) {
            Some(i) if self.nodes[i].type_id != node.type_id => {
                self.clash.get_or_insert((node.name, node.type_id));
                None
            }
            Some(i) => {
                if node.is_process {
                    self.nodes[i] = node;
                }
                Some(i)
            }
            None => {
                self.nodes.push(node);
                Some(self.nodes.len() - 1)
            }
        }
    }
}

impl System {
    /// A builder: add pipes and applications, then [`build`](SystemBuilder::build).
    pub fn builder() -> SystemBuilder {
        SystemBuilder::default()
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
