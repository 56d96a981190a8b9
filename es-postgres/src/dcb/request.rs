//! [`Request`]: one caller's append, as it waits in the queue of group commit.

use es_core::persistence::dcb::{DcbAppendCondition, DcbEvent};

/// A queued caller's append.
pub(crate) struct Request {
    pub(crate) events: Vec<DcbEvent>,
    pub(crate) condition: Option<DcbAppendCondition>,
}
