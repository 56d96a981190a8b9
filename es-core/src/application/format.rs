//! The stored format an application is configured with, against what its log holds: a store
//! of the other format fails at open, naming `STORED_FORMAT`, before anything is written or
//! misread.

use crate::mapper::StoredFormat;
use crate::persistence::{ApplicationRecorder, NotificationQuery};
use crate::{Env, Error, Result};

/// Fails when the first or the last notification of `log` has a topic of the other format
/// (a `:` marks the Python library's `module:Qualname` topics). An empty log, or a log that
/// cannot be read now (an operational error, which the first real call reports), passes.
///
/// # Errors
///
/// [`Error::Config`] naming `STORED_FORMAT` and the topic seen; non-operational errors of
/// reading the log.
pub(super) fn check_log(
    format: StoredFormat,
    log: &dyn ApplicationRecorder,
    env: &Env,
) -> Result<()> {
    let topics = match ends(log) {
        Ok(topics) => topics,
        Err(e) if e.is_operational() => return Ok(()),
        Err(e) => return Err(e),
    };
    for topic in topics {
        let python = topic.contains(':');
        let problem = match format {
            StoredFormat::Python if !python => "is python, but the log holds this library's topics",
            StoredFormat::Native if python => {
                "is native (the default), but the log holds the Python library's topics; set it \
                 to python"
            }
            _ => continue,
        };
        return Err(Error::config(
            env.keys_for("STORED_FORMAT").join(", "),
            format!("{problem} (for example {topic:?})"),
        ));
    }
    Ok(())
}

/// The topics of the first and the last notification.
fn ends(log: &dyn ApplicationRecorder) -> Result<Vec<String>> {
    let Some(last) = log.max_notification_id()? else {
        return Ok(Vec::new());
    };
    let first = log.select_notifications(&NotificationQuery::new(1))?;
    let last = log.select_notifications(&NotificationQuery::new(1).start_at(last))?;
    Ok(first.into_iter().chain(last).map(|n| n.topic).collect())
}
