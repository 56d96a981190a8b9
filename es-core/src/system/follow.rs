//! Pulling and processing: the one place a follower turns upstream notifications into its own
//! events and tracking.

use crate::application::Pending;
use crate::{Error, NotificationQuery, Result, Tracking};

use super::{NodeApp, Processing, Received};

/// Notifications selected per pull.
pub(crate) const PULL_BATCH: usize = 100;

/// Processes one notification of `leader` by `follower`: the policy, then its collected
/// aggregates and the tracking record in one transaction. A tracking conflict means another
/// instance processed it already; the caller resumes from the tracking position.
pub(crate) fn process_one(
    follower: &dyn NodeApp,
    leader_name: &str,
    leader: &dyn NodeApp,
    notification: &crate::Notification,
) -> Result<()> {
    process_with(
        follower.application(),
        &|received, processing| follower.process(received, processing),
        leader_name,
        leader.application().mapper(),
        notification,
    )
}

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
    process_with(
        follower.application(),
        &|received, processing| Some(follower.policy(received, processing)),
        leader,
        leader_mapper,
        notification,
    )
}

type Policy<'a> = dyn Fn(&Received<'_>, &mut Processing) -> Option<Result<()>> + 'a;

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
    match policy(&received, &mut processing) {
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

/// Processes every notification of `leader` after `follower`'s tracking position, in order,
/// calling `processed` after each.
pub(crate) fn pull_and_process(
    follower: &dyn NodeApp,
    leader_name: &str,
    leader: &dyn NodeApp,
    processed: &mut dyn FnMut(),
) -> Result<()> {
    let mut position = follower
        .application()
        .recorder()
        .max_tracking_id(leader_name)?;
    loop {
        let mut query = NotificationQuery::new(PULL_BATCH);
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
        for n in &page {
            match process_one(follower, leader_name, leader, n) {
                Ok(()) => {
                    position = Some(n.id);
                    processed();
                }
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
