//! The whole conformance kit, on the in-memory recorders.

use es_core::ProcessRecorder;
use es_popo::{
    PopoAggregateRecorder, PopoApplicationRecorder, PopoProcessRecorder, PopoTrackingRecorder,
};

es_testkit::all_recorder_tests!(PopoProcessRecorder::default, gap_free);

/// Each recorder type on its own, at its own level.
mod by_type {
    use super::*;
    mod aggregate {
        use super::*;
        es_testkit::aggregate_recorder_tests!(PopoAggregateRecorder::default);
    }
    mod application {
        use super::*;
        es_testkit::aggregate_recorder_tests!(PopoApplicationRecorder::default);
        es_testkit::application_recorder_tests!(PopoApplicationRecorder::default, gap_free);
    }
    mod tracking {
        use super::*;
        es_testkit::tracking_recorder_tests!(PopoTrackingRecorder::default);
    }
}

/// Every suite once more through `Box<dyn ProcessRecorder>`, as users hold recorders.
mod boxed {
    use super::*;
    fn make() -> Box<dyn ProcessRecorder> {
        Box::new(PopoProcessRecorder::default())
    }
    es_testkit::all_recorder_tests!(make, gap_free);
}

/// New in-memory storage: each application name opens the same recorders every time, as a
/// durable backend would, until the storage is dropped.
fn storage() -> es_testkit::apps::Open {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use es_core::{Env, Recorders};
    use es_popo::PopoAggregateRecorder;

    type Pair = (Arc<PopoProcessRecorder>, Arc<PopoAggregateRecorder>);
    let apps: Mutex<HashMap<String, Pair>> = Mutex::default();
    Arc::new(move |env: &Env, snapshots: bool| {
        let mut apps = apps.lock().unwrap();
        let (events, snaps) = apps.entry(env.name().to_owned()).or_default().clone();
        let recorders = Recorders::new(events);
        Ok(if snapshots {
            recorders.with_snapshots(snaps)
        } else {
            recorders
        })
    })
}

es_testkit::application_tests!(storage);
es_testkit::system_tests!(storage);

fn view() -> es_testkit::views::MapCounters<es_popo::MemoryView<es_testkit::views::Counts>> {
    es_testkit::views::MapCounters(std::sync::Arc::default(), |v| (*v.get()).clone())
}

es_testkit::view_tests!(view, storage);

es_testkit::dcb_tests!(es_popo::PopoDcbRecorder::default, gap_free);
