//! The lease flaws of [`Broken`]: leases granted twice, kept for ever or freed by anyone, and
//! the check-then-act shapes an author writes when a check and an act are two round trips.

use std::time::Duration;

use es_core::{Lease, LeaseRecorder, Result};

use super::flaws::{Broken, Flaw};

/// The time between a check and its act: a round trip to a store.
const ROUND_TRIP: Duration = Duration::from_micros(300);

impl Broken {
    /// The current (unexpired) holder of `name`.
    fn holder_of(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .inner
            .leases(name)?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.holder))
    }

    fn remember(&self, name: &str, holder: &str, granted: bool) -> bool {
        if granted {
            es_core::sync::lock(&self.granted).insert(name.to_owned(), holder.to_owned());
        }
        granted
    }
}

/// True when `name` matches the LIKE `pattern` as a prefix (`_` one character, `%` any run).
fn like_prefix(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => true,
        Some(('%', rest)) => (0..=name.len()).any(|i| like_prefix(rest, &name[i..])),
        Some((p, rest)) => name
            .split_first()
            .is_some_and(|(c, tail)| (*p == '_' || p == c) && like_prefix(rest, tail)),
    }
}

impl LeaseRecorder for Broken {
    fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let granted = match self.flaw {
            Flaw::SharedLease => self.inner.acquire_lease(name, holder, ttl).map(|_| true)?,
            // Granted or not, the lease stays the first holder's for a year.
            Flaw::ImmortalLease => {
                let free = self.holder_of(name)?.is_none();
                let ttl = if free {
                    Duration::from_secs(31_536_000)
                } else {
                    ttl
                };
                self.inner.acquire_lease(name, holder, ttl)?
            }
            Flaw::AcquireCheckThenAct => match self.holder_of(name)? {
                Some(other) if other != holder => false,
                _ => {
                    std::thread::sleep(ROUND_TRIP);
                    if let Some(now) = self.holder_of(name)? {
                        self.inner.release_lease(name, &now)?;
                    }
                    self.inner.acquire_lease(name, holder, ttl)?
                }
            },
            Flaw::PrefixHolder => match self.holder_of(name)? {
                Some(now) if now != holder && now.starts_with(holder) => {
                    self.inner.release_lease(name, &now)?;
                    self.inner.acquire_lease(name, holder, ttl)?
                }
                _ => self.inner.acquire_lease(name, holder, ttl)?,
            },
            _ => self.inner.acquire_lease(name, holder, ttl)?,
        };
        Ok(self.remember(name, holder, granted))
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        match self.flaw {
            Flaw::AnyoneReleases => match self.holder_of(name)? {
                Some(now) => self.inner.release_lease(name, &now),
                None => Ok(()),
            },
            Flaw::ReleaseCheckThenAct => {
                let mine = es_core::sync::lock(&self.granted)
                    .get(name)
                    .map(String::as_str)
                    == Some(holder);
                if !mine {
                    return Ok(());
                }
                std::thread::sleep(ROUND_TRIP);
                match self.holder_of(name)? {
                    Some(now) => self.inner.release_lease(name, &now),
                    None => Ok(()),
                }
            }
            Flaw::PrefixHolder => match self.holder_of(name)? {
                Some(now) if now.starts_with(holder) => self.inner.release_lease(name, &now),
                _ => Ok(()),
            },
            _ => self.inner.release_lease(name, holder),
        }
    }

    fn leases(&self, prefix: &str) -> Result<Vec<Lease>> {
        match self.flaw {
            Flaw::UnstableListing => {
                let mut leases = self.inner.leases(prefix)?;
                leases.reverse();
                Ok(leases)
            }
            Flaw::PatternPrefix => {
                let pattern: Vec<char> = prefix.chars().collect();
                Ok(self
                    .inner
                    .leases("")?
                    .into_iter()
                    .filter(|l| like_prefix(&pattern, &l.name.chars().collect::<Vec<_>>()))
                    .collect())
            }
            _ => self.inner.leases(prefix),
        }
    }
}
