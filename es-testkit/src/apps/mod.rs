//! The application suite: what an [`Application`] does on a backend (save, get, versions,
//! conflicts and retries, atomic multi-aggregate saves, snapshots, the cache, notification log
//! sections and readers, cipher and compression), for a factory of the backend's storage.

pub mod domain;
mod read;

pub use read::read_all_pages_topics_and_decoding;

use std::sync::Arc;

use es_core::application::{Application, Pending};
use es_core::domain::Root;
use es_core::mapper::AesCipher;
use es_core::{Env, EventQuery, NotificationQuery, Recorders, Result, Uuid};

use self::domain::{Counter, CounterEvent, Dog};

/// A backend's opener bound to one storage (a database file, a schema, a set of in-memory
/// recorders): the recorders of the application `env` names, with a snapshot recorder when
/// the flag is set. Opening the same application twice on one `Open` gives the same data, as
/// a durable backend would.
pub type Open = Arc<dyn Fn(&Env, bool) -> Result<Recorders> + Send + Sync>;

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// An application named after `prefix` on `open`, with `vars` and snapshots when `snapshots`.
pub fn application(
    open: &Open,
    prefix: &str,
    vars: &[(&str, &str)],
    snapshots: bool,
) -> Application {
    let env = Env::new(unique(prefix)).with_all(vars.iter().copied());
    let recorders = open(&env, snapshots).unwrap();
    Application::new(env, recorders).unwrap()
}

/// Save and get: recordings, versions, timestamps, `get_at`, `contains`, not found, and a save
/// with nothing pending.
pub fn save_get_versions_and_not_found(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], false);
    let mut dog = Dog::register("Billy");
    dog.trigger(dog.add_trick("roll over"));
    let recordings = app.save(&mut dog).unwrap();
    assert_eq!(recordings.len(), 2);
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
    dog.trigger(dog.add_trick("fetch ball"));
    app.save(&mut dog).unwrap();
    let copy: Root<Dog> = app.get(dog.id()).unwrap();
    assert_eq!(
        (copy.version(), copy.tricks.clone()),
        (3, vec!["roll over".to_owned(), "fetch ball".to_owned()])
    );
    assert_eq!(copy.created_on(), dog.created_on());
    assert_eq!(copy.modified_on(), dog.modified_on());
    let v2: Root<Dog> = app.get_at(dog.id(), 2).unwrap();
    assert_eq!(v2.tricks, ["roll over"]);
    assert!(app.contains(dog.id()).unwrap());
    let missing = Uuid::new_v4();
    assert!(!app.contains(missing).unwrap());
    let e = app.get::<Dog>(missing).unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(app.find::<Dog>(missing).unwrap().is_none());
    let found = app.find::<Dog>(dog.id()).unwrap().map(|d| d.version());
    assert_eq!(found, Some(3));
    assert!(
        app.save(&mut dog).unwrap().is_empty(),
        "nothing pending, nothing saved"
    );
}

/// Two writers of one aggregate: the second gets a version conflict, keeps its events
/// pending, and succeeds after reloading.
pub fn concurrent_writers_get_a_version_conflict_and_can_retry(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], false);
    let mut dog = Dog::register("Milly");
    app.save(&mut dog).unwrap();
    let mut first: Root<Dog> = app.get(dog.id()).unwrap();
    let mut second: Root<Dog> = app.get(dog.id()).unwrap();
    first.trigger(first.add_trick("sit"));
    second.trigger(second.add_trick("stay"));
    app.save(&mut first).unwrap();
    let e = app.save(&mut second).unwrap_err();
    assert!(e.is_version_conflict(), "{e}");
    assert_eq!(
        second.pending_events().len(),
        1,
        "a failed save keeps the events pending"
    );
    let mut retry: Root<Dog> = app.get(dog.id()).unwrap();
    retry.trigger(retry.add_trick("stay"));
    app.save(&mut retry).unwrap();
    let last: Root<Dog> = app.get(dog.id()).unwrap();
    assert_eq!(last.tricks, ["sit", "stay"]);
}

/// A save of several aggregates is one atomic write: a conflict on one writes none.
pub fn one_save_of_several_aggregates_is_atomic(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], false);
    let mut dog = Dog::register("Scrappy");
    let mut counter = Counter::start("roll over");
    counter.trigger(CounterEvent::Incremented);
    assert_eq!(
        app.save_all(&mut [&mut dog, &mut counter]).unwrap().len(),
        3
    );
    let before = app.recorder().max_notification_id().unwrap();
    let mut stale: Root<Counter> = app.get_at(counter.id(), 1).unwrap();
    stale.trigger(CounterEvent::Incremented);
    let mut dog2 = Dog::register("Rex");
    let e = app
        .save_all(&mut [&mut dog2, &mut stale as &mut dyn Pending])
        .unwrap_err();
    assert!(e.is_version_conflict(), "{e}");
    assert!(
        !app.contains(dog2.id()).unwrap(),
        "nothing of the batch is written"
    );
    assert_eq!(app.recorder().max_notification_id().unwrap(), before);
    let c: Root<Counter> = app.get(Counter::create_id("roll over")).unwrap();
    assert_eq!((c.name.as_str(), c.count), ("roll over", 1));
}

