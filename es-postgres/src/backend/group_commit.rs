//! Group commit: several callers' inserts in one statement, each in its own subtransaction, so
//! one caller's conflict fails only that caller. The queueing is [`Combiner`](crate::combiner).

use std::sync::Arc;

use es_core::backend::{from_i64, to_i64};
use es_core::{Error, NotificationId, Result};
use postgres::types::{ToSql, Type};

use super::PostgresBackend;
use crate::combiner::{Slot, share};
use crate::error::{Call, Failed, TRACKING_CONFLICT};
use crate::sql::LogSql;

impl PostgresBackend {
    /// Several callers' inserts in one statement, each in its own subtransaction.
    pub(super) fn insert_many(
        &self,
        log: &LogSql,
        group: &[Arc<Slot>],
    ) -> Vec<Result<Vec<NotificationId>>> {
        self.groups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(
            target: "eventsourcing::recorder",
            callers = group.len(),
            events = group.iter().map(|s| s.request.events.len()).sum::<usize>(),
            "group commit"
        );
        let mut results: Vec<Option<Result<Vec<NotificationId>>>> = Vec::with_capacity(group.len());
        let (mut ids, mut versions, mut topics, mut states) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut ends, mut t_apps, mut t_ids, mut t_firsts, mut callers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, slot) in group.iter().enumerate() {
            let converted: Result<Vec<i64>> = slot
                .request
                .events
                .iter()
                .map(|e| to_i64(e.originator_version, "originator_version"))
                .collect();
            let t_id = slot
                .request
                .tracking
                .as_ref()
                .map(|t| {
                    Ok((
                        to_i64(t.notification_id, "notification_id")?,
                        to_i64(t.first_notification_id, "first_notification_id")?,
                    ))
                })
                .transpose();
            match (converted, t_id) {
                (Ok(v), Ok(t_id)) => {
                    results.push(None);
                    callers.push(i);
                    versions.extend(v);
                    for e in &slot.request.events {
                        ids.push(e.originator_id);
                        topics.push(e.topic.as_str());
                        states.push(e.state.as_slice());
                    }
                    ends.push(i32::try_from(ids.len()).unwrap_or(i32::MAX));
                    t_apps.push(
                        slot.request
                            .tracking
                            .as_ref()
                            .map(|t| t.application_name.as_str()),
                    );
                    t_ids.push(t_id.map(|(id, _)| id));
                    t_firsts.push(t_id.map(|(_, first)| first));
                }
                (Err(e), _) | (_, Err(e)) => results.push(Some(Err(e))),
            }
        }
        if !callers.is_empty() {
            let params: [(&(dyn ToSql + Sync), Type); 8] = [
                (&ids, Type::UUID_ARRAY),
                (&versions, Type::INT8_ARRAY),
                (&topics, Type::TEXT_ARRAY),
                (&states, Type::BYTEA_ARRAY),
                (&ends, Type::INT4_ARRAY),
                (&t_apps, Type::TEXT_ARRAY),
                (&t_ids, Type::INT8_ARRAY),
                (&t_firsts, Type::INT8_ARRAY),
            ];
            match self.attempt(Call::Write, |c| c.query(&log.insert_many, &params)) {
                Err(failed) => {
                    for &i in &callers {
                        let slot = &group[i];
                        let own = Failed {
                            error: share(&failed.error),
                            session: failed.session.clone(),
                        };
                        let tracking = slot.request.tracking.as_ref();
                        results[i] = Some(self.settle(own, &slot.request.events, tracking, || {
                            self.insert_once(&slot.request.events, tracking)
                                .map_err(|f| f.error)
                        }));
                    }
                }
                Ok(rows) => {
                    let mut per: Vec<Result<Vec<NotificationId>>> =
                        callers.iter().map(|_| Ok(Vec::new())).collect();
                    for row in &rows {
                        let caller: i32 = row.try_get(0).unwrap_or(0);
                        let Some(k) = usize::try_from(caller).ok().and_then(|c| c.checked_sub(1))
                        else {
                            continue;
                        };
                        let Some(slot_result) = per.get_mut(k) else {
                            continue;
                        };
                        let failure: Option<String> = row.try_get(2).unwrap_or(None);
                        match failure.as_deref() {
                            Some(TRACKING_CONFLICT) => {
                                let t = group[callers[k]].request.tracking.as_ref();
                                *slot_result = Err(t.map_or_else(
                                    || Error::programming("tracking conflict without tracking"),
                                    |t| {
                                        Error::tracking_conflict(
                                            &t.application_name,
                                            t.notification_id,
                                        )
                                    },
                                ));
                            }
                            Some(_) => {
                                *slot_result = Err(Error::batch_conflict(None));
                            }
                            None => {
                                let id: Option<i64> = row.try_get(1).unwrap_or(None);
                                if let (Ok(list), Some(id)) = (slot_result.as_mut(), id) {
                                    match from_i64(id, "notification_id") {
                                        Ok(id) => list.push(id),
                                        Err(e) => *slot_result = Err(e),
                                    }
                                }
                            }
                        }
                    }
                    for (k, r) in per.into_iter().enumerate() {
                        results[callers[k]] = Some(r);
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(Error::programming("caller missing from group result")))
            })
            .collect()
    }
}
