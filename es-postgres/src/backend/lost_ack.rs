//! Settling a write whose acknowledgement was lost.
//!
//! When the connection dies while a write is in flight, the write may have committed. Sending
//! it again would then fail with a version conflict against itself, and reporting a conflict
//! would be false. Instead: wait until the session that ran the write has ended (terminating
//! it, as a session of our own role), so its outcome is final; then look for the exact bytes
//! sent. The bytes are the ones the caller encoded (with their nonce, when encrypted), so a
//! match is this write. Found: it committed, and its notification ids are returned. Not found:
//! it did not, and the same bytes are sent once more. When the session's end cannot be
//! confirmed (the server is unreachable), the error stays [`Error::OutcomeUnknown`].

use std::thread;
use std::time::{Duration, Instant};

use es_core::{NotificationId, Result, StoredEvent, Tracking};
use postgres::types::{ToSql, Type};

use es_core::backend::{Backend, from_i64, to_i64};

use super::{PostgresBackend, get};
use crate::error::{Call, Failed};
use crate::pool::Session;

/// How long to wait for the old session to end, at least.
const MIN_WAIT: Duration = Duration::from_secs(1);

impl PostgresBackend {
    /// Settles `failed`, a write of `events` and `tracking`: see the module documentation.
    /// `resend` sends the write again.
    pub(crate) fn settle(
        &self,
        failed: Failed,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
        resend: impl FnOnce() -> Result<Vec<NotificationId>>,
    ) -> Result<Vec<NotificationId>> {
        let Some(session) = failed.session.as_ref() else {
            return Err(failed.error);
        };
        if !self.session_ended(session) {
            return Err(failed.error);
        }
        match self.committed(events, tracking) {
            Ok(Some(ids)) => Ok(ids),
            Ok(None) => resend(),
            Err(_) => Err(failed.error),
        }
    }

    /// Ends `session` if it still runs, and waits until it is gone: at most the connect
    /// timeout (at least a second) in all, including waiting for a connection, and only the
    /// outage timeout (at least a second) while connections cannot be opened or calls expire.
    pub(crate) fn session_ended(&self, session: &Session) -> bool {
        let started = Instant::now();
        let deadline = started + self.connect_timeout.max(MIN_WAIT);
        let params: [(&(dyn ToSql + Sync), Type); 2] =
            [(&session.pid, Type::INT4), (&session.started, Type::TEXT)];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let outage = self.watch.failing(self.outage_timeout);
            if left.is_zero() || (outage && started.elapsed() >= self.outage_timeout.max(MIN_WAIT))
            {
                return false;
            }
            let left = left.min(Duration::from_millis(100));
            let rows = self
                .pool
                .get_timeout(left)
                .ok()
                .and_then(|mut c| c.query(self.sql.end_session, &params).ok());
            match rows {
                Some(rows) if rows.is_empty() => return true,
                _ => thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// `Some(ids)` when `events` are stored with exactly the bytes given (and `tracking` is
    /// recorded); `None` when the write did not commit.
    fn committed(
        &self,
        events: &[StoredEvent],
        tracking: Option<&Tracking>,
    ) -> Result<Option<Vec<NotificationId>>> {
        let tracked = match tracking {
            Some(t) => self
                .max_tracking(&t.application_name)?
                .map(|max| (max, t.notification_id)),
            None => None,
        };
        if events.is_empty() {
            // Only an exact match is this write; a later id is someone else's, and resending
            // reports the tracking conflict.
            return Ok(tracked.filter(|(max, id)| max == id).map(|_| Vec::new()));
        }
        if tracking.is_some() && tracked.is_none_or(|(max, id)| max < id) {
            return Ok(None);
        }
        let ids: Vec<_> = events.iter().map(|e| e.originator_id).collect();
        let versions = events
            .iter()
            .map(|e| to_i64(e.originator_version, "originator_version"))
            .collect::<Result<Vec<_>>>()?;
        let params: [(&(dyn ToSql + Sync), Type); 2] =
            [(&ids, Type::UUID_ARRAY), (&versions, Type::INT8_ARRAY)];
        let find = &self.sql.events()?.find;
        let rows = self.with(Call::Read, |c| c.query(find, &params))?;
        let mut found: Vec<Option<NotificationId>> = vec![None; events.len()];
        for row in &rows {
            let position: i64 = get(row, 0)?;
            let topic: String = get(row, 1)?;
            let state: Vec<u8> = get(row, 2)?;
            let nid: i64 = get(row, 3)?;
            let Some(i) = usize::try_from(position)
                .ok()
                .and_then(|p| p.checked_sub(1))
            else {
                continue;
            };
            if let (Some(sent), Some(slot)) = (events.get(i), found.get_mut(i))
                && sent.topic == topic
                && sent.state == state
            {
                *slot = Some(from_i64(nid, "notification_id")?);
            }
        }
        // The write is atomic: either all of it is stored, or none of it is this write.
        Ok(found.into_iter().collect())
    }

    fn max_tracking(&self, application_name: &str) -> Result<Option<NotificationId>> {
        Backend::max_tracking_id(self, application_name)
    }
}