/// Snapshots every two versions, used when loading (also at a version between snapshots),
/// taken by hand, and refused without a snapshot recorder.
pub fn snapshots_are_taken_at_intervals_and_used_on_load(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], true)
        .with_snapshotting_interval::<Dog>(2)
        .unwrap();
    let mut dog = Dog::register("Fido");
    app.save(&mut dog).unwrap();
    for trick in ["a", "b", "c", "d"] {
        dog.trigger(dog.add_trick(trick));
        app.save(&mut dog).unwrap();
    }
    let snapshots = app.snapshot_recorder().unwrap();
    let versions = |app: &Application| -> Vec<u64> {
        let s = app.snapshot_recorder().unwrap();
        let all = s.select_events(dog.id(), &EventQuery::new()).unwrap();
        all.iter().map(|s| s.originator_version).collect()
    };
    assert_eq!(versions(&app), [2, 4]);
    let at3: Root<Dog> = app.get_at(dog.id(), 3).unwrap();
    assert_eq!((at3.version(), at3.tricks.len()), (3, 2));
    let latest: Root<Dog> = app.get(dog.id()).unwrap();
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
    let plain = application(&open, "plain", &[], false);
    assert!(
        plain
            .take_snapshot::<Dog>(dog.id(), None)
            .unwrap_err()
            .is_programming()
    );
}

/// Notification log sections ("first,last" ids, clamped to the section size, the next
/// section's id), malformed ids, and the log reader from the start and after an id.
pub fn notification_log_sections_and_reader(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[], false);
    let base = app.recorder().max_notification_id().unwrap().unwrap_or(0);
    let ids: Vec<u64> = (0..9)
        .map(|i| app.save(&mut Dog::register(&format!("dog{i}"))).unwrap()[0].notification_id)
        .collect();
    assert_eq!(
        ids,
        (base + 1..=base + 9).collect::<Vec<_>>(),
        "the log is this application's"
    );
    let (first, last) = (base + 1, base + 9);
    let log = app.notification_log();
    let s = log.section(&format!("{first},{}", first + 9)).unwrap();
    assert_eq!(
        (s.id, s.items.len(), s.next_id),
        (Some(format!("{first},{last}")), 9, None)
    );
    let s = log.section(&format!("{first},{}", first + 1)).unwrap();
    assert_eq!(
        (s.id, s.next_id),
        (
            Some(format!("{first},{}", first + 1)),
            Some(format!("{},{}", first + 2, first + 3))
        )
    );
    let s = log.section(&format!("{first},{}", first + 100)).unwrap();
    assert_eq!(
        (s.id, s.items.len()),
        (Some(format!("{first},{last}")), 9),
        "clamped"
    );
    let s = log.section(&format!("{},{}", last + 1, last + 11)).unwrap();
    assert_eq!((s.id, s.next_id), (None, None));
    assert!(log.section("1;2").unwrap_err().is_programming());
    assert!(
        log.select(&NotificationQuery::new(11))
            .unwrap_err()
            .is_programming()
    );
    let all: Vec<u64> = log.read(Some(base), &[]).map(|n| n.unwrap().id).collect();
    assert_eq!(all, ids);
    let after: Vec<u64> = log
        .read(Some(last - 2), &[])
        .map(|n| n.unwrap().id)
        .collect();
    assert_eq!(after, [last - 1, last]);
}

/// A cached aggregate is fast-forwarded with what another application instance saved, and
/// eviction loses nothing.
pub fn the_cache_never_returns_state_older_than_the_store(storage: &dyn Fn() -> Open) {
    let open = storage();
    let cached = application(&open, "school", &[("AGGREGATE_CACHE_MAXSIZE", "1")], false);
    let other = Application::new(
        Env::new(cached.name()),
        Recorders::new(Arc::clone(cached.recorder())),
    )
    .unwrap();
    let mut dog = Dog::register("Bella");
    cached.save(&mut dog).unwrap();
    assert_eq!(cached.get::<Dog>(dog.id()).unwrap().version(), 1);
    let mut elsewhere: Root<Dog> = other.get(dog.id()).unwrap();
    elsewhere.trigger(elsewhere.add_trick("jump"));
    other.save(&mut elsewhere).unwrap();
    let fresh: Root<Dog> = cached.get(dog.id()).unwrap();
    assert_eq!(
        (fresh.version(), fresh.tricks.clone()),
        (2, vec!["jump".to_owned()])
    );
    let mut rex = Dog::register("Rex");
    cached.save(&mut rex).unwrap();
    assert_eq!(cached.get::<Dog>(rex.id()).unwrap().name, "Rex");
    assert_eq!(cached.get::<Dog>(dog.id()).unwrap().version(), 2);
}

/// States round-trip as plain JSON, encrypted, compressed, and both, in the Python names of
/// the settings; stored bytes are plain JSON only without a cipher and a compressor.
pub fn round_trip_with_cipher_and_compression(storage: &dyn Fn() -> Open) {
    let open = storage();
    let key = AesCipher::create_key(32);
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
        let app = application(&open, "school", &extra, false);
        let mut dog = Dog::register("Billy the secret dog");
        dog.trigger(dog.add_trick("roll over"));
        let mut counter = Counter::start("roll over");
        counter.trigger(CounterEvent::Incremented);
        app.save_all(&mut [&mut dog, &mut counter]).unwrap();
        let d: Root<Dog> = app.get(dog.id()).unwrap();
        let c: Root<Counter> = app.get(Counter::create_id("roll over")).unwrap();
        assert_eq!(
            (d.name.as_str(), d.tricks.len(), c.count),
            ("Billy the secret dog", 1, 1),
            "{extra:?}"
        );
        let raw = app
            .recorder()
            .select_events(dog.id(), &EventQuery::new())
            .unwrap();
        let plain = serde_json::from_slice::<serde_json::Value>(&raw[0].state).is_ok();
        assert_eq!(
            plain,
            extra.is_empty(),
            "{extra:?}: state is encoded as configured"
        );
    }
}
