//! [`Leasing`]: with `RUNNER_LEASES=on`, each edge of a system is processed by one live runner
//! instance at a time, across processes and machines, through leases in the follower's store.
//!
//! Every tick (a third of the time to live, at most 1 s) an instance renews its membership
//! lease (`member:<holder>`) and the edge leases it holds (`edge:<leader>`, in the follower's
//! table), counts the live members, and takes free edges up to its fair share
//! (`ceil(edges / members)`) or gives up the ones above it. An instance that stops gracefully
//! frees its leases at once; one that dies or stalls loses them when their time runs out.
//!
//! A lease only spares the instances wasted work: exactly-once comes from the tracking
//! record, which the store refuses at or below its position. An instance paused past its
//! lease that wakes with a batch in hand either commits it before the new holder starts (the
//! new holder then starts after it) or has it refused (a tracking conflict), and it processes
//! nothing more once it sees that its lease's time has run out by its own clock.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;
use crate::{Env, Error, Result};

use super::apps::Apps;

/// The time to live of a lease unless `RUNNER_LEASE_TTL` says otherwise.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(5);

/// The longest pause between two ticks: a stand-by takes a lease at most this long after it
/// ran out.
const MAX_TICK: Duration = Duration::from_secs(1);

/// The lease settings of one follower: `None` when its `RUNNER_LEASES` is off.
pub(crate) fn settings(env: &Env) -> Result<Option<Duration>> {
    if !env.flag("RUNNER_LEASES", false)? {
        return Ok(None);
    }
    let key = || {
        env.lookup("RUNNER_LEASE_TTL")
            .map(|(key, _)| key)
            .unwrap_or_default()
    };
    match env.parse::<f64>("RUNNER_LEASE_TTL")? {
        None => Ok(Some(DEFAULT_LEASE_TTL)),
        Some(s) if s.is_finite() && (0.1..=86_400.0).contains(&s) => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        Some(_) => Err(Error::config(
            key(),
            "expected seconds from 0.1 to 86400 (for example 5 or 2.5)",
        )),
    }
}

/// An identity for this runner instance: host, process and a random part, so two runners in
/// one process differ too.
fn holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

/// What an edge's lease is, here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    /// Leasing is off for this edge: always processed.
    Unleased,
    /// Held until the instant (by this process's clock, counted from before the grant).
    Until(Instant),
    /// Another instance holds it, or nobody does yet.
    No,
}

/// The leases of one runner instance.
#[derive(Debug)]
pub(crate) struct Leasing {
    pub(crate) holder: String,
    /// Per edge: its follower's time to live, `None` when the edge is not leased.
    ttls: Vec<Option<Duration>>,
    held: Mutex<Vec<Held>>,
    changed: Condvar,
    /// Edges given up by the last tick, freed in the store at the next (once their batch
    /// in flight has ended).
    releasing: Mutex<Vec<usize>>,
    pub(crate) tick: Duration,
}

fn edge_lease(apps: &Apps, edge: usize) -> String {
    format!("edge:{}", apps.names[apps.edges[edge].0])
}

impl Leasing {
    /// The leasing of `apps`'s edges, from each follower's settings; `None` when no edge is
    /// leased.
    pub(crate) fn new(apps: &Apps) -> Result<Option<Self>> {
        let ttls: Vec<Option<Duration>> = apps
            .edges
            .iter()
            .map(|&(_, f)| settings(apps.apps[f].application().env()))
            .collect::<Result<_>>()?;
        let Some(shortest) = ttls.iter().flatten().min().copied() else {
            return Ok(None);
        };
        // A follower whose store has no leases (or no lease table) fails the start, naming it.
        for (edge, ttl) in ttls.iter().enumerate() {
            let f = apps.edges[edge].1;
            if ttl.is_some()
                && let Err(e) = apps.apps[f].application().recorder().leases("member:")
            {
                return Err(match e {
                    Error::NotSupported { recorder, .. } => Error::config(
                        "RUNNER_LEASES",
                        format!(
                            "{}'s store ({recorder}) has no leases: turn leases off for it \
                             ({}_RUNNER_LEASES=off) or use a backend that has them",
                            apps.names[f],
                            apps.names[f].to_uppercase()
                        ),
                    ),
                    e => e,
                });
            }
        }
        let held = ttls
            .iter()
            .map(|t| {
                if t.is_some() {
                    Held::No
                } else {
                    Held::Unleased
                }
            })
            .collect();
        Ok(Some(Self {
            holder: holder(),
            ttls,
            held: Mutex::new(held),
            changed: Condvar::new(),
            releasing: Mutex::new(Vec::new()),
            tick: (shortest / 3).clamp(Duration::from_millis(20), MAX_TICK),
        }))
    }

