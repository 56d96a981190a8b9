//! B3 oversized payloads, B4 huge batches, B10 reader edge inputs, on every backend.

use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, MAX_NOTIFICATION_LIMIT, NotificationQuery,
    StoredEvent,
};
use eventsourcing::{Error, Uuid};

use crate::common::{backends, new_dog, trick};
use crate::{full, unique};

/// B3: states of 1, 16 and 64 MiB round-trip byte for byte; one byte over the configured
/// maximum is `PayloadTooLarge` and sends nothing.
#[test]
fn b3_oversized_payloads() {
    let mut sizes = vec![1 << 20, 16 << 20, 64 << 20];
    if full() {
        sizes.push(100 << 20);
    }
    for b in backends() {
        let app = b
            .app(&unique("payloads"))
            .var("MAX_STATE_SIZE", (128_usize << 20).to_string())
            .build()
            .unwrap();
        let r = app.recorder();
        for &size in &sizes {
            let id = Uuid::new_v4();
            let state: Vec<u8> = (0..size).map(|i| u8::try_from(i % 251).unwrap()).collect();
            r.insert_events(&[StoredEvent::new(id, 1, "Big.Payload", state.clone())])
                .unwrap();
            let back = r.select_events(id, &EventQuery::new()).unwrap();
            assert!(
                back.len() == 1 && back[0].state == state,
                "{}: {size} bytes round-trip",
                b.name
            );
        }
        if b.name == "popo" {
            continue; // POPO has no configuration; its maximum is the default, checked below.
        }
        let small = b
            .app(&unique("limit"))
            .var("MAX_STATE_SIZE", "1048576")
            .build()
            .unwrap();
        let before = small.recorder().max_notification_id().unwrap();
        let over = StoredEvent::new(Uuid::new_v4(), 1, "Big.Payload", vec![0; (1 << 20) + 1]);
        let e = small.recorder().insert_events(&[over]).unwrap_err();
        assert!(
            matches!(e, Error::PayloadTooLarge { size, max } if size == (1 << 20) + 1 && max == 1 << 20),
            "{}: {e}",
            b.name
        );
        assert_eq!(
            small.recorder().max_notification_id().unwrap(),
            before,
            "{}: nothing written",
            b.name
        );
    }
    let popo = eventsourcing::popo::PopoProcessRecorder::default();
    let over = StoredEvent::new(
        Uuid::new_v4(),
        1,
        "Big",
        vec![0; eventsourcing::backend::DEFAULT_MAX_STATE_SIZE + 1],
    );
    assert!(matches!(
        popo.insert_events(&[over]),
        Err(Error::PayloadTooLarge { .. })
    ));
}

/// B4: one insert of 20,000 events is atomic with contiguous ids; a conflict in its last event
/// leaves nothing.
#[test]
fn b4_huge_batches_are_atomic() {
    for b in backends() {
        let app = b.app(&unique("batches")).build().unwrap();
        let r = app.recorder();
        let id = Uuid::new_v4();
        let events: Vec<StoredEvent> = (1..=20_000)
            .map(|v| StoredEvent::new(id, v, "Many", vec![1; 32]))
            .collect();
        let ids = r.insert_events(&events).unwrap();
        assert_eq!(ids.len(), 20_000, "{}", b.name);
        assert!(
            ids.windows(2).all(|w| w[1] == w[0] + 1),
            "{}: contiguous",
            b.name
        );
        let before = r.max_notification_id().unwrap();
        let other = Uuid::new_v4();
        let mut failing: Vec<StoredEvent> = (1..=20_000)
            .map(|v| StoredEvent::new(other, v, "Many", vec![2; 32]))
            .collect();
        failing.push(StoredEvent::new(id, 20_000, "Many", Vec::new()));
        assert!(
            r.insert_events(&failing).unwrap_err().is_version_conflict(),
            "{}",
            b.name
        );
        assert_eq!(
            r.max_notification_id().unwrap(),
            before,
            "{}: nothing of the failed batch",
            b.name
        );
        assert!(
            r.select_events(other, &EventQuery::new().limit(1))
                .unwrap()
                .is_empty()
        );
        // And through an application save of one aggregate with 20,000 pending events.
        let mut dog = new_dog("Busy");
        for i in 0..19_999 {
            dog.trigger(trick(&format!("trick {i}")));
        }
        assert_eq!(app.save(&mut dog).unwrap().len(), 20_000, "{}", b.name);
    }
}

/// B10: reader API edge inputs give defined results, and huge limits are capped.
#[test]
fn b10_reader_edge_inputs() {
    for b in backends() {
        let app = b.app(&unique("reader")).build().unwrap();
        let r = app.recorder();
        let id = Uuid::new_v4();
        let ids = r
            .insert_events(
                &(1..=5)
                    .map(|v| StoredEvent::new(id, v, "T", Vec::new()))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let q = NotificationQuery::new;
        let count = |query: NotificationQuery| r.select_notifications(&query).unwrap().len();
        assert_eq!(count(q(10).start_at(0)), 5, "{}", b.name);
        assert_eq!(count(q(10).after(0)), 5);
        assert_eq!(count(q(0)), 0);
        assert_eq!(count(q(1)), 1);
        assert_eq!(
            count(q(usize::MAX)),
            5,
            "{}: a huge limit is capped, not an error",
            b.name
        );
        assert_eq!(count(q(10).start_at(i64::MAX.unsigned_abs())), 0);
        assert_eq!(count(q(10).start_at(u64::MAX)), 0);
        assert_eq!(count(q(10).after(u64::MAX)), 0);
        assert_eq!(
            count(q(10).start_at(ids[3]).stop_at(ids[1])),
            0,
            "stop below start"
        );
        assert_eq!(count(q(10).stop_at(u64::MAX)), 5);
        assert_eq!(count(q(10).topics(["No.Such.Topic"])), 0);
        let events = |query: EventQuery| r.select_events(id, &query).unwrap().len();
        assert_eq!(events(EventQuery::new().after(u64::MAX)), 0);
        assert_eq!(events(EventQuery::new().up_to(u64::MAX)), 5);
        assert_eq!(events(EventQuery::new().limit(0)), 0);
        assert_eq!(events(EventQuery::new().limit(usize::MAX)), 5);
        assert_eq!(events(EventQuery::new().after(4).up_to(2)), 0);
    }
    assert_eq!(
        NotificationQuery::new(usize::MAX).effective_limit(),
        MAX_NOTIFICATION_LIMIT
    );
}
