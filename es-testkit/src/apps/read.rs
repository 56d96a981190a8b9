//! Reading an application's log: the read-all API (pages of any size from a position, topic
//! filters, typed decoding) and the notification log's section size as a setting.

use es_core::application::Application;
use es_core::{Env, NotificationQuery};

use super::domain::{CounterEvent, Dog, DogEvent};
use super::{Open, application};

/// Every notification after a position comes once, in order, whatever the page size; a topic
/// filter and typed decoding select and decode; `LOG_SECTION_SIZE` sets the section size and
/// a bad value is a config error naming it.
pub fn read_all_pages_topics_and_decoding(storage: &dyn Fn() -> Open) {
    let open = storage();
    let app = application(&open, "school", &[("LOG_SECTION_SIZE", "3")], false);
    let base = app.recorder().max_notification_id().unwrap().unwrap_or(0);
    for i in 0..7 {
        let mut dog = Dog::register(&format!("dog{i}"));
        dog.trigger(dog.add_trick(&format!("t{i}")));
        app.save(&mut dog).unwrap();
    }
    let expected: Vec<u64> = (base + 1..=base + 14).collect();
    for (page, prefetch) in [1, 2, 3, 13, 14, 1000]
        .into_iter()
        .flat_map(|p| [(p, true), (p, false)])
    {
        let ids: Vec<u64> = app
            .read_all()
            .after(base)
            .page_size(page)
            .prefetch(prefetch)
            .map(|n| n.unwrap().id)
            .collect();
        assert_eq!(ids, expected, "pages of {page}, prefetch {prefetch}");
    }
    // A reader dropped mid-log stops its read-ahead; the next reader still sees everything.
    let first: Vec<u64> = app
        .read_all()
        .after(base)
        .page_size(2)
        .take(3)
        .map(|n| n.unwrap().id)
        .collect();
    assert_eq!(first, expected[..3]);
    let tricks: Vec<(u64, String)> = app
        .read_all()
        .after(base)
        .page_size(2)
        .topics(["Dog.TrickAdded"])
        .events::<DogEvent>()
        .map(|e| {
            let (id, e) = e.unwrap();
            match e.event {
                DogEvent::TrickAdded { trick } => (id, trick),
                other => panic!("not a trick: {other:?}"),
            }
        })
        .collect();
    let want: Vec<(u64, String)> = (0..7)
        .map(|i| (base + 2 * i + 2, format!("t{i}")))
        .collect();
    assert_eq!(tricks, want);
    let registered = app.read_all().after(base).events::<DogEvent>().count();
    assert_eq!(registered, 14, "both topics decode as DogEvent");
    let counters = app.read_all().after(base).events::<CounterEvent>().count();
    assert_eq!(counters, 0, "other types' topics are skipped");
    assert_eq!(app.read_all().after(base + 14).count(), 0);

    let log = app.notification_log();
    let s = log
        .section(&format!("{},{}", base + 1, base + 100))
        .unwrap();
    assert_eq!(s.items.len(), 3, "sections of LOG_SECTION_SIZE");
    assert!(
        log.select(&NotificationQuery::new(4))
            .unwrap_err()
            .is_programming()
    );
    for bad in ["0", "many", "100001"] {
        let env = Env::new("school").with("SCHOOL_LOG_SECTION_SIZE", bad);
        let recorders = open(&env, false).unwrap();
        let e = Application::new(env, recorders).unwrap_err();
        let text = e.report().to_string();
        assert!(
            e.is_config() && text.contains("SCHOOL_LOG_SECTION_SIZE"),
            "{bad}: {text}"
        );
    }
}
