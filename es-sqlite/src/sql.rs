//! The SQL of one application's tables, built once from validated table names.

use es_core::{Result, TablePrefix};

/// Statements on the events (or snapshots) table of one application.
#[derive(Debug)]
pub(crate) struct EventsSql {
    pub(crate) create: String,
    pub(crate) insert: String,
    pub(crate) select_asc: String,
    pub(crate) select_desc: String,
    pub(crate) select_notifications: String,
    /// `select_notifications` without a topic filter, complete.
    pub(crate) select_notifications_all: String,
    pub(crate) max_notification_id: String,
}

impl EventsSql {
    /// The events table `<prefix>_events`, with a notification log.
    pub(crate) fn events(prefix: &TablePrefix) -> Result<Self> {
        let t = prefix.table("_events")?;
        let create = format!(
            "CREATE TABLE IF NOT EXISTS \"{t}\" (\
             notification_id INTEGER PRIMARY KEY AUTOINCREMENT, \
             originator_id BLOB NOT NULL, \
             originator_version INTEGER NOT NULL, \
             topic TEXT NOT NULL, \
             state BLOB NOT NULL, \
             UNIQUE (originator_id, originator_version))"
        );
        Ok(Self::on(&t, create))
    }

    /// The snapshots table `<prefix>_snapshots`, without a notification log.
    pub(crate) fn snapshots(prefix: &TablePrefix) -> Result<Self> {
        let t = prefix.table("_snapshots")?;
        let create = format!(
            "CREATE TABLE IF NOT EXISTS \"{t}\" (\
             originator_id BLOB NOT NULL, \
             originator_version INTEGER NOT NULL, \
             topic TEXT NOT NULL, \
             state BLOB NOT NULL, \
             PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID"
        );
        Ok(Self::on(&t, create))
    }

    /// The statements on table `t`, created by `create`.
    fn on(t: &str, create: String) -> Self {
        let select = format!(
            "SELECT originator_version, topic, state FROM \"{t}\" \
             WHERE originator_id = ?1 AND originator_version > ?2 AND originator_version <= ?3 \
             ORDER BY originator_version"
        );
        Self {
            create,
            insert: format!(
                "INSERT INTO \"{t}\" (originator_id, originator_version, topic, state) \
                 VALUES (?1, ?2, ?3, ?4)"
            ),
            select_asc: format!("{select} ASC LIMIT ?4"),
            select_desc: format!("{select} DESC LIMIT ?4"),
            select_notifications: format!(
                "SELECT notification_id, originator_id, originator_version, topic, state \
                 FROM \"{t}\" WHERE notification_id >= ?1 AND notification_id <= ?2"
            ),
            select_notifications_all: format!(
                "SELECT notification_id, originator_id, originator_version, topic, state \
                 FROM \"{t}\" WHERE notification_id >= ?1 AND notification_id <= ?2 \
                 ORDER BY notification_id LIMIT ?3"
            ),
            max_notification_id: format!("SELECT MAX(notification_id) FROM \"{t}\""),
        }
    }

    /// `select_notifications` with `topics` (at least one) placeholders after the three fixed
    /// parameters.
    pub(crate) fn select_notifications_sql(&self, topics: usize) -> String {
        if topics == 0 {
            return format!(
                "{} ORDER BY notification_id LIMIT ?3",
                self.select_notifications
            );
        }
        let marks = (4..4 + topics)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "{} AND topic IN ({marks}) ORDER BY notification_id LIMIT ?3",
            self.select_notifications
        )
    }
}

/// Statements on the tracking table of one application.
#[derive(Debug)]
pub(crate) struct TrackingSql {
    pub(crate) create: String,
    pub(crate) upsert: String,
    pub(crate) max: String,
    /// Leases in `<prefix>_leases` (created with the tracking table): `?1` name, `?2` holder,
    /// `?3` now and `?4` the time to live, in milliseconds since the Unix epoch.
    pub(crate) acquire_lease: String,
    pub(crate) release_lease: String,
    /// `?1` prefix, `?2` now.
    pub(crate) leases: String,
}

impl TrackingSql {
    /// The tracking table `<prefix>_tracking`: one row per upstream application.
    pub(crate) fn new(prefix: &TablePrefix) -> Result<Self> {
        let t = prefix.table("_tracking")?;
        let l = prefix.table("_leases")?;
        Ok(Self {
            create: format!(
                "CREATE TABLE IF NOT EXISTS \"{t}\" (\
                 application_name TEXT NOT NULL PRIMARY KEY, \
                 notification_id INTEGER NOT NULL) WITHOUT ROWID; \
                 CREATE TABLE IF NOT EXISTS \"{l}\" (\
                 lease_name TEXT NOT NULL PRIMARY KEY, \
                 holder TEXT NOT NULL, \
                 expires_at INTEGER NOT NULL) WITHOUT ROWID"
            ),
            // A row changes only when the lease is free, expired or the holder's own.
            acquire_lease: format!(
                "INSERT INTO \"{l}\" (lease_name, holder, expires_at) VALUES (?1, ?2, ?3 + ?4) \
                 ON CONFLICT (lease_name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at \
                 WHERE \"{l}\".holder = excluded.holder OR \"{l}\".expires_at <= ?3"
            ),
            release_lease: format!("DELETE FROM \"{l}\" WHERE lease_name = ?1 AND holder = ?2"),
            leases: format!(
                "SELECT lease_name, holder FROM \"{l}\" \
                 WHERE substr(lease_name, 1, length(?1)) = ?1 AND expires_at > ?2 \
                 ORDER BY lease_name"
            ),
            // Strictly increasing: no row changes unless the new id is greater.
            upsert: format!(
                "INSERT INTO \"{t}\" (application_name, notification_id) VALUES (?1, ?2) \
                 ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id \
                 WHERE \"{t}\".notification_id < ?3"
            ),
            max: format!("SELECT notification_id FROM \"{t}\" WHERE application_name = ?1"),
        })
    }
}
