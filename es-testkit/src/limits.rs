//! Limits that the contract states and small generated cases never reach: the cap on one
//! selection ([`MAX_NOTIFICATION_LIMIT`]) and the refusal of an oversized state (the default
//! `MAX_STATE_SIZE`), checked with the sizes themselves.

use es_core::backend::DEFAULT_MAX_STATE_SIZE;
use es_core::{ApplicationRecorder, MAX_NOTIFICATION_LIMIT, NotificationQuery, StoredEvent, Uuid};

use crate::support::event;

/// Events per insert while filling the log past the cap.
const BATCH: usize = 10_000;

/// One selection returns at most [`MAX_NOTIFICATION_LIMIT`] notifications whatever limit is
/// asked (`usize::MAX` included), in id order from the requested start; limit 0 returns none.
pub fn a_selection_is_capped<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let base = r.max_notification_id().unwrap();
    let from_start = |limit| match base {
        None => NotificationQuery::new(limit),
        Some(b) => NotificationQuery::new(limit).after(b),
    };
    let total = MAX_NOTIFICATION_LIMIT + 1;
    let mut inserted = 0;
    while inserted < total {
        let n = BATCH.min(total - inserted);
        let events: Vec<StoredEvent> = (0..n).map(|_| event(Uuid::new_v4(), 1, "Capped")).collect();
        r.insert_events(&events).unwrap();
        inserted += n;
    }
    for limit in [MAX_NOTIFICATION_LIMIT + 1, usize::MAX] {
        let page = r.select_notifications(&from_start(limit)).unwrap();
        assert_eq!(
            page.len(),
            MAX_NOTIFICATION_LIMIT,
            "limit {limit}: a selection returns at most MAX_NOTIFICATION_LIMIT"
        );
        assert!(
            page.windows(2).all(|w| w[0].id < w[1].id),
            "limit {limit}: in ascending id order"
        );
        assert!(
            base.is_none_or(|b| page[0].id > b),
            "limit {limit}: from the requested start"
        );
    }
    assert!(
        r.select_notifications(&from_start(0)).unwrap().is_empty(),
        "limit 0 selects nothing"
    );
}

/// A state larger than the default `MAX_STATE_SIZE` is refused with
/// [`Error::PayloadTooLarge`](es_core::Error::PayloadTooLarge) and nothing of its batch is
/// stored. For recorders made with
/// the default setting.
pub fn an_oversized_state_is_refused<R: ApplicationRecorder>(make: &dyn Fn() -> R) {
    let r = make();
    let id = Uuid::new_v4();
    let small = event(id, 1, "Sized");
    let mut big = event(id, 2, "Sized");
    big.state = vec![b'x'; DEFAULT_MAX_STATE_SIZE + 1];
    let e = r.insert_events(&[small, big]).unwrap_err();
    assert!(
        matches!(e, es_core::Error::PayloadTooLarge { size, max }
            if size == DEFAULT_MAX_STATE_SIZE + 1 && max == DEFAULT_MAX_STATE_SIZE),
        "a state over MAX_STATE_SIZE: {e}"
    );
    let stored = r
        .select_events(id, &es_core::EventQuery::default())
        .unwrap();
    assert!(
        stored.is_empty(),
        "nothing of a refused batch is stored: {} events",
        stored.len()
    );
}
