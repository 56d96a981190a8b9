//! The application's tracing events (target `eventsourcing::application`, debug level): what
//! was saved and loaded, by id and version; never states or keys.

use uuid::Uuid;

use super::Recording;

const TARGET: &str = "eventsourcing::application";

/// `aggregates` were saved as `recordings` by `application`.
pub(super) fn saved(application: &str, aggregates: usize, recordings: &[Recording]) {
    if !tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
        return;
    }
    let (first, last) = (recordings.first(), recordings.last());
    tracing::debug!(
        target: TARGET,
        application,
        aggregates,
        events = recordings.len(),
        first_notification_id = first.map(|r| r.notification_id),
        last_notification_id = last.map(|r| r.notification_id),
        originator_id = first.map(|r| tracing::field::display(r.originator_id)),
        originator_version = last.map(|r| r.originator_version),
        "saved"
    );
}

/// Aggregate `id` was loaded by `application` at `version`.
pub(super) fn loaded(application: &str, id: Uuid, version: u64, cached: bool) {
    tracing::debug!(
        target: TARGET,
        application,
        originator_id = %id,
        version,
        cached,
        "loaded"
    );
}
