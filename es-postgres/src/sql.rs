//! The SQL of one application's tables, built once from validated identifiers.

use es_core::{Result, TablePrefix};

use crate::error::TRACKING_CONFLICT;

/// Statements of one application's tables in one schema.
#[derive(Debug)]
pub(crate) struct Sql {
    /// DDL, run in one transaction under an advisory lock.
    pub(crate) create: String,
    /// One round trip: the insert function (events and optional tracking).
    pub(crate) insert: String,
    /// One round trip for several callers' inserts (group commit), each in its own
    /// subtransaction; empty for snapshots and tracking-only recorders.
    pub(crate) insert_many: String,
    pub(crate) select_asc: String,
    pub(crate) select_desc: String,
    pub(crate) select_notifications: String,
    pub(crate) select_notifications_topics: String,
    pub(crate) max_notification_id: String,
    pub(crate) max_tracking_id: String,
    /// A tracking record alone: returns a row only when the id increased.
    pub(crate) upsert_tracking: String,
    /// Which of the given (originator id, version) keys are stored: the key's 1-based position,
    /// topic, state and notification id (0 for snapshots). Empty for tracking-only recorders.
    pub(crate) find: String,
    /// Terminates a session of this role if it still exists (pid, start time as text); returns
    /// a row while it does.
    pub(crate) end_session: String,
    /// The LISTEN/NOTIFY channel.
    pub(crate) channel: String,
}

/// What a recorder stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<app>_snapshots`: no notification log, no lock.
    Snapshots,
    /// `<app>_events` with a notification log.
    Events,
    /// `<app>_tracking` only.
    Tracking,
    /// `<app>_events` and `<app>_tracking`.
    Process,
}

