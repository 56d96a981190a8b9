//! The application layer on every backend: save, get, versions, conflicts, atomic multi-aggregate
//! saves, snapshots, notification log sections, the cache, cipher and compression, and the
//! backend choice from the env.

mod common;

use std::sync::Arc;

use common::{Counter, Dog, DogEvent, backends};
use eventsourcing::application::{Application, Pending};
use eventsourcing::domain::Aggregate;
use eventsourcing::mapper::AesCipher;
use eventsourcing::persistence::Recorders;
use eventsourcing::persistence::{
    AggregateRecorder, ApplicationRecorder, EventQuery, NotificationQuery,
};
use eventsourcing::{ApplicationBuilder, Env, Error, Uuid};

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}

#[test]
fn save_get_versions_and_not_found() {
    for b in backends() {
        let app = b.app(&unique("school")).build().unwrap();
        let mut dog = Dog::new("Billy");
        dog.add_trick("roll over");
        let recordings = app.save(&mut dog).unwrap();
        assert_eq!(recordings.len(), 2, "{}", b.name);
        assert_eq!(
            recordings[1].notification_id,
            recordings[0].notification_id + 1
        );
        assert_eq!(
            (recordings[0].topic.as_str(), recordings[1].topic.as_str()),
            ("Dog.Registered", "Dog.TrickAdded")
        );
        assert!(
            dog.pending_events().is_empty(),
            "saved events are no longer pending"
        );
        dog.add_trick("fetch ball");
        app.save(&mut dog).unwrap();

        let copy: Dog = app.get(dog.id()).unwrap();
        assert_eq!(
            (copy.version(), copy.tricks.clone()),
            (3, vec!["roll over".to_owned(), "fetch ball".to_owned()]),
            "{}",
            b.name
        );
        assert_eq!(copy.created_on(), dog.created_on());
        assert_eq!(copy.modified_on(), dog.modified_on());
        let v2: Dog = app.get_at(dog.id(), 2).unwrap();
        assert_eq!(v2.tricks, ["roll over"]);
        assert!(app.contains(dog.id()).unwrap());
        let missing = Uuid::new_v4();
        assert!(!app.contains(missing).unwrap());
        let e = app.get::<Dog>(missing).unwrap_err();
        assert!(e.is_not_found(), "{e}");
        assert!(
            app.save(&mut dog).unwrap().is_empty(),
            "nothing pending, nothing saved"
        );
    }
}

#[test]
fn concurrent_writers_get_a_version_conflict_and_can_retry() {
    for b in backends() {
        let app = b.app(&unique("school")).build().unwrap();
        let mut dog = Dog::new("Milly");
        app.save(&mut dog).unwrap();
        let mut first: Dog = app.get(dog.id()).unwrap();
        let mut second: Dog = app.get(dog.id()).unwrap();
        first.add_trick("sit");
        second.add_trick("stay");
        app.save(&mut first).unwrap();
        let e = app.save(&mut second).unwrap_err();
        assert!(e.is_version_conflict(), "{}: {e}", b.name);
        assert_eq!(
            second.pending_events().len(),
            1,
            "a failed save keeps the events pending"
        );
        let mut retry: Dog = app.get(dog.id()).unwrap();
        retry.add_trick("stay");
        app.save(&mut retry).unwrap();
        let last: Dog = app.get(dog.id()).unwrap();
        assert_eq!(last.tricks, ["sit", "stay"], "{}", b.name);
    }
}

#[test]
fn one_save_of_several_aggregates_is_atomic() {
    for b in backends() {
        let app = b.app(&unique("school")).build().unwrap();
        let mut dog = Dog::new("Scrappy");
        let mut counter = Counter::new("roll over");
        counter.increment();
        let recordings = app.save_all(&mut [&mut dog, &mut counter]).unwrap();
        assert_eq!(recordings.len(), 3);
        let before = app.recorder().max_notification_id().unwrap();
        let mut stale: Counter = app.get_at(counter.id(), 1).unwrap();
        stale.increment();
        let mut dog2 = Dog::new("Rex");
        let e = app
            .save_all(&mut [&mut dog2, &mut stale as &mut dyn Pending])
            .unwrap_err();
        assert!(e.is_version_conflict(), "{e}");
        assert!(
            !app.contains(dog2.id()).unwrap(),
            "{}: nothing of the batch is written",
            b.name
        );
        assert_eq!(app.recorder().max_notification_id().unwrap(), before);
        let c: Counter = app.get(Counter::create_id("roll over")).unwrap();
        assert_eq!((c.name.as_str(), c.count), ("roll over", 1));
    }
}

