//! Appends: one caller's, or a queue of concurrent callers' in one call and one commit (group
//! commit through the [`Combiner`](crate::combiner::Combiner)).

use std::sync::Arc;

use es_core::backend::{from_i64, to_i64};
use es_core::persistence::dcb::{DcbAppendCondition, DcbEvent, Position};
use es_core::{Error, Result};
use postgres::types::{ToSql, Type};

use super::PostgresDcbBackend;
use super::request::Request;
use crate::backend::get;
use crate::combiner::{Slot, share};
use crate::error::Call;

type AppendSlot = Slot<Request, Result<Position>>;

fn count(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::data("too many events, tags or query items in one append"))
}

/// The arrays of the append function's parameters, for several callers.
#[derive(Default)]
struct Arrays<'a> {
    types: Vec<&'a str>,
    datas: Vec<&'a [u8]>,
    tags: Vec<&'a str>,
    tag_counts: Vec<i32>,
    ends: Vec<i32>,
    checked: Vec<bool>,
    afters: Vec<i64>,
    q_types: Vec<&'a str>,
    q_type_counts: Vec<i32>,
    q_tags: Vec<&'a str>,
    q_tag_counts: Vec<i32>,
    q_ends: Vec<i32>,
}

impl<'a> Arrays<'a> {
    fn push(
        &mut self,
        events: &'a [DcbEvent],
        condition: Option<&'a DcbAppendCondition>,
    ) -> Result<()> {
        let after = to_i64(condition.and_then(|c| c.after).unwrap_or(0), "after")?;
        for e in events {
            self.types.push(&e.r#type);
            self.datas.push(&e.data);
            self.tags.extend(e.tags.iter().map(String::as_str));
            self.tag_counts.push(count(e.tags.len())?);
        }
        let items = condition.map_or(&[][..], |c| c.fail_if_events_match.items.as_slice());
        for item in items {
            self.q_types.extend(item.types.iter().map(String::as_str));
            self.q_type_counts.push(count(item.types.len())?);
            self.q_tags.extend(item.tags.iter().map(String::as_str));
            self.q_tag_counts.push(count(item.tags.len())?);
        }
        self.ends.push(count(self.types.len())?);
        self.q_ends.push(count(self.q_type_counts.len())?);
        self.checked.push(condition.is_some());
        self.afters.push(after);
        Ok(())
    }
}

impl PostgresDcbBackend {
    /// The appends of `callers` in one call: each one's last position, or its failed condition.
    pub(super) fn append_all(
        &self,
        callers: &[(&[DcbEvent], Option<&DcbAppendCondition>)],
    ) -> Result<Vec<Result<Position>>> {
        let mut a = Arrays::default();
        for (events, condition) in callers {
            a.push(events, *condition)?;
        }
        let params: [(&(dyn ToSql + Sync), Type); 12] = [
            (&a.types, Type::TEXT_ARRAY),
            (&a.datas, Type::BYTEA_ARRAY),
            (&a.tags, Type::TEXT_ARRAY),
            (&a.tag_counts, Type::INT4_ARRAY),
            (&a.ends, Type::INT4_ARRAY),
            (&a.checked, Type::BOOL_ARRAY),
            (&a.afters, Type::INT8_ARRAY),
            (&a.q_types, Type::TEXT_ARRAY),
            (&a.q_type_counts, Type::INT4_ARRAY),
            (&a.q_tags, Type::TEXT_ARRAY),
            (&a.q_tag_counts, Type::INT4_ARRAY),
            (&a.q_ends, Type::INT4_ARRAY),
        ];
        let rows = self
            .pg
            .with(Call::Write, |c| c.query(&self.sql.append, &params))?;
        let mut out: Vec<Result<Position>> = callers
            .iter()
            .map(|_| Err(Error::programming("the append function left out a caller")))
            .collect();
        for row in &rows {
            let caller: i32 = get(row, 0)?;
            let last: Option<i64> = get(row, 1)?;
            let Some(slot) = usize::try_from(caller)
                .ok()
                .and_then(|c| out.get_mut(c.wrapping_sub(1)))
            else {
                return Err(Error::programming(format!(
                    "the append function named caller {caller}"
                )));
            };
            *slot = match last {
                Some(last) => from_i64(last, "position"),
                None => Err(Error::AppendConditionFailed {
                    after: callers
                        .get(usize::try_from(caller).unwrap_or(0).wrapping_sub(1))
                        .and_then(|(_, c)| c.and_then(|c| c.after)),
                }),
            };
        }
        Ok(out)
    }

    /// One caller's append.
    pub(super) fn append_one(
        &self,
        events: &[DcbEvent],
        condition: Option<&DcbAppendCondition>,
    ) -> Result<Position> {
        self.append_all(&[(events, condition)])?
            .pop()
            .unwrap_or_else(|| Err(Error::programming("the append function returned nothing")))
    }

    /// A queue of callers' appends, each told its own outcome; a failed call fails each.
    pub(super) fn append_queue(&self, group: &[Arc<AppendSlot>]) -> Vec<Result<Position>> {
        tracing::debug!(target: "eventsourcing::recorder", callers = group.len(), "DCB group commit");
        let callers: Vec<(&[DcbEvent], Option<&DcbAppendCondition>)> = group
            .iter()
            .map(|s| (s.request.events.as_slice(), s.request.condition.as_ref()))
            .collect();
        match self.append_all(&callers) {
            Ok(results) => results,
            Err(e) => group.iter().map(|_| Err(share(&e))).collect(),
        }
    }
}
