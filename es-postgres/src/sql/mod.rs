//! The SQL of one application's tables, built once from validated identifiers. DDL and PL/pgSQL
//! live in the `.sql` files beside this one, with named placeholders (`{events}`) that only
//! [`render`] fills, and only with quoted, validated identifiers; one-line statements are the
//! small builders below. A statement a recorder kind lacks is absent (`None`), never empty.

use es_core::{Error, Result, TablePrefix};

use crate::error::TRACKING_CONFLICT;

const PROLOGUE: &str = include_str!("prologue.sql");
const TRACKING_TABLE: &str = include_str!("tracking_table.sql");
const EVENTS_TABLE: &str = include_str!("events_table.sql");
const SNAPSHOTS_TABLE: &str = include_str!("snapshots_table.sql");
const INSERT_FUNCTION: &str = include_str!("insert_function.sql");
const GROUP_FUNCTION: &str = include_str!("group_function.sql");

/// What a recorder stores: `<app>_snapshots` (no notification log, no lock), `<app>_events`
/// with a notification log, `<app>_tracking` only, or events and tracking.
pub(crate) use es_core::backend::kind::Tables as Kind;

/// Statements of one application's tables in one schema.
#[derive(Debug)]
pub(crate) struct Sql {
    /// DDL, run in one transaction under an advisory lock.
    pub(crate) create: String,
    /// The events (or snapshots) table; `None` for a tracking-only recorder.
    pub(crate) events: Option<EventsSql>,
    /// The notification log of the events table; `None` for snapshots and tracking only.
    pub(crate) log: Option<LogSql>,
    /// The tracking table (every kind has one).
    pub(crate) tracking: TrackingSql,
    /// Terminates a session of this role if it still exists (pid, start time as text); returns
    /// a row while it does.
    pub(crate) end_session: &'static str,
}

/// Statements on the events or snapshots table.
#[derive(Debug)]
pub(crate) struct EventsSql {
    /// One round trip: the insert function (events and optional tracking).
    pub(crate) insert: String,
    pub(crate) select_asc: String,
    pub(crate) select_desc: String,
    /// Which of the given (originator id, version) keys are stored: the key's 1-based position,
    /// topic, state and notification id (0 for snapshots).
    pub(crate) find: String,
}

/// Statements on the notification log.
#[derive(Debug)]
pub(crate) struct LogSql {
    /// One round trip for several callers' inserts (group commit).
    pub(crate) insert_many: String,
    pub(crate) select_notifications: String,
    pub(crate) select_notifications_topics: String,
    pub(crate) max_notification_id: String,
    /// The LISTEN/NOTIFY channel.
    pub(crate) channel: String,
}

/// Statements on the tracking table.
#[derive(Debug)]
pub(crate) struct TrackingSql {
    /// A tracking record alone: returns a row only when the id increased.
    pub(crate) upsert: String,
    pub(crate) max: String,
    /// Takes or renews a lease by the server's clock (`$1` name, `$2` holder, `$3` seconds):
    /// returns a row when the holder has it.
    pub(crate) acquire_lease: String,
    pub(crate) release_lease: String,
    /// The unexpired leases whose names begin with `$1`.
    pub(crate) leases: String,
}

/// `template` with each `{name}` replaced by its value.
///
/// # Errors
///
/// [`Error::Programming`] if a placeholder is left unfilled (a template and its caller
/// disagree).
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    let unfilled = out.match_indices('{').find_map(|(open, _)| {
        let close = open + out[open..].find('}')?;
        placeholder(&out[open + 1..close]).then(|| out[open..=close].to_owned())
    });
    match unfilled {
        Some(name) => Err(Error::programming(format!("unfilled placeholder {name}"))),
        None => Ok(out),
    }
}

