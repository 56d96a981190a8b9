//! The direct write: one caller's insert in one statement and one round trip, and a tracking
//! record alone. A lost acknowledgement is settled ([`lost_ack`](super::lost_ack)).

use es_core::backend::{from_i64, to_i64};
use es_core::{Error, NotificationId, Result, StoredEvent, Tracking};
use postgres::types::{ToSql, Type};

use super::{PostgresBackend, get};
use crate::error::{Call, Failed, TRACKING_CONFLICT};

impl PostgresBackend {
    /// One caller's insert: one statement, one round trip; a lost acknowledgement is settled.
    pub(super) fn insert_direct(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>> {
        self.insert_once(events, tracking).or_else(|failed| {
            self.settle(failed, events, tracking, || {
                self.insert_once(events, tracking).map_err(|f| f.error)
            })
        })
    }

    /// One caller's insert, sent once.
    pub(crate) fn insert_once(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Vec<NotificationId>, Failed> {
        let sql = self.sql.events().map_err(Failed::from)?;
        let mut ids = Vec::with_capacity(events.len());
        let mut versions = Vec::with_capacity(events.len());
        let mut topics = Vec::with_capacity(events.len());
        let mut states = Vec::with_capacity(events.len());
        for e in events {
            ids.push(e.originator_id);
            versions
                .push(to_i64(e.originator_version, "originator_version").map_err(Failed::from)?);
            topics.push(e.topic.as_str());
            states.push(e.state.as_slice());
        }
        let t_app = tracking.map(|t| t.application_name.as_str());
        let t_id = tracking
            .map(|t| to_i64(t.notification_id, "notification_id"))
            .transpose()?;
        let t_first = tracking
            .map(|t| to_i64(t.first_notification_id, "first_notification_id"))
            .transpose()?;
        let params: [(&(dyn ToSql + Sync), Type); 7] = [
            (&ids, Type::UUID_ARRAY),
            (&versions, Type::INT8_ARRAY),
            (&topics, Type::TEXT_ARRAY),
            (&states, Type::BYTEA_ARRAY),
            (&t_app, Type::TEXT),
            (&t_id, Type::INT8),
            (&t_first, Type::INT8),
        ];
        let rows = self
            .attempt(Call::Write, |c| c.query(&sql.insert, &params))
            .map_err(|failed| match (failed.error, tracking) {
                (Error::Internal { source }, Some(t))
                    if source
                        .downcast_ref::<postgres::Error>()
                        .and_then(postgres::Error::code)
                        .is_some_and(|c| c.code() == TRACKING_CONFLICT) =>
                {
                    Error::tracking_conflict(&t.application_name, t.notification_id).into()
                }
                (error, _) => Failed {
                    error,
                    session: failed.session,
                },
            })?;
        let ids: Result<Vec<NotificationId>> = rows
            .iter()
            .map(|row| from_i64(get(row, 0)?, "notification_id"))
            .collect();
        Ok(ids?)
    }

    /// Records `t` alone: one upsert that changes a row only when the id increases; a lost
    /// acknowledgement is settled.
    pub(super) fn write_tracking(&self, t: &Tracking) -> Result<()> {
        let id = to_i64(t.notification_id, "notification_id")?;
        let first = to_i64(t.first_notification_id, "first_notification_id")?;
        let params: [(&(dyn ToSql + Sync), Type); 3] = [
            (&t.application_name, Type::TEXT),
            (&id, Type::INT8),
            (&first, Type::INT8),
        ];
        let rows = match self.attempt(Call::Write, |c| c.query(&self.sql.tracking.upsert, &params))
        {
            Ok(rows) => rows,
            Err(failed) => {
                let tracking = Some(t);
                self.settle(failed, &[], tracking, || {
                    self.with(Call::Write, |c| c.query(&self.sql.tracking.upsert, &params))
                        .and_then(|rows| match rows.is_empty() {
                            true => Err(Error::tracking_conflict(
                                &t.application_name,
                                t.notification_id,
                            )),
                            false => Ok(Vec::new()),
                        })
                })?;
                self.tracking.notify();
                return Ok(());
            }
        };
        if rows.is_empty() {
            return Err(Error::tracking_conflict(
                &t.application_name,
                t.notification_id,
            ));
        }
        self.tracking.notify();
        Ok(())
    }
}
