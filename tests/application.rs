//! What the facade adds to the application layer: the backend chosen from the environment
//! (and a registered one), and a follower with the wrong key. The backend-generic application
//! behaviour (save, get, conflicts, snapshots, the cache, log sections, cipher and compression)
//! is es-testkit's application suite, which every backend runs.

mod common;

use std::sync::Arc;

use common::{Dog, DogEvent, new_dog};
use eventsourcing::application::Application;
use eventsourcing::mapper::AesCipher;
use eventsourcing::persistence::Recorders;
use eventsourcing::{ApplicationBuilder, Env, Error, Uuid};

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}

#[test]
fn a_follower_with_the_wrong_key_gets_a_decode_error() {
    let name = unique("school");
    let writer = ApplicationBuilder::new(&name)
        .without_process_env()
        .var("CIPHER_KEY", AesCipher::create_key(16))
        .build()
        .unwrap();
    let mut dog = new_dog("Max");
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
            eventsourcing::popo::PopoProcessRecorder::default(),
        )))
    }
    eventsourcing::register_backend("Custom", custom);
    assert!(eventsourcing::backend_names().contains(&"custom".to_owned()));
    let app = build(&[("PERSISTENCE_MODULE", "custom")]).unwrap();
    let mut dog = new_dog("Via custom");
    app.save(&mut dog).unwrap();
    let _: DogEvent = DogEvent::TrickAdded {
        trick: String::new(),
    };
}