fn placeholder(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

impl Sql {
    pub(crate) fn new(schema: &TablePrefix, app: &TablePrefix, kind: Kind) -> Result<Self> {
        let s = schema.as_str();
        let q = |t: &str| format!("\"{s}\".\"{t}\"");
        let events_name = app.table(if kind == Kind::Snapshots {
            "_snapshots"
        } else {
            "_events"
        })?;
        let function = q(&app.table(if kind == Kind::Snapshots {
            "_snapshots_insert"
        } else {
            "_events_insert"
        })?);
        let (e, t) = (q(&events_name), q(&app.table("_tracking")?));
        let leases = q(&app.table("_leases")?);
        let has_log = matches!(kind, Kind::Events | Kind::Process);
        let mut channel = format!("{s}_{events_name}");
        channel.truncate(es_core::MAX_IDENTIFIER_LEN);
        let lock = if has_log {
            format!("LOCK TABLE {e} IN EXCLUSIVE MODE; PERFORM pg_notify('{channel}', '');")
        } else {
            String::new()
        };
        let index = format!("\"{}\"", app.table("_events_nid_idx")?);
        let schema_q = format!("\"{s}\"");
        let group = q(&app.table("_events_batch")?);
        let returning = if has_log {
            "RETURNING notification_id"
        } else {
            "RETURNING 0::bigint"
        };
        let values: [(&str, &str); 10] = [
            ("schema", &schema_q),
            ("events", &e),
            ("tracking", &t),
            ("index", &index),
            ("function", &function),
            ("lock", &lock),
            ("returning", returning),
            ("tracking_conflict", TRACKING_CONFLICT),
            ("group", &group),
            ("leases", &leases),
        ];
        let mut create = render(PROLOGUE, &values)? + &render(TRACKING_TABLE, &values)?;
        match kind {
            Kind::Tracking => {}
            Kind::Snapshots => create += &render(SNAPSHOTS_TABLE, &values)?,
            Kind::Events | Kind::Process => create += &render(EVENTS_TABLE, &values)?,
        }
        if kind != Kind::Tracking {
            create += &render(INSERT_FUNCTION, &values)?;
        }
        if has_log {
            let mut group_values = values;
            group_values[4] = ("function", &group);
            create += &render(GROUP_FUNCTION, &group_values)?;
        }
        Ok(Self {
            create,
            events: (kind != Kind::Tracking).then(|| EventsSql::new(&e, &function, has_log)),
            log: has_log.then(|| LogSql::new(&e, &group, channel)),
            tracking: TrackingSql::new(&t, &leases),
            end_session: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                          WHERE pid = $1 AND backend_start::text = $2",
        })
    }

    /// The events table's statements.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a tracking-only recorder.
    pub(crate) fn events(&self) -> Result<&EventsSql> {
        self.events
            .as_ref()
            .ok_or_else(|| Error::programming("this recorder has no events table"))
    }

    /// The notification log's statements.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for a recorder without a notification log.
    pub(crate) fn log(&self) -> Result<&LogSql> {
        self.log
            .as_ref()
            .ok_or_else(|| Error::programming("this recorder has no notification log"))
    }
}

impl EventsSql {
    fn new(e: &str, function: &str, has_log: bool) -> Self {
        let select = format!(
            "SELECT originator_version, topic, state FROM {e} WHERE originator_id = $1 \
             AND originator_version > $2 AND originator_version <= $3 ORDER BY originator_version"
        );
        let nid = if has_log {
            "e.notification_id"
        } else {
            "0::bigint"
        };
        Self {
            insert: format!("SELECT * FROM {function}($1, $2, $3, $4, $5, $6, $7)"),
            select_asc: format!("{select} ASC LIMIT $4"),
            select_desc: format!("{select} DESC LIMIT $4"),
            find: format!(
                "SELECT k.i::bigint, e.topic, e.state, {nid} \
                 FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS k(id, v, i) \
                 JOIN {e} e ON e.originator_id = k.id AND e.originator_version = k.v"
            ),
        }
    }
}

impl LogSql {
    fn new(e: &str, group: &str, channel: String) -> Self {
        let notifications = format!(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {e} \
             WHERE notification_id >= $1 AND notification_id <= $2"
        );
        Self {
            insert_many: format!(
                "SELECT r_caller, r_id, r_failure FROM {group}($1, $2, $3, $4, $5, $6, $7, $8)"
            ),
            select_notifications: format!("{notifications} ORDER BY notification_id LIMIT $3"),
            select_notifications_topics: format!(
                "{notifications} AND topic = ANY($4) ORDER BY notification_id LIMIT $3"
            ),
            max_notification_id: format!("SELECT MAX(notification_id) FROM {e}"),
            channel,
        }
    }
}

impl TrackingSql {
    fn new(t: &str, l: &str) -> Self {
        Self {
            acquire_lease: format!(
                "INSERT INTO {l} AS l (lease_name, holder, expires_at) \
                 VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3)) \
                 ON CONFLICT (lease_name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at \
                 WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp() \
                 RETURNING 1"
            ),
            release_lease: format!("DELETE FROM {l} WHERE lease_name = $1 AND holder = $2"),
            leases: format!(
                "SELECT lease_name, holder FROM {l} \
                 WHERE starts_with(lease_name, $1) AND expires_at > clock_timestamp() \
                 ORDER BY lease_name COLLATE \"C\""
            ),
            upsert: format!(
                "INSERT INTO {t} AS t (application_name, notification_id) VALUES ($1, $2) \
                 ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id \
                 WHERE t.notification_id < $3 RETURNING notification_id"
            ),
            max: format!("SELECT notification_id FROM {t} WHERE application_name = $1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(kind: Kind) -> Sql {
        Sql::new(
            &TablePrefix::new("s").unwrap(),
            &TablePrefix::new("App").unwrap(),
            kind,
        )
        .unwrap()
    }

    #[test]
    fn every_placeholder_is_filled_for_every_kind() {
        for kind in [Kind::Snapshots, Kind::Events, Kind::Tracking, Kind::Process] {
            let create = sql(kind).create;
            assert!(
                !create.contains("{events}") && !create.contains("{lock}"),
                "{create}"
            );
            assert!(create.contains("\"s\".\"app_tracking\""), "{create}");
        }
    }

    #[test]
    fn kinds_have_exactly_their_statements() {
        let process = sql(Kind::Process);
        assert!(process.events.is_some() && process.log.is_some());
        assert!(
            process
                .create
                .contains("LOCK TABLE \"s\".\"app_events\" IN EXCLUSIVE MODE")
        );
        assert!(process.create.contains("\"s\".\"app_events_batch\"("));
        let snapshots = sql(Kind::Snapshots);
        assert!(snapshots.events.is_some() && snapshots.log.is_none());
        assert!(!snapshots.create.contains("LOCK TABLE"));
        assert!(!snapshots.create.contains("_batch"));
        let tracking = sql(Kind::Tracking);
        assert!(tracking.events.is_none() && tracking.log.is_none());
        assert!(tracking.events().unwrap_err().is_programming());
        assert!(!tracking.create.contains("FUNCTION"));
    }

    #[test]
    fn an_unfilled_placeholder_is_an_error() {
        let err = render("SELECT * FROM {events}", &[("tracking", "t")]).unwrap_err();
        assert!(err.is_programming(), "{err}");
        assert!(
            err.report().to_string().contains("{events}"),
            "{}",
            err.report()
        );
        // PL/pgSQL braces that are not placeholders pass.
        assert!(render("SELECT '{1,2}'::int[]", &[]).is_ok());
    }
}
