//! Pulling and processing: the one place a follower turns upstream notifications into its own
//! events and tracking.

use crate::application::{Pending, UnitOfWork};
use crate::{Error, NotificationQuery, Result, Tracking};

use super::{NodeApp, Processing, Received};

/// Notifications selected per pull.
pub(crate) const PULL_BATCH: usize = 100;

/// Runs process application `follower`'s policy on one notification of `leader` (whose states
/// `leader_mapper` decodes) and records what it collects with the tracking record, in one
/// transaction: exactly what a runner does for each notification. For tests of a policy
/// (the facade's `testing::PolicyTest`) and for runners of your own.
///
/// # Errors
///
/// [`Error::TrackingConflict`] when the follower has processed the notification already;
/// [`Error::Processing`] wrapping the policy's or the recorder's error.
pub fn process_notification<F: super::ProcessApplication>(
    follower: &F,
    leader: &str,
    leader_mapper: &crate::mapper::Mapper,
    notification: &crate::Notification,
) -> Result<()> {
    let follows = F::follows();
    process_with(
        follower.application(),
        &policy_of(follower, follows.as_ref()),
        leader,
        leader_mapper,
        notification,
    )
}

/// `follower`'s policy as a runner calls it, with what it declared it follows.
fn policy_of<'a, F: super::ProcessApplication>(
    follower: &'a F,
    follows: Option<&'a super::Topics>,
) -> impl Fn(&Received<'_>, &mut Processing) -> Option<Result<()>> + 'a {
    move |received, processing| {
        Some(super::follow_policy(
            follower, follows, received, processing,
        ))
    }
}

/// Processes consecutive `notifications` of `leader` by `follower` in one transaction (see
/// [`process_notifications`]); calls `processed` once per notification processed.
pub(crate) fn process_batch(
    follower: &dyn NodeApp,
    leader_name: &str,
    leader: &dyn NodeApp,
    notifications: &[crate::Notification],
    processed: &mut dyn FnMut(),
) -> Result<()> {
    batch_with(
        follower.application(),
        &|received, processing| follower.process(received, processing),
        leader_name,
        leader.application().mapper(),
        notifications,
        processed,
    )
}

/// Processes consecutive `notifications` of `leader` as a runner does with a backlog: the
/// policy runs on each in order and everything it collects is recorded with one tracking
/// record covering them all (`Tracking::batch`: refused if any of them is tracked already) in
/// **one** transaction. While the batch runs, the
/// follower's `get` on this thread returns the aggregates changed for earlier notifications of
/// the batch, so the result equals [`process_notification`] on each in turn. On any error in
/// the batch (a policy's, the recorder's), nothing of it is recorded and the notifications are
/// processed one at a time instead, so the failing one is isolated and the ones before it are
/// recorded, exactly as without batching. Policies run again then, so they must only decide
/// from what they read and collect (as on every retry).
///
/// # Errors
///
/// As [`process_notification`], for the first notification that fails one at a time.
pub fn process_notifications<F: super::ProcessApplication>(
    follower: &F,
    leader: &str,
    leader_mapper: &crate::mapper::Mapper,
    notifications: &[crate::Notification],
) -> Result<()> {
    let follows = F::follows();
    batch_with(
        follower.application(),
        &policy_of(follower, follows.as_ref()),
        leader,
        leader_mapper,
        notifications,
        &mut || {},
    )
}

fn batch_with(
    follower: &crate::application::Application,
    policy: &Policy<'_>,
    leader_name: &str,
    mapper: &crate::mapper::Mapper,
    notifications: &[crate::Notification],
    processed: &mut dyn FnMut(),
) -> Result<()> {
    let [first, .., last] = notifications else {
        for n in notifications {
            process_with(follower, policy, leader_name, mapper, n)?;
            processed();
        }
        return Ok(());
    };
    match try_batch(follower, policy, leader_name, mapper, notifications) {
        Ok(()) => {
            tracing::debug!(
                target: "eventsourcing::runner",
                leader = leader_name,
                follower = follower.name(),
                first = first.id,
                last = last.id,
                "processed a batch"
            );
            notifications.iter().for_each(|_| processed());
            return Ok(());
        }
        Err(e) if e.is_tracking_conflict() => return Err(e),
        // Committed: its listeners (a single-threaded runner's followers) failed after.
        Err(e @ Error::Recorded { .. }) => {
            notifications.iter().for_each(|_| processed());
            return Err(Error::Processing {
                application: follower.name().to_owned(),
                leader: leader_name.to_owned(),
                notification_id: last.id,
                source: Box::new(e),
            });
        }
        Err(e) => tracing::debug!(
            target: "eventsourcing::runner",
            leader = leader_name,
            follower = follower.name(),
            first = first.id,
            last = last.id,
            error = %e.report(),
            "a batch failed; processing its notifications one at a time"
        ),
    }
    for n in notifications {
        process_with(follower, policy, leader_name, mapper, n)?;
        processed();
    }
    Ok(())
}

/// The batch in one transaction, or an error with nothing of it recorded (except
/// [`Error::Recorded`]: committed, then a listener failed).
fn try_batch(
    follower: &crate::application::Application,
    policy: &Policy<'_>,
    leader_name: &str,
    mapper: &crate::mapper::Mapper,
    notifications: &[crate::Notification],
) -> Result<()> {
    let (Some(first), Some(last)) = (notifications.first(), notifications.last()) else {
        return Ok(());
    };
    let unit = UnitOfWork::begin(follower);
    let mut collected: Vec<Box<dyn Pending>> = Vec::with_capacity(notifications.len());
    // One `Processing` for the batch, its tracking set to each notification in turn.
    let mut processing = Processing::new(Tracking::new(leader_name, first.id));
    for notification in notifications {
        let received = Received {
            leader: leader_name,
            notification,
            mapper,
        };
        processing.tracking.notification_id = notification.id;
        processing.tracking.first_notification_id = notification.id;
        match run_policy(policy, &received, &mut processing) {
            None => return Ok(()),
            Some(result) => result?,
        }
        for aggregate in &processing.collected {
            unit.changed(&**aggregate);
        }
        collected.append(&mut processing.collected);
    }
    drop(unit);
    let mut refs: Vec<&mut dyn Pending> = collected
        .iter_mut()
        .map(|b| &mut **b as &mut dyn Pending)
        .collect();
    // Covering the whole batch: an instance that tracked any of it already makes this conflict.
    let tracking = Tracking::batch(leader_name, first.id, last.id);
    follower.record(&mut refs, Some(&tracking)).map(drop)
}

type Policy<'a> = dyn Fn(&Received<'_>, &mut Processing) -> Option<Result<()>> + 'a;

