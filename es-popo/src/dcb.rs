//! [`PopoDcbBackend`]: a DCB log in memory, with indexes by tag and by type.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use es_core::backend::{DcbBackend, Recorder, kind};
use es_core::persistence::dcb::{
    DcbAppendCondition, DcbEvent, DcbQuery, DcbQueryItem, DcbRead, DcbSequencedEvent, Position,
};
use es_core::persistence::wake::Notifier;
use es_core::{Error, Result};

/// An in-memory [`DcbRecorder`](es_core::persistence::dcb::DcbRecorder):
/// `PopoDcbRecorder::default()`. Clones share the log.
pub type PopoDcbRecorder = Recorder<PopoDcbBackend, kind::Dcb>;

#[derive(Debug, Default)]
struct Log {
    /// Position `n` is `events[n - 1]`: gap-free by construction.
    events: Vec<DcbSequencedEvent>,
    /// Tag to the positions of the events carrying it, ascending.
    by_tag: HashMap<String, Vec<Position>>,
    /// Type to the positions of the events of that type, ascending.
    by_type: HashMap<String, Vec<Position>>,
}

impl Log {
    fn head(&self) -> Option<Position> {
        self.events.last().map(|e| e.position)
    }

    fn at(&self, position: Position) -> Option<&DcbSequencedEvent> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.events.get(index)
    }

    /// The positions after `after` of the events that may match `item`, ascending: from the
    /// shortest of its tags' lists, else from its types' lists, else every position.
    fn candidates(&self, item: &DcbQueryItem, after: Position) -> Vec<Position> {
        let above = |list: &[Position]| -> Vec<Position> {
            list[list.partition_point(|&p| p <= after)..].to_vec()
        };
        if !item.tags.is_empty() {
            let lists = item.tags.iter().map(|t| self.by_tag.get(t));
            let mut shortest: Option<&Vec<Position>> = None;
            for list in lists {
                match list {
                    None => return Vec::new(),
                    Some(l) if shortest.is_none_or(|s| l.len() < s.len()) => shortest = Some(l),
                    Some(_) => {}
                }
            }
            return shortest.map(|l| above(l)).unwrap_or_default();
        }
        if !item.types.is_empty() {
            let mut all: Vec<Position> = item
                .types
                .iter()
                .filter_map(|t| self.by_type.get(t))
                .flat_map(|l| above(l))
                .collect();
            all.sort_unstable();
            return all;
        }
        let first = usize::try_from(after).unwrap_or(usize::MAX);
        self.events
            .get(first..)
            .map_or_else(Vec::new, |tail| tail.iter().map(|e| e.position).collect())
    }

    /// The positions after `after` of the events that match `query`, ascending, at most `limit`.
    fn matching(&self, query: &DcbQuery, after: Position, limit: usize) -> Vec<Position> {
        let items: Vec<DcbQueryItem> = if query.items.is_empty() {
            vec![DcbQueryItem::default()]
        } else {
            query.items.clone()
        };
        let mut out: Vec<Position> = Vec::new();
        for item in &items {
            for p in self.candidates(item, after) {
                if self.at(p).is_some_and(|e| item.matches(&e.event)) {
                    out.push(p);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out.truncate(limit);
        out
    }
}

/// The in-memory DCB log behind [`PopoDcbRecorder`]: every append takes the write lock, checks
/// its condition and appends, so positions follow commit order with no gaps.
#[derive(Debug, Default)]
pub struct PopoDcbBackend {
    log: RwLock<Log>,
    appended: Notifier,
}

impl PopoDcbBackend {
    // Nothing panics while the lock is held and appends validate before they mutate, so a
    // poisoned lock still guards a consistent log.
    fn read_log(&self) -> RwLockReadGuard<'_, Log> {
        self.log.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_log(&self) -> RwLockWriteGuard<'_, Log> {
        self.log.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DcbBackend for PopoDcbBackend {
    fn read(
        &self,
        query: &DcbQuery,
        after: Option<Position>,
        limit: Option<usize>,
    ) -> Result<DcbRead> {
        let log = self.read_log();
        let positions = log.matching(query, after.unwrap_or(0), limit.unwrap_or(usize::MAX));
        let events: Vec<DcbSequencedEvent> = positions
            .iter()
            .filter_map(|&p| log.at(p).cloned())
            .collect();
        let head = match limit {
            None => log.head(),
            Some(_) => events.last().map(|e| e.position),
        };
        Ok(DcbRead { events, head })
    }

    fn append(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        let mut log = self.write_log();
        if let Some(c) = condition {
            let after = c.after.unwrap_or(0);
            if !log.matching(&c.fail_if_events_match, after, 1).is_empty() {
                return Err(Error::AppendConditionFailed { after: c.after });
            }
        }
        let head = log.head().unwrap_or(0);
        u64::try_from(events.len())
            .ok()
            .and_then(|n| head.checked_add(n))
            .ok_or_else(|| Error::data("the DCB log is full"))?;
        let mut position = head;
        for event in events {
            position += 1;
            for tag in &event.tags {
                let list = log.by_tag.entry(tag.clone()).or_default();
                // A tag given twice on one event is indexed once.
                if list.last() != Some(&position) {
                    list.push(position);
                }
            }
            log.by_type
                .entry(event.r#type.clone())
                .or_default()
                .push(position);
            log.events.push(DcbSequencedEvent {
                event: event.clone(),
                position,
            });
        }
        drop(log);
        self.appended.notify();
        Ok(position)
    }

    fn head(&self) -> Result<Option<Position>> {
        Ok(self.read_log().head())
    }

    fn events_notifier(&self) -> &Notifier {
        &self.appended
    }
}
