//! The commands' work: each returns `Ok(true)` on success, `Ok(false)` when it found problems.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use eventsourcing::domain::Topics;
use eventsourcing::mapper::Mapper;
use eventsourcing::persistence::{Notification, NotificationQuery, ProcessRecorder};
use eventsourcing::{Env, Error, Result, Uuid, open_recorders};

/// Notifications read per page.
const PAGE: usize = 500;
/// Problems listed by `verify` (all are counted).
const SHOWN: usize = 20;

/// The process environment for `application`, never creating tables (a misspelt name is an
/// error, not a new application).
pub(crate) fn env(application: &str) -> Env {
    let env = Env::from_process(application);
    let keys = env.keys_for("CREATE_TABLE");
    keys.into_iter()
        .fold(env, |env, key| env.with(key, "false"))
}

/// `application`'s recorder and mapper, from the process environment.
fn open(application: &str) -> Result<(Arc<dyn ProcessRecorder>, Mapper)> {
    let env = env(application);
    let mapper = Mapper::from_env(&env)?;
    Ok((open_recorders(&env, false)?.events, mapper))
}

pub(crate) fn status(applications: &[String]) -> Result<bool> {
    let mut opened = Vec::with_capacity(applications.len());
    for name in applications {
        let (recorder, _) = open(name)?;
        let max = recorder.max_notification_id()?;
        println!("{name}: highest notification id {}", show(max));
        opened.push((name, recorder, max));
    }
    for (follower, recorder, _) in &opened {
        for (leader, _, leader_max) in &opened {
            if follower == leader {
                continue;
            }
            if let Some(position) = recorder.max_tracking_id(leader)? {
                let lag = leader_max.unwrap_or(0).saturating_sub(position);
                println!("{follower} follows {leader}: at {position}, lag {lag}");
            }
        }
    }
    Ok(true)
}

fn show(id: Option<u64>) -> String {
    id.map_or_else(|| "none".to_owned(), |id| id.to_string())
}

pub(crate) fn tail(
    application: &str,
    after: Option<u64>,
    limit: Option<usize>,
    follow: bool,
    decode: bool,
) -> Result<bool> {
    let (recorder, mapper) = open(application)?;
    let mut out = std::io::stdout().lock();
    if limit == Some(0) {
        return Ok(true);
    }
    let mut left = limit.unwrap_or(usize::MAX);
    let mut print = |n: &Notification| -> Result<bool> {
        let mut line = format!(
            "{}\t{}\t{}\t{}",
            n.id, n.originator_id, n.originator_version, n.topic
        );
        if decode {
            let state = mapper
                .decode_state(&n.state)
                .map_err(|source| Error::Decode {
                    topic: n.topic.clone(),
                    originator_id: n.originator_id,
                    originator_version: n.originator_version,
                    source,
                })?;
            line.push('\t');
            line.push_str(&String::from_utf8_lossy(&state));
        }
        // A closed pipe (`| head`) ends the command quietly.
        if writeln!(out, "{line}").is_err() {
            return Ok(false);
        }
        left -= 1;
        Ok(left > 0)
    };
    if follow {
        for n in recorder.subscribe(after, &[])? {
            match n {
                Ok(n) if !print(&n)? => break,
                Ok(_) => {}
                Err(e) if e.is_operational() => eprintln!("retrying: {}", e.report()),
                Err(e) => return Err(e),
            }
        }
        return Ok(true);
    }
    let mut position = after;
    loop {
        let mut query = NotificationQuery::new(PAGE);
        if let Some(p) = position {
            query = query.after(p);
        }
        let page = recorder.select_notifications(&query)?;
        for n in &page {
            if !print(n)? {
                return Ok(true);
            }
        }
        match page.last() {
            Some(n) => position = Some(n.id),
            None => return Ok(true),
        }
    }
}

