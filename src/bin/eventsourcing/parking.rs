//! `park`, `parked`, `retry` and `drop-parked`: a way out of a poison notification (see
//! `eventsourcing::system::parked`). Each returns `Ok(true)` on success.

use eventsourcing::application::Application;
use eventsourcing::system::parked::{self, Parked};
use eventsourcing::{Result, open_recorders};

use crate::inspect::env;

/// `name`'s application from the process environment, never creating tables.
fn application(name: &str) -> Result<Application> {
    let env = env(name);
    let recorders = open_recorders(&env, false)?;
    Application::new(env, recorders)
}

pub(crate) fn park(follower: &str, leader: &str, reason: &str) -> Result<bool> {
    let app = application(follower)?;
    let log = open_recorders(&env(leader), false)?.events;
    let id = parked::park(&app, leader, &*log, reason)?;
    println!(
        "{follower} parked notification {id} of {leader}: its edge goes on without it (a \
         multi-threaded runner within a second; a single-threaded one at {leader}'s next save)"
    );
    Ok(true)
}

pub(crate) fn list(follower: &str) -> Result<bool> {
    for Parked {
        leader,
        notification_id,
        topic,
        reason,
        status,
    } in parked::parked(&application(follower)?)?
    {
        println!("{leader}\t{notification_id}\t{topic}\t{status:?}\t{reason}");
    }
    Ok(true)
}

pub(crate) fn retry(follower: &str, leader: &str, notification_id: u64) -> Result<bool> {
    parked::request_retry(&application(follower)?, leader, notification_id)?;
    println!(
        "retry of notification {notification_id} of {leader} requested: a runner of \
         {follower} processes it through its policy when it next starts"
    );
    Ok(true)
}

pub(crate) fn drop(
    follower: &str,
    leader: &str,
    notification_id: u64,
    reason: &str,
) -> Result<bool> {
    parked::drop_parked(&application(follower)?, leader, notification_id, reason)?;
    println!("notification {notification_id} of {leader} dropped by {follower}");
    Ok(true)
}
