//! S2 nonces never repeat, S3 ciphertexts not bound to their row (a pinned limitation), S4 no
//! plaintext at rest, S5 no secrets in errors or Debug output.

use std::collections::HashSet;

use eventsourcing::ApplicationBuilder;
use eventsourcing::application::Application;
use eventsourcing::domain::Root;
use eventsourcing::mapper::AesCipher;
use eventsourcing::persistence::{AggregateRecorder, EventQuery, Recorders, StoredEvent};
use eventsourcing::postgres::{PostgresApplicationRecorder, PostgresConfig};
use eventsourcing::{Env, Uuid};

use crate::common::{Dog, backends, new_dog, trick};
use crate::{full, unique};

/// S2: no repeated nonce across many encryptions under one key; equal plaintexts differ;
/// encryptions are counted for key rotation.
#[test]
fn s2_nonces_never_repeat() {
    let n = if full() { 1_000_000 } else { 200_000 };
    let cipher = AesCipher::from_base64(&AesCipher::create_key(32)).unwrap();
    let mut nonces = HashSet::with_capacity(n);
    let first = cipher.encrypt(b"same plaintext").unwrap();
    for _ in 0..n {
        let sealed = cipher.encrypt(b"").unwrap();
        let nonce: [u8; 12] = sealed[..12].try_into().unwrap();
        assert!(
            nonces.insert(nonce),
            "repeated nonce after {} encryptions",
            nonces.len()
        );
    }
    assert_ne!(
        first,
        cipher.encrypt(b"same plaintext").unwrap(),
        "equal plaintexts differ"
    );
    assert_eq!(cipher.encryptions(), u64::try_from(n).unwrap() + 2);
    assert_eq!(
        cipher.clone().encryptions(),
        cipher.encryptions(),
        "clones share the count"
    );
}

/// S3: ciphertexts are not bound to their row. Like the Python library (and for its data to stay
/// readable), AES-GCM is used without associated data, so someone who can write to the table can
/// copy one event's encrypted state into another aggregate's row, and it decrypts there. This
/// test pins that limitation, stated in the README: if binding is added, it fails
/// and the README must change with it.
#[test]
fn s3_ciphertexts_are_not_bound_to_their_row() {
    let b = backends().into_iter().next().unwrap();
    let app = b
        .app(&unique("aad"))
        .var("CIPHER_KEY", AesCipher::create_key(32))
        .build()
        .unwrap();
    let mut dog = new_dog("Original");
    app.save(&mut dog).unwrap();
    let stored = app
        .recorder()
        .select_events(dog.id(), &EventQuery::new())
        .unwrap();
    let other = Uuid::new_v4();
    app.recorder()
        .insert_events(&[StoredEvent::new(
            other,
            1,
            &stored[0].topic,
            stored[0].state.clone(),
        )])
        .unwrap();
    let copied: Root<Dog> = app.get(other).unwrap();
    assert_eq!(
        copied.name, "Original",
        "the copied ciphertext decrypts in another row"
    );
}

/// S4: with a cipher key, an event's plaintext is in neither the SQLite file nor its WAL nor the
/// PostgreSQL table. Topics, originator ids, versions and notification ids stay plaintext.
#[test]
fn s4_no_plaintext_at_rest() {
    let sentinel = format!("SENTINEL-{}", Uuid::new_v4());
    let key = AesCipher::create_key(32);
    for b in backends() {
        if b.name == "popo" || b.name == "sqlite-memory" {
            continue; // nothing at rest
        }
        let app = b
            .app(&unique("secret"))
            .var("CIPHER_KEY", key.clone())
            .build()
            .unwrap();
        let mut dog = new_dog(&sentinel);
        dog.trigger(trick(&sentinel));
        app.save(&mut dog).unwrap();
        let copy: Root<Dog> = app.get(dog.id()).unwrap();
        assert_eq!(copy.name, sentinel, "{}: readable with the key", b.name);
        let raw = app
            .recorder()
            .select_events(dog.id(), &EventQuery::new())
            .unwrap();
        let needle = sentinel.as_bytes();
        for e in &raw {
            assert!(
                !e.state.windows(needle.len()).any(|w| w == needle),
                "{}: plaintext in a stored state",
                b.name
            );
        }
        if b.name == "sqlite-file" {
            let db = b
                .vars
                .iter()
                .find(|(k, _)| k == "SQLITE_DBNAME")
                .map(|(_, v)| v.clone())
                .unwrap();
            for path in [db.clone(), format!("{db}-wal")] {
                if let Ok(bytes) = std::fs::read(&path) {
                    assert!(
                        !bytes.windows(needle.len()).any(|w| w == needle),
                        "plaintext in {path}"
                    );
                }
            }
        }
    }
}

/// S5: keys and passwords appear in no error and no Debug output.
#[test]
fn s5_no_secrets_in_errors_or_debug() {
    let key = AesCipher::create_key(32);
    let app = ApplicationBuilder::new("Secretive")
        .without_process_env()
        .var("CIPHER_KEY", key.clone())
        .build()
        .unwrap();
    let texts = [
        format!("{app:?}"),
        format!("{:?}", app.env()),
        format!("{:?}", app.mapper()),
    ];
    for t in &texts {
        assert!(!t.contains(&key), "key in {t}");
    }
    let mut dog = new_dog("Max");
    app.save(&mut dog).unwrap();
    let other = Application::new(
        Env::new("Secretive").with("CIPHER_KEY", AesCipher::create_key(32)),
        Recorders::new(std::sync::Arc::clone(app.recorder())),
    )
    .unwrap();
    let e = other.get::<Dog>(dog.id()).unwrap_err();
    assert!(!format!("{e} {e:?}").contains(&key));
    let password = "pw-that-must-not-leak-42";
    let env = Env::new("x").with_all([
        ("POSTGRES_DBNAME", "d"),
        ("POSTGRES_HOST", "127.0.0.1"),
        ("POSTGRES_PORT", "1"),
        ("POSTGRES_USER", "u"),
        ("POSTGRES_PASSWORD", password),
        ("POSTGRES_CONNECT_TIMEOUT", "1"),
    ]);
    let config = PostgresConfig::from_env(&env).unwrap();
    assert!(!format!("{config:?}").contains(password));
    let e = PostgresApplicationRecorder::new(&config, "app").unwrap_err();
    assert!(!format!("{e} {e:?}").contains(password), "{e:?}");
    let e = eventsourcing::postgres::drop_postgres_table(&config, "t").unwrap_err();
    assert!(!format!("{e} {e:?}").contains(password), "{e:?}");
}