/// True when `topic` is under one of `prefixes` (`Dog` owns `Dog` and `Dog.…`), or when no
/// prefix is given.
fn declared(prefixes: &[String], topic: &str) -> bool {
    prefixes.is_empty()
        || std::iter::once("eventsourcing.Parked")
            .chain(prefixes.iter().map(|p| p.trim()))
            .any(|p| Topics::owns(p, topic))
}

pub(crate) fn verify(application: &str, topics: &[String]) -> Result<bool> {
    let (recorder, mapper) = open(application)?;
    let max = recorder.max_notification_id()?.unwrap_or(0);
    let bar = indicatif::ProgressBar::new(max);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} notifications ({eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut problems, mut count) = (Vec::new(), 0u64);
    let mut versions: HashMap<Uuid, u64> = HashMap::new();
    let mut position: Option<u64> = None;
    loop {
        let mut query = NotificationQuery::new(PAGE);
        if let Some(p) = position {
            query = query.after(p);
        }
        let page = recorder.select_notifications(&query)?;
        let Some(last) = page.last() else { break };
        let last = last.id;
        for n in &page {
            count += 1;
            if position.is_some_and(|p| n.id <= p) {
                problems.push(format!(
                    "notification {}: not above {}",
                    n.id,
                    show(position)
                ));
            }
            position = Some(n.id);
            if !declared(topics, &n.topic) {
                problems.push(format!(
                    "notification {}: topic {} is under none of the prefixes {}",
                    n.id,
                    n.topic,
                    topics.join(",")
                ));
            }
            let previous = versions.insert(n.originator_id, n.originator_version);
            let expected = previous.map_or(1, |v| v + 1);
            if n.originator_version != expected {
                problems.push(format!(
                    "notification {}: aggregate {} at version {}, expected {expected}",
                    n.id, n.originator_id, n.originator_version
                ));
            }
            match mapper.decode_state(&n.state) {
                Err(e) => problems.push(format!(
                    "notification {} ({}): the state does not decode: {}",
                    n.id,
                    n.topic,
                    eventsourcing::Report::new(e.as_ref())
                )),
                Ok(state) => {
                    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&state) {
                        problems.push(format!(
                            "notification {} ({}): the state is not JSON: {e}",
                            n.id, n.topic
                        ));
                    }
                }
            }
        }
        bar.set_position(last.min(max));
    }
    bar.finish_and_clear();
    println!(
        "{application}: {count} notifications of {} aggregates verified, {} problems",
        versions.len(),
        problems.len()
    );
    for p in problems.iter().take(SHOWN) {
        println!("  {p}");
    }
    if problems.len() > SHOWN {
        println!("  ... and {} more", problems.len() - SHOWN);
    }
    Ok(problems.is_empty())
}

pub(crate) fn drop_tables(application: &str) -> Result<bool> {
    let env = env(application);
    let module = env
        .get("PERSISTENCE_MODULE")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !module
        .trim_start_matches("eventsourcing.")
        .starts_with("postgres")
    {
        return Err(Error::config(
            "PERSISTENCE_MODULE",
            "drop works on PostgreSQL only; for SQLite, delete the database file",
        ));
    }
    drop_postgres(&env, application)
}

#[cfg(feature = "postgres")]
fn drop_postgres(env: &Env, application: &str) -> Result<bool> {
    use eventsourcing::postgres::{PostgresConfig, drop_postgres_table};
    let config = PostgresConfig::from_env(env)?;
    let prefix = application.to_ascii_lowercase();
    for table in ["events", "snapshots", "tracking", "leases"] {
        drop_postgres_table(&config, &format!("{prefix}_{table}"))?;
    }
    println!(
        "dropped the tables of {application} in schema {}",
        config.schema
    );
    Ok(true)
}

#[cfg(not(feature = "postgres"))]
fn drop_postgres(_: &Env, _: &str) -> Result<bool> {
    Err(Error::config(
        "PERSISTENCE_MODULE",
        "the postgres backend is not compiled into this build; enable the `postgres` feature",
    ))
}
