//! Health and lag of a running system, edge by edge: [`EdgeHealth`], and the [`Edges`] status
//! the runners keep as they process.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::domain::Topics;
use crate::sync::lock;
use crate::{Error, NotificationId, Result, StopHandle};

use super::apps::Apps;

/// What a leader → follower edge is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EdgeState {
    /// Processing: the follower is behind its leader.
    Running,
    /// The follower has processed everything its leader had recorded when asked.
    CaughtUp,
    /// An operational error (a store unreachable, a timeout): the edge retries with bounded
    /// back-off (multi-threaded runner) or on the leader's next save (single-threaded runner).
    Retrying {
        /// The error, as displayed.
        error: String,
    },
    /// Leased (`RUNNER_LEASES=on`) and held by another runner instance, or by none yet: this
    /// instance stands by and takes the edge over when that instance stops, dies or stalls
    /// past the lease's time to live.
    StandingBy,
    /// Stopped by an error that retrying cannot cure (an undecodable event, a failing policy).
    /// The multi-threaded runner's `wait` for this follower returns it; the single-threaded
    /// runner tries again on the leader's next save.
    Failed {
        /// The error, as displayed.
        error: String,
    },
}

/// The health of one edge of a running system: positions, lag, and state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EdgeHealth {
    /// The leader's name.
    pub leader: &'static str,
    /// The follower's name.
    pub follower: &'static str,
    /// The leader's highest notification id (`None`: an empty log).
    pub leader_position: Option<NotificationId>,
    /// The highest notification of the leader the follower has processed.
    pub follower_position: Option<NotificationId>,
    /// Notifications the follower is behind by: the difference of the two positions (ids may
    /// skip, so this is an upper bound on the notifications left to process).
    pub lag: u64,
    /// When this runner last processed a notification of this edge.
    pub last_processed: Option<SystemTime>,
    /// What the edge is doing.
    pub state: EdgeState,
    /// How often this runner found a notification of this edge processed already by another
    /// instance (a tracking conflict: its work was thrown away and it resumed after the other
    /// instance's position). With leases on, near 0.
    pub tracking_conflicts: u64,
    /// Notifications of this leader the follower has parked and not yet retried or dropped
    /// (see [`parked`](super::parked)).
    pub parked: u64,
    /// The prefixes of the event types the follower declared it follows
    /// ([`ProcessApplication::follows`](super::ProcessApplication::follows)): notifications of
    /// other topics are moved past without its policy. `None`: it processes every notification.
    pub follows: Option<Vec<&'static str>>,
}

/// How an edge's last attempt ended, as the runners record it.
#[derive(Debug, Default)]
struct Status {
    last_processed: Option<SystemTime>,
    problem: Option<Problem>,
    standing_by: bool,
    conflicts: u64,
}

#[derive(Debug)]
enum Problem {
    Retrying(String),
    Failed(Arc<Error>),
}

/// The status of every edge of a started system, by edge index, and a handle per edge that
/// interrupts waits for its follower when the edge fails.
#[derive(Debug)]
pub(crate) struct Edges {
    status: Vec<Mutex<Status>>,
    /// Stopped when the edge fails; replaced by a fresh one when it goes on (parked).
    failed: Vec<Mutex<StopHandle>>,
    /// The follower's open parked notifications, read incrementally by `health`.
    parked: Vec<Mutex<super::parked::OpenParked>>,
}

/// The upstream notification a follower failed to process, when `e` says
/// ([`Error::Processing`]).
pub(crate) fn failed_at(e: &Error) -> Option<NotificationId> {
    match e {
        Error::Processing {
            notification_id, ..
        } => Some(*notification_id),
        _ => None,
    }
}

/// True for an error that a retry may cure: the store unreachable or slow, also inside a
/// follower's processing.
pub(crate) fn is_transient(e: &Error) -> bool {
    match e {
        Error::Processing { source, .. } | Error::Recorded { source, .. } => is_transient(source),
        e => e.is_operational(),
    }
}

impl Edges {
    pub(crate) fn new(edges: usize) -> Self {
        Self {
            status: (0..edges).map(|_| Mutex::default()).collect(),
            failed: (0..edges).map(|_| Mutex::default()).collect(),
            parked: (0..edges).map(|_| Mutex::default()).collect(),
        }
    }

    /// A notification of `edge` was processed.
    pub(crate) fn processed(&self, edge: usize) {
        if let Some(s) = self.status.get(edge) {
            let mut s = lock(s);
            s.last_processed = Some(SystemTime::now());
            s.problem = None;
        }
    }

    /// Whether `edge` stands by: another instance holds its lease.
    pub(crate) fn standing_by(&self, edge: usize, standing_by: bool) {
        if let Some(s) = self.status.get(edge) {
            lock(s).standing_by = standing_by;
        }
    }

    /// Another instance had processed what `edge` tried to record.
    pub(crate) fn conflict(&self, edge: usize) {
        if let Some(s) = self.status.get(edge) {
            let mut s = lock(s);
            s.conflicts = s.conflicts.saturating_add(1);
        }
    }

    /// `edge` is caught up (the single-threaded runner processed everything), or goes on
    /// after the notification it failed at was parked.
    pub(crate) fn ok(&self, edge: usize) {
        if let Some(s) = self.status.get(edge) {
            lock(s).problem = None;
        }
        if let Some(handle) = self.failed.get(edge) {
            let mut handle = lock(handle);
            if handle.is_stopped() {
                *handle = StopHandle::new();
            }
        }
    }