    /// Whether this instance may process `edge` now.
    pub(crate) fn holds(&self, edge: usize) -> bool {
        self.holds_in(&lock(&self.held), edge)
    }

    /// Waits until `edge` is held or `pause` has passed.
    pub(crate) fn wait_for(&self, edge: usize, pause: Duration) {
        let held = lock(&self.held);
        if self.holds_in(&held, edge) {
            return;
        }
        let _ = self.changed.wait_timeout(held, pause);
    }

    fn state(&self, edge: usize) -> Held {
        lock(&self.held)
            .get(edge)
            .copied()
            .unwrap_or(Held::Unleased)
    }

    fn holds_in(&self, held: &[Held], edge: usize) -> bool {
        match held.get(edge) {
            Some(Held::Unleased) => true,
            Some(Held::Until(until)) => Instant::now() < *until,
            _ => false,
        }
    }

    /// One round: heartbeat, renew, and take or give up edges toward the fair share. Calls
    /// `lost(edge)` for each edge this instance must stop processing.
    pub(crate) fn tick(&self, apps: &Apps, lost: &dyn Fn(usize)) {
        let leased: Vec<usize> = (0..self.ttls.len())
            .filter(|&e| self.ttls[e].is_some())
            .collect();
        for edge in std::mem::take(&mut *lock(&self.releasing)) {
            self.release(apps, edge);
        }
        let members = self.heartbeat(apps, &leased);
        let share = leased.len().div_ceil(members.max(1));
        let mut mine = 0;
        for &edge in &leased {
            let held = self.state(edge);
            if let Held::Until(until) = held {
                if self.renew(apps, edge, until) {
                    mine += 1;
                } else {
                    self.lose(edge, lost);
                }
            }
        }
        // Above the fair share: give up the last edges, freed at the next tick.
        for &edge in leased.iter().rev() {
            if mine <= share {
                break;
            }
            if matches!(self.state(edge), Held::Until(_)) {
                tracing::info!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), follower = apps.names[apps.edges[edge].1], members, share, "giving an edge up to another instance");
                self.lose(edge, lost);
                lock(&self.releasing).push(edge);
                mine -= 1;
            }
        }
        // Below it: take free edges, starting at a place of this holder's own so instances
        // starting together try different edges first.
        let start = self.holder.bytes().map(usize::from).sum::<usize>();
        for i in 0..leased.len() {
            if mine >= share {
                break;
            }
            let edge = leased[(start + i) % leased.len()];
            if self.state(edge) == Held::No && self.take(apps, edge) {
                mine += 1;
            }
        }
    }

    /// Renews this instance's membership in every follower with a leased edge; the number of
    /// live members (the most any follower's store counts, at least this one).
    fn heartbeat(&self, apps: &Apps, leased: &[usize]) -> usize {
        let member = format!("member:{}", self.holder);
        let mut members = 1;
        let mut followers: Vec<usize> = leased.iter().map(|&e| apps.edges[e].1).collect();
        followers.sort_unstable();
        followers.dedup();
        for f in followers {
            let Some(ttl) = self.ttl_of_follower(apps, f) else {
                continue;
            };
            let recorder = apps.apps[f].application().recorder();
            let counted = recorder
                .acquire_lease(&member, &self.holder, ttl)
                .and_then(|_| recorder.leases("member:"));
            match counted {
                Ok(live) => members = members.max(live.len()),
                Err(e) => {
                    tracing::warn!(target: "eventsourcing::runner", follower = apps.names[f], error = %e.report(), "could not renew this instance's membership");
                }
            }
        }
        members
    }

    fn ttl_of_follower(&self, apps: &Apps, follower: usize) -> Option<Duration> {
        (0..self.ttls.len())
            .filter(|&e| apps.edges[e].1 == follower)
            .find_map(|e| self.ttls[e])
    }

    /// Renews `edge`'s lease: false when it is lost (another holds it, or the store has been
    /// unreachable past the lease's time).
    fn renew(&self, apps: &Apps, edge: usize, until: Instant) -> bool {
        let Some(ttl) = self.ttls[edge] else {
            return true;
        };
        let asked = Instant::now();
        let recorder = apps.apps[apps.edges[edge].1].application().recorder();
        match recorder.acquire_lease(&edge_lease(apps, edge), &self.holder, ttl) {
            Ok(true) => {
                lock(&self.held)[edge] = Held::Until(asked + ttl);
                true
            }
            Ok(false) => {
                tracing::warn!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), follower = apps.names[apps.edges[edge].1], "lost a lease to another instance (this one stalled past its time to live)");
                false
            }
            Err(e) => {
                tracing::warn!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), error = %e.report(), "could not renew a lease");
                Instant::now() < until
            }
        }
    }

    /// Tries to take `edge`'s lease.
    fn take(&self, apps: &Apps, edge: usize) -> bool {
        let Some(ttl) = self.ttls[edge] else {
            return false;
        };
        let asked = Instant::now();
        let recorder = apps.apps[apps.edges[edge].1].application().recorder();
        match recorder.acquire_lease(&edge_lease(apps, edge), &self.holder, ttl) {
            Ok(true) => {
                tracing::info!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), follower = apps.names[apps.edges[edge].1], holder = %self.holder, "took a lease: processing this edge");
                lock(&self.held)[edge] = Held::Until(asked + ttl);
                self.changed.notify_all();
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::debug!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), error = %e.report(), "could not take a lease");
                false
            }
        }
    }

    fn lose(&self, edge: usize, lost: &dyn Fn(usize)) {
        lock(&self.held)[edge] = Held::No;
        lost(edge);
    }

    fn release(&self, apps: &Apps, edge: usize) {
        let recorder = apps.apps[apps.edges[edge].1].application().recorder();
        if let Err(e) = recorder.release_lease(&edge_lease(apps, edge), &self.holder) {
            tracing::warn!(target: "eventsourcing::runner", lease = %edge_lease(apps, edge), error = %e.report(), "could not free a lease: it runs out by itself");
        }
    }

    /// Frees every lease this instance holds and its membership: the runner has stopped
    /// processing.
    pub(crate) fn release_all(&self, apps: &Apps) {
        let held: Vec<usize> = {
            let mut held = lock(&self.held);
            let mine = (0..held.len())
                .filter(|&e| matches!(held[e], Held::Until(_)))
                .collect();
            for h in held.iter_mut() {
                if *h != Held::Unleased {
                    *h = Held::No;
                }
            }
            mine
        };
        let releasing = std::mem::take(&mut *lock(&self.releasing));
        for edge in held.into_iter().chain(releasing) {
            self.release(apps, edge);
        }
        let member = format!("member:{}", self.holder);
        let mut followers: Vec<usize> = (0..self.ttls.len())
            .filter(|&e| self.ttls[e].is_some())
            .map(|e| apps.edges[e].1)
            .collect();
        followers.sort_unstable();
        followers.dedup();
        for f in followers {
            let _ = apps.apps[f]
                .application()
                .recorder()
                .release_lease(&member, &self.holder);
        }
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::new("Counters").with_all(vars.iter().copied())
    }

    #[test]
    fn settings_are_off_by_default_and_name_the_key_when_wrong() {
        assert_eq!(settings(&env(&[])).unwrap(), None);
        assert_eq!(
            settings(&env(&[("RUNNER_LEASES", "on")])).unwrap(),
            Some(DEFAULT_LEASE_TTL)
        );
        let ttl = [
            ("COUNTERS_RUNNER_LEASES", "yes"),
            ("RUNNER_LEASE_TTL", "2.5"),
        ];
        assert_eq!(
            settings(&env(&ttl)).unwrap(),
            Some(Duration::from_millis(2500))
        );
        for bad in ["0", "-1", "NaN", "1e9", "soon"] {
            let e = settings(&env(&[
                ("RUNNER_LEASES", "on"),
                ("COUNTERS_RUNNER_LEASE_TTL", bad),
            ]))
            .unwrap_err();
            assert!(e.is_config(), "{bad}: {e}");
            assert!(
                e.to_string().contains("COUNTERS_RUNNER_LEASE_TTL"),
                "{bad}: {e}"
            );
        }
        assert!(
            settings(&env(&[("RUNNER_LEASES", "maybe")]))
                .unwrap_err()
                .is_config()
        );
    }

    #[test]
    fn holders_differ_within_one_process() {
        let (a, b) = (holder(), holder());
        assert_ne!(a, b);
        assert_eq!(
            a.split(':').nth(1),
            Some(std::process::id().to_string().as_str())
        );
    }
}
