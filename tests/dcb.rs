//! The facade's DCB door: `PERSISTENCE_MODULE` (also spelt as the Python library does) opens
//! a DCB recorder, mistakes are configuration errors naming the setting, and a
//! `DcbApplication` decides again when its boundary changed under it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use eventsourcing::dcb::{
    DcbApplication, DcbQuery, DcbQueryItem, DcbRecorder, Decide, Decision, Tagged,
    open_dcb_recorder,
};
use eventsourcing::{Env, Error, Result};
use serde::{Deserialize, Serialize};

#[test]
fn persistence_module_names_the_backend_in_either_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dcb.db");
    for module in [
        "popo",
        "eventsourcing.dcb.popo",
        "sqlite",
        "eventsourcing.dcb.sqlite",
    ] {
        let env = Env::new("Booking")
            .with("PERSISTENCE_MODULE", module)
            .with("SQLITE_DBNAME", db.to_str().unwrap());
        let r = open_dcb_recorder(&env).unwrap();
        let p = r
            .append(
                &[eventsourcing::dcb::DcbEvent::new("E", b"{}".to_vec())],
                None,
            )
            .unwrap();
        assert!(p >= 1, "{module}");
    }
    let sqlite = Env::new("Booking")
        .with("PERSISTENCE_MODULE", "sqlite")
        .with("SQLITE_DBNAME", db.to_str().unwrap());
    assert_eq!(
        open_dcb_recorder(&sqlite).unwrap().head().unwrap(),
        Some(2),
        "the file kept both"
    );
}

#[test]
fn mistakes_are_configuration_errors_naming_the_setting() {
    let unknown = Env::new("Booking").with("PERSISTENCE_MODULE", "eventsourcing.dcb.umadb");
    match open_dcb_recorder(&unknown).unwrap_err() {
        Error::Config { key, problem } => {
            assert_eq!(key, "PERSISTENCE_MODULE");
            assert!(
                problem.contains("known: popo, sqlite, postgres"),
                "{problem}"
            );
        }
        other => panic!("{other}"),
    }
    let forgotten = Env::new("Booking").with("SQLITE_DBNAME", "booking.db");
    match open_dcb_recorder(&forgotten).unwrap_err() {
        Error::Config { key, problem } => {
            assert_eq!(key, "PERSISTENCE_MODULE");
            assert!(problem.contains("SQLITE_DBNAME"), "{problem}");
        }
        other => panic!("{other}"),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Counted {
    Added { by: u32 },
    Reset,
}

#[test]
fn decisions_round_trip_with_their_variant_as_type() {
    for d in [Counted::Added { by: 3 }, Counted::Reset] {
        let (t, data) = d.encode().unwrap();
        assert_eq!(Counted::decode(&t, &data).unwrap(), d);
    }
    assert_eq!(
        Counted::Reset.encode().unwrap(),
        ("Reset".to_owned(), b"{}".to_vec())
    );
    let err = Counted::decode("Added", b"{\"by\":\"x\"}").unwrap_err();
    assert!(matches!(err, Error::Data { .. }), "{err}");
    assert!(
        err.report().to_string().contains("\"Added\""),
        "{}",
        err.report()
    );
}

/// Adds one to a counter of at most `max`, appending a second event behind its own back
/// (another writer) the first `interfere` times it decides.
struct AddOne {
    max: u32,
    recorder: Arc<dyn DcbRecorder>,
    interfere: AtomicUsize,
}

impl Decide for AddOne {
    type Decision = Counted;
    type State = u32;

    fn boundary(&self) -> DcbQuery {
        DcbQueryItem::tags(["counter"]).into()
    }

    fn apply(&self, n: &mut u32, event: &Tagged<Counted>) {
        if let Counted::Added { by } = event.decision {
            *n += by;
        }
    }

    fn decide(&self, n: &u32) -> Result<Vec<Tagged<Counted>>> {
        if self.interfere.load(Ordering::SeqCst) > 0 {
            self.interfere.fetch_sub(1, Ordering::SeqCst);
            let other = Tagged::new(Counted::Added { by: 1 }, ["counter"]).to_event()?;
            self.recorder.append(&[other], None)?;
        }
        if *n >= self.max {
            return Err(Error::user("full"));
        }
        Ok(vec![Tagged::new(Counted::Added { by: 1 }, ["counter"])])
    }
}

#[test]
fn a_changed_boundary_is_decided_again_and_attempts_are_bounded() {
    let recorder: Arc<dyn DcbRecorder> = Arc::new(eventsourcing::popo::PopoDcbRecorder::default());
    let app = DcbApplication::new("Counter", Arc::clone(&recorder)).with_attempts(3);
    let add = |interfere| AddOne {
        max: 10,
        recorder: Arc::clone(&recorder),
        interfere: AtomicUsize::new(interfere),
    };
    let done = app.execute(&add(2)).unwrap();
    assert_eq!(done.attempts, 3, "refused twice, then appended");
    assert_eq!(
        app.state(&add(0)).unwrap().0,
        3,
        "two interfering events and one of its own"
    );
    let err = app.execute(&add(3)).unwrap_err();
    assert!(
        err.is_append_condition_failed(),
        "gives up after 3 attempts: {err}"
    );
    for _ in 0..4 {
        app.execute(&add(0)).unwrap();
    }
    let refused = app.execute(&add(0)).unwrap_err();
    assert!(refused.to_string().contains("full") || refused.report().to_string().contains("full"));
    assert_eq!(app.state(&add(0)).unwrap().0, 10, "never past its maximum");
}