    /// `edge` met `error`, which a retry may cure.
    pub(crate) fn retrying(&self, edge: usize, error: &Error) {
        if let Some(s) = self.status.get(edge) {
            lock(s).problem = Some(Problem::Retrying(error.report().to_string()));
        }
    }

    /// `edge` stopped at `error`: waits for its follower return it from now on.
    pub(crate) fn failed(&self, edge: usize, error: Arc<Error>) {
        if let Some(s) = self.status.get(edge) {
            lock(s).problem = Some(Problem::Failed(error));
        }
        if let Some(handle) = self.failed.get(edge) {
            lock(handle).stop();
        }
    }

    /// The error `edge` stopped at, if it did.
    pub(crate) fn failure(&self, edge: usize) -> Option<Arc<Error>> {
        match &lock(self.status.get(edge)?).problem {
            Some(Problem::Failed(e)) => Some(Arc::clone(e)),
            _ => None,
        }
    }

    /// Drops the errors edges stopped at (the runner is stopping and returns the first).
    pub(crate) fn forget_failures(&self) {
        for s in &self.status {
            lock(s).problem = None;
        }
    }

    /// Blocks until `follower` has processed `leader` up to `notification_id`. When the edge
    /// between them has failed and the follower has not got that far, returns
    /// [`Error::EdgeStopped`] at once; with `interruptible`, also when it fails during the
    /// wait (the multi-threaded runner; the single-threaded one processes in its callers'
    /// threads, so nothing changes during a wait).
    pub(crate) fn wait(
        &self,
        apps: &Apps,
        follower: &str,
        leader: &str,
        notification_id: NotificationId,
        timeout: std::time::Duration,
        interruptible: bool,
    ) -> Result<()> {
        let (l, f) = (apps.index(leader)?, apps.index(follower)?);
        let recorder = apps.apps[f].application().recorder();
        let Some(edge) = apps.edges.iter().position(|e| *e == (l, f)) else {
            return recorder.wait(leader, notification_id, timeout, None);
        };
        let stopped = |e: Arc<Error>| apps.edge_stopped(edge, e);
        let mut interruptible = interruptible;
        if let Some(e) = self.failure(edge)
            && !recorder.has_tracking_id(leader, notification_id)?
        {
            // Parked meanwhile (by an operator's command in another process): the runner goes
            // on as soon as it sees it, so this waits, and the stale failure must not
            // interrupt the wait.
            let parked = match failed_at(&e) {
                Some(id) => recorder.has_tracking_id(leader, id)?,
                None => false,
            };
            if !parked {
                return Err(stopped(e));
            }
            interruptible = false;
        }
        let interrupt = if interruptible {
            self.interrupt(edge)
        } else {
            None
        };
        match recorder.wait(leader, notification_id, timeout, interrupt.as_ref()) {
            Err(Error::WaitInterrupted) => match self.failure(edge) {
                Some(e) => Err(stopped(e)),
                None => Err(Error::WaitInterrupted),
            },
            other => other,
        }
    }

    /// The handle stopped when `edge` fails.
    pub(crate) fn interrupt(&self, edge: usize) -> Option<StopHandle> {
        self.failed.get(edge).map(|h| lock(h).clone())
    }

    /// Every edge's health, reading each leader's and follower's position now. Never fails:
    /// a position that cannot be read (the store unreachable) is `None`, and the edge shows
    /// as retrying with that error unless it has failed.
    pub(crate) fn health(&self, apps: &Apps) -> Vec<EdgeHealth> {
        let mut out = Vec::with_capacity(apps.edges.len());
        for (edge, &(l, f)) in apps.edges.iter().enumerate() {
            let leader = apps.names[l];
            let mut unreadable = None;
            let mut read = |position: Result<Option<NotificationId>>| {
                position.unwrap_or_else(|e| {
                    unreadable.get_or_insert_with(|| e.report().to_string());
                    None
                })
            };
            let leader_position = read(apps.apps[l].application().recorder().max_notification_id());
            let follower_position = read(
                apps.apps[f]
                    .application()
                    .recorder()
                    .max_tracking_id(leader),
            );
            let parked = match self.parked.get(edge).map(lock) {
                Some(mut index) => match index.refresh(apps.apps[f].application()) {
                    Ok(()) => index.count(leader),
                    Err(e) => {
                        unreadable.get_or_insert_with(|| e.report().to_string());
                        index.count(leader)
                    }
                },
                None => 0,
            };
            let lag = leader_position
                .unwrap_or(0)
                .saturating_sub(follower_position.unwrap_or(0));
            let (last_processed, conflicts, state) = match self.status.get(edge).map(lock) {
                Some(s) => (
                    s.last_processed,
                    s.conflicts,
                    match &s.problem {
                        Some(Problem::Failed(e)) => EdgeState::Failed {
                            error: e.report().to_string(),
                        },
                        _ if s.standing_by => EdgeState::StandingBy,
                        _ if unreadable.is_some() => EdgeState::Retrying {
                            error: unreadable.take().unwrap_or_default(),
                        },
                        // Nothing left to process: the last failed attempt does not matter.
                        Some(Problem::Retrying(_)) | None if lag == 0 => EdgeState::CaughtUp,
                        Some(Problem::Retrying(e)) => EdgeState::Retrying { error: e.clone() },
                        _ => EdgeState::Running,
                    },
                ),
                None => (None, 0, EdgeState::Running),
            };
            out.push(EdgeHealth {
                leader,
                follower: apps.names[f],
                leader_position,
                follower_position,
                lag,
                last_processed,
                state,
                tracking_conflicts: conflicts,
                parked,
                follows: apps.apps[f].follows().map(Topics::prefixes),
            });
        }
        out
    }
}