impl Sql {
    pub(crate) fn new(schema: &TablePrefix, app: &TablePrefix, kind: Kind) -> Result<Self> {
        let s = schema.as_str();
        let events = app.table(if kind == Kind::Snapshots {
            "_snapshots"
        } else {
            "_events"
        })?;
        let tracking = app.table("_tracking")?;
        let function = app.table(if kind == Kind::Snapshots {
            "_snapshots_insert"
        } else {
            "_events_insert"
        })?;
        let index = app.table("_events_nid_idx")?;
        let batch_fn = app.table("_events_batch")?;
        let (e, t, f, fb) = (
            format!("\"{s}\".\"{events}\""),
            format!("\"{s}\".\"{tracking}\""),
            format!("\"{s}\".\"{function}\""),
            format!("\"{s}\".\"{batch_fn}\""),
        );
        let mut channel = format!("{s}_{events}");
        channel.truncate(es_core::MAX_IDENTIFIER_LEN);
        let has_log = matches!(kind, Kind::Events | Kind::Process);
        let mut create = format!(
            "SELECT pg_advisory_xact_lock(7531902468);\n\
             CREATE SCHEMA IF NOT EXISTS \"{s}\";\n\
             CREATE TABLE IF NOT EXISTS {t} (\
               application_name text NOT NULL PRIMARY KEY, \
               notification_id bigint NOT NULL);\n"
        );
        if kind != Kind::Tracking {
            let serial = if has_log {
                ", notification_id bigserial"
            } else {
                ""
            };
            create.push_str(&format!(
                "CREATE TABLE IF NOT EXISTS {e} (\
                   originator_id uuid NOT NULL, originator_version bigint NOT NULL, \
                   topic text NOT NULL, state bytea NOT NULL{serial}, \
                   PRIMARY KEY (originator_id, originator_version)) \
                 WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, \
                   autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000, \
                   autovacuum_analyze_scale_factor = 0.01);\n"
            ));
        }
        if has_log {
            create.push_str(&format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS \"{index}\" ON {e} (notification_id ASC);\n"
            ));
        }
        // The insert path in one statement: the EXCLUSIVE lock that makes id order equal commit
        // order (first, as in the group insert: one lock order on every path, so no deadlock),
        // the NOTIFY, the tracking upsert (strictly increasing), then the insert.
        let lock = if has_log {
            format!("LOCK TABLE {e} IN EXCLUSIVE MODE; PERFORM pg_notify('{channel}', '');")
        } else {
            String::new()
        };
        let returning = if has_log {
            "RETURNING notification_id"
        } else {
            "RETURNING 0::bigint"
        };
        if kind != Kind::Tracking {
            create.push_str(&format!(
                "CREATE OR REPLACE FUNCTION {f}(ids uuid[], versions bigint[], topics text[], \
                   states bytea[], t_app text, t_id bigint) RETURNS SETOF bigint \
                 LANGUAGE plpgsql AS $fn$\n\
                 BEGIN\n\
                   IF cardinality(ids) > 0 THEN\n\
                     {lock}\n\
                   END IF;\n\
                   IF t_app IS NOT NULL THEN\n\
                     INSERT INTO {t} AS t (application_name, notification_id) VALUES (t_app, t_id)\n\
                       ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id\n\
                       WHERE t.notification_id < excluded.notification_id;\n\
                     IF NOT FOUND THEN\n\
                       RAISE EXCEPTION 'tracking conflict' USING ERRCODE = '{TRACKING_CONFLICT}';\n\
                     END IF;\n\
                   END IF;\n\
                   IF cardinality(ids) > 0 THEN\n\
                     RETURN QUERY INSERT INTO {e} (originator_id, originator_version, topic, state)\n\
                       SELECT * FROM unnest(ids, versions, topics, states) {returning};\n\
                   END IF;\n\
                 END $fn$;\n"
            ));
        }
        if has_log {
            create.push_str(&format!(
                "CREATE OR REPLACE FUNCTION {fb}(ids uuid[], versions bigint[], topics text[], \
                   states bytea[], ends int[], t_apps text[], t_ids bigint[]) \
                 RETURNS TABLE(r_caller int, r_id bigint, r_failure text) \
                 LANGUAGE plpgsql AS $fn$\n\
                 DECLARE c int; s int := 1;\n\
                 BEGIN\n\
                   IF cardinality(ids) > 0 THEN\n\
                     {lock}\n\
                   END IF;\n\
                   FOR c IN 1 .. coalesce(cardinality(ends), 0) LOOP\n\
                     BEGIN\n\
                       IF t_apps[c] IS NOT NULL THEN\n\
                         INSERT INTO {t} AS t (application_name, notification_id) VALUES (t_apps[c], t_ids[c])\n\
                           ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id\n\
                           WHERE t.notification_id < excluded.notification_id;\n\
                         IF NOT FOUND THEN\n\
                           RAISE EXCEPTION 'tracking conflict' USING ERRCODE = '{TRACKING_CONFLICT}';\n\
                         END IF;\n\
                       END IF;\n\
                       IF ends[c] >= s THEN\n\
                         RETURN QUERY WITH ins AS (\n\
                           INSERT INTO {e} (originator_id, originator_version, topic, state)\n\
                           SELECT * FROM unnest(ids[s:ends[c]], versions[s:ends[c]], topics[s:ends[c]], states[s:ends[c]])\n\
                           RETURNING notification_id)\n\
                         SELECT c, ins.notification_id, NULL::text FROM ins;\n\
                       END IF;\n\
                     EXCEPTION\n\
                       WHEN unique_violation THEN RETURN QUERY SELECT c, NULL::bigint, '23505'::text;\n\
                       WHEN SQLSTATE '{TRACKING_CONFLICT}' THEN RETURN QUERY SELECT c, NULL::bigint, '{TRACKING_CONFLICT}'::text;\n\
                     END;\n\
                     s := ends[c] + 1;\n\
                   END LOOP;\n\
                 END $fn$;\n"
            ));
        }
        let select = format!(
            "SELECT originator_version, topic, state FROM {e} WHERE originator_id = $1 \
             AND originator_version > $2 AND originator_version <= $3 ORDER BY originator_version"
        );
        let notifications = format!(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {e} \
             WHERE notification_id >= $1 AND notification_id <= $2"
        );
        Ok(Self {
            create,
            insert: format!("SELECT * FROM {f}($1, $2, $3, $4, $5, $6)"),
            insert_many: if has_log {
                format!("SELECT r_caller, r_id, r_failure FROM {fb}($1, $2, $3, $4, $5, $6, $7)")
            } else {
                String::new()
            },
            select_asc: format!("{select} ASC LIMIT $4"),
            select_desc: format!("{select} DESC LIMIT $4"),
            select_notifications: format!("{notifications} ORDER BY notification_id LIMIT $3"),
            select_notifications_topics: format!(
                "{notifications} AND topic = ANY($4) ORDER BY notification_id LIMIT $3"
            ),
            max_notification_id: format!("SELECT MAX(notification_id) FROM {e}"),
            max_tracking_id: format!("SELECT notification_id FROM {t} WHERE application_name = $1"),
            upsert_tracking: format!(
                "INSERT INTO {t} AS t (application_name, notification_id) VALUES ($1, $2) \
                 ON CONFLICT (application_name) DO UPDATE SET notification_id = excluded.notification_id \
                 WHERE t.notification_id < excluded.notification_id RETURNING notification_id"
            ),
            find: if kind == Kind::Tracking {
                String::new()
            } else {
                let nid = if has_log {
                    "e.notification_id"
                } else {
                    "0::bigint"
                };
                format!(
                    "SELECT k.i::bigint, e.topic, e.state, {nid} \
                     FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS k(id, v, i) \
                     JOIN {e} e ON e.originator_id = k.id AND e.originator_version = k.v"
                )
            },
            end_session: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                          WHERE pid = $1 AND backend_start::text = $2"
                .to_owned(),
            channel,
        })
    }
}
