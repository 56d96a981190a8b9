//! The notification log: an application's events in id order, by sections (`"1,10"`) as the
//! Python library serves them, and a reader that walks it.

use std::sync::Arc;

use crate::{
    Env, Error, MAX_NOTIFICATION_LIMIT, Notification, NotificationId, NotificationQuery,
    ProcessRecorder, Result,
};

/// One page of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `"<first id>,<last id>"` of the items, or `None` when empty.
    pub id: Option<String>,
    /// The notifications.
    pub items: Vec<Notification>,
    /// The next section's id when this one is full, else `None`.
    pub next_id: Option<String>,
}

/// An application's notification log, read in sections of at most `section_size`.
#[derive(Debug, Clone)]
pub struct NotificationLog {
    recorder: Arc<dyn ProcessRecorder>,
    section_size: usize,
}

/// The default section size.
pub const DEFAULT_SECTION_SIZE: usize = 10;

/// The section size `LOG_SECTION_SIZE` sets (app-prefixed first): 1 to
/// [`MAX_NOTIFICATION_LIMIT`], [`DEFAULT_SECTION_SIZE`] when unset.
pub(super) fn section_size(env: &Env) -> Result<usize> {
    match env.parse::<usize>("LOG_SECTION_SIZE")? {
        None => Ok(DEFAULT_SECTION_SIZE),
        Some(n) if (1..=MAX_NOTIFICATION_LIMIT).contains(&n) => Ok(n),
        Some(_) => {
            let key = env
                .lookup("LOG_SECTION_SIZE")
                .map_or_else(|| "LOG_SECTION_SIZE".to_owned(), |(k, _)| k);
            Err(Error::config(
                key,
                format!("expected a section size from 1 to {MAX_NOTIFICATION_LIMIT}"),
            ))
        }
    }
}

fn parse_section_id(section_id: &str) -> Result<(i128, i128)> {
    let bad = || {
        Error::programming(format!(
            "invalid section id {section_id:?}: expected \"first,last\""
        ))
    };
    let (a, b) = section_id.split_once(',').ok_or_else(bad)?;
    let a = a.trim().parse::<i128>().map_err(|_| bad())?;
    let b = b.trim().parse::<i128>().map_err(|_| bad())?;
    Ok((a, b))
}

impl NotificationLog {
    /// The log of `recorder`.
    pub fn new(recorder: Arc<dyn ProcessRecorder>, section_size: usize) -> Self {
        Self {
            recorder,
            section_size: section_size.max(1),
        }
    }

    /// The most notifications a section holds.
    pub fn section_size(&self) -> usize {
        self.section_size
    }

    /// The section `"first,last"`: from `max(1, first)`, at most `min(last - start + 1,
    /// section_size)` notifications (crossing gaps in the ids); `next_id` is
    /// `"<last id + 1>,<last id + limit>"` when the section is full.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a malformed id; the recorder's errors.
    pub fn section(&self, section_id: &str) -> Result<Section> {
        let (first, last) = parse_section_id(section_id)?;
        let start = first.max(1);
        let size = i128::try_from(self.section_size).unwrap_or(i128::MAX);
        let limit = usize::try_from((last - start + 1).clamp(0, size)).unwrap_or(0);
        let start = NotificationId::try_from(start).unwrap_or(NotificationId::MAX);
        let items = if limit == 0 {
            Vec::new()
        } else {
            self.recorder
                .select_notifications(&NotificationQuery::new(limit).start_at(start))?
        };
        let id = match (items.first(), items.last()) {
            (Some(a), Some(b)) => Some(format!("{},{}", a.id, b.id)),
            _ => None,
        };
        let next_id = match items.last() {
            Some(last) if items.len() == limit => {
                let next = last.id + 1;
                Some(format!("{next},{}", next + limit as u64 - 1))
            }
            _ => None,
        };
        Ok(Section { id, items, next_id })
    }

    /// Notifications as [`NotificationQuery`] describes.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when the limit exceeds the section size; the recorder's errors.
    pub fn select(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
        if query.limit > self.section_size {
            return Err(Error::programming(format!(
                "requested limit {} greater than section size {}",
                query.limit, self.section_size
            )));
        }
        self.recorder.select_notifications(query)
    }

    /// Every notification after `gt` (from the start when `None`) with one of `topics`, read
    /// a section at a time, until the log is exhausted.
    pub fn read(&self, gt: Option<NotificationId>, topics: &[String]) -> Reader {
        Reader {
            log: self.clone(),
            last: gt,
            topics: topics.to_vec(),
            page: Vec::new().into_iter(),
            done: false,
        }
    }
}

/// An iterator over the notification log, one section-sized select at a time.
#[derive(Debug)]
pub struct Reader {
    log: NotificationLog,
    last: Option<NotificationId>,
    topics: Vec<String>,
    page: std::vec::IntoIter<Notification>,
    done: bool,
}

impl Iterator for Reader {
    type Item = Result<Notification>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(n) = self.page.next() {
            self.last = Some(n.id);
            return Some(Ok(n));
        }
        if self.done {
            return None;
        }
        let mut q =
            NotificationQuery::new(self.log.section_size).topics(self.topics.iter().cloned());
        if let Some(last) = self.last {
            q = q.after(last);
        }
        match self.log.select(&q) {
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
            Ok(page) if page.is_empty() => {
                self.done = true;
                None
            }
            Ok(page) => {
                self.page = page.into_iter();
                self.next()
            }
        }
    }
}
