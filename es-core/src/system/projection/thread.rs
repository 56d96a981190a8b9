//! The runner's thread: follows the upstream, applies batches, retries what can be retried.

use std::sync::Arc;
use std::time::SystemTime;

use crate::domain::TopicCheck;
use crate::persistence::wake::Waker;
use crate::sync::{catch_panic, lock};
use crate::system::Received;
use crate::system::health::is_transient;
use crate::{Error, Notification, Result, Subscription, Tracking, TrackingRecorder, ViewStore};

use super::Projection;
use super::runner::{MAX_BACKOFF, MIN_BACKOFF, Shared};

impl<S: ViewStore, P: Projection<S>> Shared<S, P> {
    /// The thread: follows until stopped, retrying operational errors, ending at any other.
    pub(super) fn run(&self, subscription: Subscription) {
        let waker = Waker::new();
        self.stop.register(&waker);
        let mut backoff = MIN_BACKOFF;
        let mut first = Some(subscription);
        while !self.stop.is_stopped() {
            let error = match self.follow(first.take()) {
                Ok(()) => break,
                Err(e) => e,
            };
            if error.is_tracking_conflict() {
                lock(&self.status).conflicts += 1;
                continue;
            }
            if is_transient(&error) {
                let first = lock(&self.status)
                    .retrying
                    .replace(error.report().to_string());
                if first.is_none() {
                    tracing::warn!(
                        target: "eventsourcing::projection",
                        projection = P::NAME,
                        leader = %self.leader,
                        error = %error.report(),
                        "the projection cannot proceed; retrying with back-off"
                    );
                }
                waker.wait(Some(backoff));
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            tracing::error!(
                target: "eventsourcing::projection",
                projection = P::NAME,
                leader = %self.leader,
                error = %error.report(),
                "the projection stopped"
            );
            lock(&self.status).failed = Some(Arc::new(error));
            self.ended.stop();
            return;
        }
    }

    /// Subscribes after the view's position and applies batches until stopped (`Ok`) or an
    /// error.
    fn follow(&self, subscription: Option<Subscription>) -> Result<()> {
        let mut subscription = match subscription {
            Some(s) => s,
            None => {
                let position = self.store.max_tracking_id(&self.leader)?;
                let recorder = self.upstream.application().recorder();
                let s = recorder.subscribe(position, &[])?;
                *lock(&self.subscription) = Some(s.stop_handle());
                lock(&self.status).followed = position;
                s
            }
        };
        if self.stop.is_stopped() {
            return Ok(());
        }
        while let Some(first) = subscription.next() {
            let mut batch = vec![first?];
            batch.extend(subscription.take_buffered(self.batch - 1));
            self.apply(&batch)?;
            let mut status = lock(&self.status);
            status.last_processed = Some(SystemTime::now());
            status.followed = batch.last().map(|n| n.id);
            if status.retrying.take().is_some() {
                tracing::warn!(
                    target: "eventsourcing::projection",
                    projection = P::NAME,
                    leader = %self.leader,
                    "the projection proceeds again"
                );
            }
        }
        Ok(())
    }

    /// Applies `batch` in one transaction; when that fails for a reason other than the store
    /// (a projection's error), one notification at a time, so the failing one is isolated.
    fn apply(&self, batch: &[Notification]) -> Result<()> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let tracking = Tracking::batch(&self.leader, first.id, last.id);
        let error = match self.transact(&tracking, batch) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if batch.len() == 1 || error.is_tracking_conflict() || is_transient(&error) {
            return Err(error);
        }
        tracing::debug!(
            target: "eventsourcing::projection",
            projection = P::NAME,
            first = first.id,
            last = last.id,
            error = %error.report(),
            "a batch failed; applying its notifications one at a time"
        );
        for n in batch {
            self.transact(&Tracking::new(&self.leader, n.id), std::slice::from_ref(n))?;
        }
        Ok(())
    }

    fn transact(&self, tracking: &Tracking, batch: &[Notification]) -> Result<()> {
        let mapper = self.upstream.application().mapper();
        self.store.transact(tracking, |tx| {
            for notification in batch {
                let received = Received {
                    leader: &self.leader,
                    notification,
                    mapper,
                };
                let outcome = match self.follows.as_ref().map(|f| f.check(notification)) {
                    Some(Ok(TopicCheck::Foreign)) => Ok(()),
                    Some(Err(e)) => Err(e),
                    Some(Ok(TopicCheck::Known)) | None => {
                        catch_panic(|| self.projection.process(&received, tx)).and_then(|r| r)
                    }
                };
                outcome.map_err(|source| match source {
                    e if e.is_operational() => e,
                    source => Error::Processing {
                        application: P::NAME.to_owned(),
                        leader: self.leader.clone(),
                        notification_id: notification.id,
                        source: Box::new(source),
                    },
                })?;
            }
            Ok(())
        })
    }
}