#[test]
fn snapshots_are_taken_at_intervals_and_used_on_load() {
    for b in backends() {
        let app = b
            .app(&unique("school"))
            .snapshotting_interval::<Dog>(2)
            .build()
            .unwrap();
        let mut dog = Dog::new("Fido");
        app.save(&mut dog).unwrap();
        for trick in ["a", "b", "c", "d"] {
            dog.add_trick(trick);
            app.save(&mut dog).unwrap();
        }
        let snapshots = app.snapshot_recorder().unwrap();
        let versions: Vec<u64> = snapshots
            .select_events(dog.id(), &EventQuery::new())
            .unwrap()
            .iter()
            .map(|s| s.originator_version)
            .collect();
        assert_eq!(versions, [2, 4], "{}", b.name);
        let at3: Dog = app.get_at(dog.id(), 3).unwrap();
        assert_eq!((at3.version(), at3.tricks.len()), (3, 2));
        let latest: Dog = app.get(dog.id()).unwrap();
        assert_eq!(
            (latest.version(), latest.tricks.len(), latest.created_on()),
            (5, 4, dog.created_on())
        );
        app.take_snapshot::<Dog>(dog.id(), None).unwrap();
        app.take_snapshot::<Dog>(dog.id(), Some(3)).unwrap();
        assert_eq!(
            snapshots
                .select_events(dog.id(), &EventQuery::new())
                .unwrap()
                .len(),
            4
        );
        let no_store = b.app(&unique("plain")).build().unwrap();
        assert!(
            no_store
                .take_snapshot::<Dog>(dog.id(), None)
                .unwrap_err()
                .is_programming()
        );
    }
}

#[test]
fn notification_log_sections_and_reader() {
    for b in backends() {
        let app = b.app(&unique("school")).build().unwrap();
        for i in 0..9 {
            let mut dog = Dog::new(&format!("dog{i}"));
            app.save(&mut dog).unwrap();
        }
        let log = app.notification_log();
        let s = log.section("1,10").unwrap();
        assert_eq!(
            (s.id.as_deref(), s.items.len(), s.next_id.as_deref()),
            (Some("1,9"), 9, None),
            "{}",
            b.name
        );
        let s = log.section("1,2").unwrap();
        assert_eq!(
            (s.id.as_deref(), s.next_id.as_deref()),
            (Some("1,2"), Some("3,4"))
        );
        let s = log.section("0,100").unwrap();
        assert_eq!(
            (s.id.as_deref(), s.items.len()),
            (Some("1,9"), 9),
            "clamped to the section size"
        );
        let s = log.section("10,20").unwrap();
        assert_eq!((s.id, s.next_id), (None, None));
        assert!(log.section("1;2").unwrap_err().is_programming());
        assert!(
            log.select(&NotificationQuery::new(11))
                .unwrap_err()
                .is_programming()
        );
        let all: Vec<u64> = log.read(None, &[]).map(|n| n.unwrap().id).collect();
        assert_eq!(all, (1..=9).collect::<Vec<_>>());
        let after: Vec<u64> = log.read(Some(7), &[]).map(|n| n.unwrap().id).collect();
        assert_eq!(after, [8, 9]);
    }
}

#[test]
fn the_cache_never_returns_state_older_than_the_store() {
    for b in backends() {
        let name = unique("school");
        let cached = b
            .app(&name)
            .var("AGGREGATE_CACHE_MAXSIZE", "1")
            .build()
            .unwrap();
        let other = Application::new(
            Env::new(name.clone()),
            Recorders::new(Arc::clone(cached.recorder())),
        )
        .unwrap();
        let mut dog = Dog::new("Bella");
        cached.save(&mut dog).unwrap();
        let first: Dog = cached.get(dog.id()).unwrap();
        assert_eq!(first.version(), 1);
        let mut elsewhere: Dog = other.get(dog.id()).unwrap();
        elsewhere.add_trick("jump");
        other.save(&mut elsewhere).unwrap();
        let fresh: Dog = cached.get(dog.id()).unwrap();
        assert_eq!(
            (fresh.version(), fresh.tricks.clone()),
            (2, vec!["jump".to_owned()]),
            "{}",
            b.name
        );
        // Another aggregate evicts the first (bound 1); both still load correctly.
        let mut rex = Dog::new("Rex");
        cached.save(&mut rex).unwrap();
        assert_eq!(cached.get::<Dog>(rex.id()).unwrap().name, "Rex");
        assert_eq!(cached.get::<Dog>(dog.id()).unwrap().version(), 2);
    }
}

