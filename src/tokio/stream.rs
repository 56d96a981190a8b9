//! [`NotificationStream`]: a subscription as a [`Stream`].

use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::sync::mpsc;
use futures_core::Stream;

use crate::persistence::{Notification, StopHandle, Subscription};
use crate::{Error, Result};

/// A subscription's notifications as a [`Stream`], in id order: what is recorded, then what is
/// recorded later, until dropped.
///
/// A thread of its own reads the sync [`Subscription`] and hands each notification over
/// through a channel of bounded capacity: when the consumer is slow the thread waits, and the
/// subscription selects nothing more, so memory stays bounded by the capacity plus one page of
/// the subscription (500). Dropping the stream stops the subscription and ends the thread,
/// even while it waits for new notifications. An error of the store is yielded once, then the
/// stream ends (subscribe again from the last id seen to resume).
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct NotificationStream {
    rx: mpsc::Receiver<Result<Notification>>,
    stop: StopHandle,
}

impl NotificationStream {
    pub(super) fn new(subscription: Subscription, capacity: usize) -> Result<Self> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let stop = subscription.stop_handle();
        std::thread::Builder::new()
            .name("es-stream".into())
            .spawn(move || forward(subscription, &tx))
            .map_err(|e| Error::Interface {
                source: Box::new(e),
            })?;
        Ok(Self { rx, stop })
    }
}

/// Hands the subscription's items to `tx` until the stream is dropped or an error was sent.
fn forward(subscription: Subscription, tx: &mpsc::Sender<Result<Notification>>) {
    let stop = subscription.stop_handle();
    for item in subscription {
        let failed = item.is_err();
        if tx.blocking_send(item).is_err() || failed {
            break;
        }
    }
    stop.stop();
}

impl Stream for NotificationStream {
    type Item = Result<Notification>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for NotificationStream {
    fn drop(&mut self) {
        self.stop.stop();
    }
}
