//! [`ReadAll`]: an application's notifications from a position, in pages of a chosen size, for
//! projections and exports; optionally only some topics, optionally decoded.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::Application;
use crate::domain::{Envelope, Event};
use crate::mapper::Mapper;
use crate::{
    Error, MAX_NOTIFICATION_LIMIT, Notification, NotificationId, NotificationQuery,
    ProcessRecorder, Result,
};

/// The default page size of [`ReadAll`].
pub const DEFAULT_PAGE_SIZE: usize = 1_000;

/// An application's notifications after a position, in id order (the order subscriptions
/// deliver), read a page at a time until the log is exhausted: see [`Application::read_all`].
///
/// Where the recorder [reads ahead](crate::ApplicationRecorder::reads_ahead) (PostgreSQL),
/// after a full first page the next page is selected on a helper thread while the caller works
/// through the current one (at most one page ahead, so memory stays bounded by two pages);
/// dropping the iterator ends the helper after its current select. A read that fits in one
/// page never starts it; [`prefetch`](Self::prefetch) overrides the recorder's choice.
///
/// ```
/// # use es_testkit::apps::domain::{Dog, DogEvent};
/// # use es_core::domain::Root;
/// # use es_core::{Env, Recorders};
/// # let recorders = Recorders::new(std::sync::Arc::new(es_popo::PopoProcessRecorder::default()));
/// # let school = es_core::application::Application::new(Env::new("DogSchool"), recorders)?;
/// for name in ["Fido", "Rex", "Milly"] {
///     let mut dog = Dog::register(name);
///     dog.trigger(dog.add_trick("sit"));
///     school.save(&mut dog)?;
/// }
/// // Every notification, in pages of 2.
/// assert_eq!(school.read_all().page_size(2).count(), 6);
/// // The tricks after notification 2, decoded.
/// let tricks: Vec<_> = school
///     .read_all()
///     .after(2)
///     .topics(["Dog.TrickAdded"])
///     .events::<DogEvent>()
///     .map(|e| e.map(|(id, envelope)| (id, envelope.originator_version)))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(tricks, [(4, 2), (6, 2)]);
/// # Ok::<(), es_core::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "an iterator does nothing unless consumed"]
pub struct ReadAll {
    recorder: Arc<dyn ProcessRecorder>,
    mapper: Mapper,
    after: Option<NotificationId>,
    page_size: usize,
    topics: Vec<String>,
    page: std::vec::IntoIter<Notification>,
    done: bool,
    prefetch: bool,
    ahead: Option<Receiver<Result<Vec<Notification>>>>,
}

impl Application {
    /// Every notification of this application from the start, in pages of
    /// [`DEFAULT_PAGE_SIZE`]: see [`ReadAll`].
    pub fn read_all(&self) -> ReadAll {
        ReadAll {
            recorder: Arc::clone(self.recorder()),
            mapper: self.mapper().clone(),
            after: None,
            page_size: DEFAULT_PAGE_SIZE,
            topics: Vec::new(),
            page: Vec::new().into_iter(),
            done: false,
            prefetch: self.recorder().reads_ahead(),
            ahead: None,
        }
    }
}

impl ReadAll {
    /// Only the notifications after `id`.
    pub fn after(mut self, id: NotificationId) -> Self {
        self.after = Some(id);
        self
    }

    /// Selects `size` notifications at a time (1 to [`MAX_NOTIFICATION_LIMIT`]).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size.clamp(1, MAX_NOTIFICATION_LIMIT);
        self
    }

    /// Only the notifications of these topics (the recorder filters).
    pub fn topics<I: IntoIterator<Item = S>, S: Into<String>>(mut self, topics: I) -> Self {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// Whether pages after a full first one are selected ahead on a helper thread, overlapping
    /// the store's I/O with the caller's work (by default, where the recorder
    /// [reads ahead](crate::ApplicationRecorder::reads_ahead)).
    pub fn prefetch(mut self, on: bool) -> Self {
        self.prefetch = on;
        self
    }

    /// The notifications of `E`'s topics, decoded with the application's mapper, with their
    /// notification ids; notifications of other types are skipped.
    pub fn events<E: Event>(self) -> Events<E> {
        Events {
            read: self,
            event: std::marker::PhantomData,
        }
    }

    /// The next page: empty once the log is exhausted.
    ///
    /// # Errors
    ///
    /// The recorder's errors.
    pub fn next_page(&mut self) -> Result<Vec<Notification>> {
        if self.done {
            return Ok(Vec::new());
        }
        let page = match &self.ahead {
            Some(ahead) => ahead.recv().unwrap_or_else(|_| {
                Err(Error::programming(
                    "the read-ahead thread of read_all ended",
                ))
            }),
            None => select(
                self.recorder.as_ref(),
                self.after,
                self.page_size,
                &self.topics,
            ),
        };
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        self.done = page.len() < self.page_size;
        if let Some(last) = page.last() {
            self.after = Some(last.id);
        }
        if !self.done && self.prefetch && self.ahead.is_none() {
            self.ahead = self.read_ahead();
        }
        Ok(page)
    }

    /// A helper thread selecting the pages after `self.after`, one ahead of the caller; `None`
    /// when no thread can be started (the pages are then selected in turn).
    fn read_ahead(&self) -> Option<Receiver<Result<Vec<Notification>>>> {
        let (tx, rx) = sync_channel(1);
        let recorder = Arc::clone(&self.recorder);
        let (after, size, topics) = (self.after, self.page_size, self.topics.clone());
        std::thread::Builder::new()
            .name("es-read-ahead".into())
            .spawn(move || read_ahead(recorder.as_ref(), after, size, &topics, &tx))
            .ok()?;
        Some(rx)
    }
}

fn select(
    recorder: &dyn ProcessRecorder,
    after: Option<NotificationId>,
    size: usize,
    topics: &[String],
) -> Result<Vec<Notification>> {
    let mut query = NotificationQuery::new(size).topics(topics.iter().cloned());
    if let Some(after) = after {
        query = query.after(after);
    }
    recorder.select_notifications(&query)
}

/// Sends the pages after `after` until one is short, one fails or the reader is gone.
fn read_ahead(
    recorder: &dyn ProcessRecorder,
    mut after: Option<NotificationId>,
    size: usize,
    topics: &[String],
    tx: &SyncSender<Result<Vec<Notification>>>,
) {
    loop {
        let page = select(recorder, after, size, topics);
        let more = match &page {
            Ok(page) => {
                after = page.last().map(|n| n.id).or(after);
                page.len() == size
            }
            Err(_) => false,
        };
        if tx.send(page).is_err() || !more {
            return;
        }
    }
}

impl Iterator for ReadAll {
    type Item = Result<Notification>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.page.next() {
                return Some(Ok(n));
            }
            if self.done {
                return None;
            }
            match self.next_page() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(page) if page.is_empty() => return None,
                Ok(page) => self.page = page.into_iter(),
            }
        }
    }
}

/// [`ReadAll::events`]: decoded events with their notification ids.
#[derive(Debug)]
#[must_use = "an iterator does nothing unless consumed"]
pub struct Events<E> {
    read: ReadAll,
    event: std::marker::PhantomData<fn() -> E>,
}

impl<E: Event> Iterator for Events<E> {
    type Item = Result<(NotificationId, Envelope<E>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let n = match self.read.next()? {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            if !E::handles(&n.topic) {
                continue;
            }
            let decoded = self.read.mapper.to_envelope(
                n.originator_id,
                n.originator_version,
                &n.topic,
                &n.state,
            );
            return Some(decoded.map(|envelope| (n.id, envelope)));
        }
    }
}