#[test]
fn dog_and_counter_round_trip_with_cipher_and_compression() {
    let key = AesCipher::create_key(32);
    for b in backends() {
        for extra in [
            vec![],
            vec![("CIPHER_KEY", key.as_str())],
            vec![("COMPRESSOR_TOPIC", "zlib")],
            vec![
                ("CIPHER_TOPIC", "eventsourcing.cipher:AESCipher"),
                ("CIPHER_KEY", key.as_str()),
                (
                    "COMPRESSOR_TOPIC",
                    "eventsourcing.compressor:ZlibCompressor",
                ),
            ],
        ] {
            let app = b
                .app(&unique("school"))
                .vars(extra.iter().copied())
                .build()
                .unwrap();
            let mut dog = Dog::new("Billy the secret dog");
            dog.add_trick("roll over");
            let mut counter = Counter::new("roll over");
            counter.increment();
            app.save_all(&mut [&mut dog, &mut counter]).unwrap();
            let d: Dog = app.get(dog.id()).unwrap();
            let c: Counter = app.get(Counter::create_id("roll over")).unwrap();
            assert_eq!(
                (d.name.as_str(), d.tricks.len(), c.count),
                ("Billy the secret dog", 1, 1),
                "{} {extra:?}",
                b.name
            );
            let raw = app
                .recorder()
                .select_events(dog.id(), &EventQuery::new())
                .unwrap();
            let plain = serde_json::from_slice::<serde_json::Value>(&raw[0].state).is_ok();
            assert_eq!(
                plain,
                extra.is_empty(),
                "{} {extra:?}: state is encoded as configured",
                b.name
            );
        }
    }
}

#[test]
fn a_follower_with_the_wrong_key_gets_a_decode_error() {
    let name = unique("school");
    let writer = ApplicationBuilder::new(&name)
        .without_process_env()
        .var("CIPHER_KEY", AesCipher::create_key(16))
        .build()
        .unwrap();
    let mut dog = Dog::new("Max");
    writer.save(&mut dog).unwrap();
    let reader = Application::new(
        Env::new(&name).with("CIPHER_KEY", AesCipher::create_key(16)),
        Recorders::new(Arc::clone(writer.recorder())),
    )
    .unwrap();
    let e = reader.get::<Dog>(dog.id()).unwrap_err();
    assert!(
        e.is_decode() && e.to_string().contains("Dog.Registered"),
        "{e}"
    );
}

#[test]
fn the_backend_is_chosen_by_persistence_module() {
    let build = |pairs: &[(&str, &str)]| {
        ApplicationBuilder::new("DogSchool")
            .without_process_env()
            .vars(pairs.iter().copied())
            .build()
    };
    assert!(build(&[]).is_ok(), "popo by default");
    assert!(build(&[("PERSISTENCE_MODULE", "eventsourcing.popo")]).is_ok());
    let e = build(&[("PERSISTENCE_MODULE", "cassandra")]).unwrap_err();
    assert!(
        matches!(e, Error::Config { .. }) && e.to_string().contains("popo, postgres, sqlite"),
        "{e}"
    );
    let e = build(&[("PERSISTENCE_MODULE", "sqlite")]).unwrap_err();
    assert!(
        e.to_string()
            .contains("DOGSCHOOL_SQLITE_DBNAME, SQLITE_DBNAME"),
        "{e}"
    );
    let e = build(&[
        ("PERSISTENCE_MODULE", "postgres"),
        ("POSTGRES_DBNAME", "x"),
        ("POSTGRES_HOST", "h"),
        ("POSTGRES_USER", "u"),
        ("POSTGRES_PASSWORD", "p"),
        ("POSTGRES_PORT", "port"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("POSTGRES_PORT"), "{e}");
    let e = build(&[("IS_SNAPSHOTTING_ENABLED", "perhaps")]).unwrap_err();
    assert!(e.to_string().contains("IS_SNAPSHOTTING_ENABLED"), "{e}");
    assert!(
        build(&[("IS_SNAPSHOTTING_ENABLED", "yes")])
            .unwrap()
            .snapshotting()
    );

    fn custom(env: &Env, snapshots: bool) -> eventsourcing::Result<Recorders> {
        assert!(!snapshots);
        let _ = env;
        Ok(Recorders::new(Arc::new(
            eventsourcing::popo::PopoProcessRecorder::new(),
        )))
    }
    eventsourcing::register_backend("Custom", custom);
    assert!(eventsourcing::backend_names().contains(&"custom".to_owned()));
    let app = build(&[("PERSISTENCE_MODULE", "custom")]).unwrap();
    let mut dog = Dog::new("Via custom");
    app.save(&mut dog).unwrap();
    let _: DogEvent = DogEvent::TrickAdded {
        trick: String::new(),
    };
}
