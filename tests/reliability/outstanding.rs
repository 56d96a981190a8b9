//! C5: a deterministic outstanding writer on PostgreSQL, through the library and in a control
//! without its lock.

use std::time::{Duration, Instant};

use eventsourcing::Uuid;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, NotificationQuery, StoredEvent,
};
use eventsourcing::postgres::{PostgresApplicationRecorder, drop_postgres_schema};

/// C5: a deterministic outstanding writer on PostgreSQL. Writer A's insert stays uncommitted
/// after taking its ids: a trigger waits for an advisory lock the test holds. Writer B starts
/// once A waits there. Through the library, B waits behind A's table lock, a reader in between
/// sees neither, and afterwards A's ids come before B's. The control does the same with plain
/// `INSERT`s and no lock: B commits first with higher ids, the reader sees B alone, and then
/// A's lower ids arrive late. Every step waits on what the server shows (`pg_stat_activity`),
/// never on a sleep, so a busy machine cannot reorder it.
#[test]
fn c5_outstanding_writer_and_control() {
    let Some(mut config) = crate::postgres("c5") else {
        return;
    };
    // This test's sessions, apart from those of the tests running beside it.
    config.application_name.clone_from(&config.schema);
    let library = PostgresApplicationRecorder::new(&config, "lib").unwrap();
    // B writes through a recorder of its own, as another process would: the server's table
    // lock orders the two, not one recorder's queue.
    let library_b = PostgresApplicationRecorder::new(&config, "lib").unwrap();
    let control = PostgresApplicationRecorder::new(&config, "ctl").unwrap();
    let mut admin = config.connect().unwrap();
    let s = &config.schema;
    // A random key: other tests' advisory locks never meet this one.
    let key = i64::from_le_bytes(Uuid::new_v4().as_bytes()[..8].try_into().unwrap());
    admin
        .batch_execute(&format!(
            "CREATE FUNCTION \"{s}\".outstanding() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN PERFORM pg_advisory_lock({key}); PERFORM pg_advisory_unlock({key}); \
             RETURN NULL; END $$; \
             CREATE TRIGGER outstanding AFTER INSERT ON \"{s}\".lib_events FOR EACH ROW \
             WHEN (NEW.topic = 'A') EXECUTE FUNCTION \"{s}\".outstanding(); \
             CREATE TRIGGER outstanding AFTER INSERT ON \"{s}\".ctl_events FOR EACH ROW \
             WHEN (NEW.topic = 'A') EXECUTE FUNCTION \"{s}\".outstanding();"
        ))
        .unwrap();
    let application_name = config.application_name.clone();
    // Waits until `n` sessions of this test wait on a lock (`what`: `advisory` or any).
    let waiting = |admin: &mut postgres::Client, what: &str, n: i64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let count: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
                     AND ($1 = '' OR wait_event = $1) AND application_name = $2",
                    &[&what, &application_name],
                )
                .unwrap()
                .get(0);
            if count >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{application_name}: {n} sessions never waited on {what:?} locks"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let gate = |admin: &mut postgres::Client, shut: bool| {
        let call = if shut {
            "pg_advisory_lock"
        } else {
            "pg_advisory_unlock"
        };
        admin
            .execute(&format!("SELECT {call}({key})"), &[])
            .unwrap();
    };
    let event = |topic: &str| StoredEvent::new(Uuid::new_v4(), 1, topic, Vec::new());
    // Through the library.
    gate(&mut admin, true);
    let (a, b, between) = std::thread::scope(|sc| {
        let a = sc.spawn(|| library.insert_events(&[event("A")]).unwrap()[0]);
        waiting(&mut admin, "advisory", 1);
        let b = sc.spawn(|| library_b.insert_events(&[event("B")]).unwrap()[0]);
        // B waits too: on the table's lock, which A holds.
        waiting(&mut admin, "", 2);
        let between = library
            .select_notifications(&NotificationQuery::new(10))
            .unwrap();
        gate(&mut admin, false);
        (a.join().unwrap(), b.join().unwrap(), between.len())
    });
    let after: Vec<(u64, String)> = library
        .select_notifications(&NotificationQuery::new(10))
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n.topic))
        .collect();
    assert_eq!(between, 0, "the reader in between saw neither");
    assert!(a < b, "A's id {a} before B's {b}");
    assert_eq!(after, [(a, "A".to_owned()), (b, "B".to_owned())]);
    // The control: plain INSERTs, no lock.
    let insert = format!(
        "INSERT INTO \"{s}\".ctl_events (originator_id, originator_version, topic, state) \
         VALUES ($1, 1, $2, '') RETURNING notification_id"
    );
    let config = &config;
    gate(&mut admin, true);
    let (a, b, between) = std::thread::scope(|sc| {
        let insert = &insert;
        let raw = |topic: &'static str| {
            move || -> i64 {
                config
                    .connect()
                    .unwrap()
                    .query_one(insert.as_str(), &[&Uuid::new_v4(), &topic])
                    .unwrap()
                    .get(0)
            }
        };
        let a = sc.spawn(raw("A"));
        waiting(&mut admin, "advisory", 1);
        // B commits while A still waits with its id taken.
        let b = sc.spawn(raw("B")).join().unwrap();
        let between: Vec<u64> = control
            .select_notifications(&NotificationQuery::new(10))
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        gate(&mut admin, false);
        (a.join().unwrap(), b, between)
    });
    eprintln!(
        "C5: library: reader in between saw 0, then A before B; control without the \
         lock: reader in between saw {between:?} (B = {b}), A's id {a} arrived late"
    );
    assert!(a < b);
    assert_eq!(
        between,
        [u64::try_from(b).unwrap()],
        "the control's reader saw B first"
    );
    drop((library, library_b, control));
    drop_postgres_schema(config, &config.schema).unwrap();
}