/// Runs `policy`, a panic in it becoming the policy's error ([`Error::Panicked`]): the
/// notification fails as with any policy error, the thread lives on.
fn run_policy(
    policy: &Policy<'_>,
    received: &Received<'_>,
    processing: &mut Processing,
) -> Option<Result<()>> {
    crate::sync::catch_panic(|| policy(received, processing)).unwrap_or_else(|e| Some(Err(e)))
}

fn process_with(
    follower: &crate::application::Application,
    policy: &Policy<'_>,
    leader_name: &str,
    mapper: &crate::mapper::Mapper,
    notification: &crate::Notification,
) -> Result<()> {
    let received = Received {
        leader: leader_name,
        notification,
        mapper,
    };
    tracing::trace!(
        target: "eventsourcing::runner",
        leader = leader_name,
        follower = follower.name(),
        notification_id = notification.id,
        topic = %notification.topic,
        "processing"
    );
    let mut processing = Processing::new(Tracking::new(leader_name, notification.id));
    let wrap = |source: Error| Error::Processing {
        application: follower.name().to_owned(),
        leader: leader_name.to_owned(),
        notification_id: notification.id,
        source: Box::new(source),
    };
    match run_policy(policy, &received, &mut processing) {
        None => return Ok(()),
        Some(result) => result.map_err(wrap)?,
    }
    let tracking = processing.tracking;
    let mut refs: Vec<&mut dyn Pending> = processing
        .collected
        .iter_mut()
        .map(|b| &mut **b as &mut dyn Pending)
        .collect();
    match follower.record(&mut refs, Some(&tracking)) {
        Ok(_) => Ok(()),
        Err(e) if e.is_tracking_conflict() => Err(e),
        Err(e) => Err(wrap(e)),
    }
}

/// Retries `leader`'s parked notification `notification_id` through `follower`'s policy: what
/// the policy collects is recorded with the parked aggregate's `Retried` event, in one
/// transaction and without tracking (the edge moved past it when it was parked), so a second
/// retry of the same notification is a version conflict and records nothing.
pub(crate) fn retry_parked(
    follower: &dyn NodeApp,
    leader_name: &str,
    leader: &dyn NodeApp,
    notification_id: crate::NotificationId,
) -> Result<()> {
    let app = follower.application();
    let mut parked = super::parked::open_parked(app, leader_name, notification_id)?;
    let log = leader.application().recorder();
    let notification = super::parked::notification(&**log, leader_name, notification_id)?;
    let received = Received {
        leader: leader_name,
        notification: &notification,
        mapper: leader.application().mapper(),
    };
    let wrap = |source: Error| Error::Processing {
        application: app.name().to_owned(),
        leader: leader_name.to_owned(),
        notification_id,
        source: Box::new(source),
    };
    let mut processing = Processing::new(Tracking::new(leader_name, notification_id));
    let policy = |r: &Received<'_>, p: &mut Processing| follower.process(r, p);
    if let Some(result) = run_policy(&policy, &received, &mut processing) {
        result.map_err(wrap)?;
    }
    parked.trigger(super::parked::ParkedEvent::Retried);
    let mut refs: Vec<&mut dyn Pending> = processing
        .collected
        .iter_mut()
        .map(|b| &mut **b as &mut dyn Pending)
        .collect();
    refs.push(&mut parked);
    app.record(&mut refs, None).map_err(wrap)?;
    tracing::info!(
        target: "eventsourcing::runner",
        leader = leader_name,
        follower = app.name(),
        notification_id,
        "retried a parked notification"
    );
    Ok(())
}

/// Processes every notification of `leader` after `follower`'s tracking position, in order
/// and in batches of up to `batch`, calling `processed` after each notification.
pub(crate) fn pull_and_process(
    follower: &dyn NodeApp,
    leader_name: &str,
    leader: &dyn NodeApp,
    batch: usize,
    processed: &mut dyn FnMut(),
) -> Result<()> {
    let mut position = follower
        .application()
        .recorder()
        .max_tracking_id(leader_name)?;
    loop {
        let mut query = NotificationQuery::new(PULL_BATCH.max(batch));
        if let Some(p) = position {
            query = query.after(p);
        }
        let page = leader
            .application()
            .recorder()
            .select_notifications(&query)?;
        if page.is_empty() {
            return Ok(());
        }
        for chunk in page.chunks(batch.max(1)) {
            match process_batch(follower, leader_name, leader, chunk, processed) {
                Ok(()) => position = chunk.last().map(|n| n.id),
                Err(e) if e.is_tracking_conflict() => {
                    position = follower
                        .application()
                        .recorder()
                        .max_tracking_id(leader_name)?;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
