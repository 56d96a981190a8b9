//! The mapper: golden vectors from the Python library's cipher, wrong keys, bit flips in every
//! region, truncation, zlib bombs, upcasting and env configuration.

#![allow(missing_docs)] // Test aggregates.

use es_core::domain::{Aggregate, Event, Fields, Root, Upcast};
use es_core::mapper::{AesCipher, Mapper, ZlibCompressor};
use es_core::{Env, Error, Uuid};
use serde::{Deserialize, Serialize};

/// Generated with pycryptodome 3 (`AES.new(key, AES.MODE_GCM, nonce=nonce).encrypt_and_digest`,
/// output `nonce + tag + ciphertext`, as `eventsourcing.cipher:AESCipher` writes it) and
/// Python's `zlib.compress`:
///
/// ```python
/// key, nonce = bytes(range(32)), bytes(range(100, 112))
/// plain = b'{"timestamp":"2026-11-26T14:00:00.000000+00:00","name":"Fido"}'
/// ```
mod golden {
    pub(super) const KEY_256: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    pub(super) const KEY_128: &str = "AAECAwQFBgcICQoLDA0ODw==";
    pub(super) const NONCE: &str = "6465666768696a6b6c6d6e6f";
    pub(super) const PLAIN: &[u8] =
        br#"{"timestamp":"2026-11-26T14:00:00.000000+00:00","name":"Fido"}"#;
    pub(super) const AES_256: &str = "6465666768696a6b6c6d6e6fc0ae0c9286b50d2fb11e0488408e64733339aa0f148c25ea5f0f2fcae04758cd70f42b3bba41c144f3e09872cb939f78a4c770f07c22ab34d6c34805cd72e8e33935f98a45687b0abc98c8b9cdfc";
    pub(super) const AES_128: &str = "6465666768696a6b6c6d6e6fae9286a649758228b8144861388a32d561403accb667cb8efa532732bce819dc02be55cea384ef6ca05e85ad8cc2cdc38ad26214bb2817a1a168177cbdb2662bf9f37c1ef8247b0a85e76532eee3";
    pub(super) const ZLIB: &str = "789cab562ac9cc4d2d2e49cc2d50b25232323032d33534d435320b3134b1323000223d0330d00673947494f2127353812add3253f2956a0107f60fee";
    pub(super) const ZLIB_AES_256: &str = "6465666768696a6b6c6d6e6f0a2c68d404df80499366a913231a8ed23087753053209ad3134c1624f735d8af70f036385859c7a692e3a779cf12977894cb7dc37cc29d776987eccdef31994e3186aab4d2df2b29fd07a338";
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn nonce() -> [u8; 12] {
    hex(golden::NONCE).try_into().unwrap()
}

/// Encryption with a fixed nonce is checked by the cipher's unit test (no public API takes a
/// nonce); here Python's ciphertexts decrypt through the public API.
#[test]
fn python_ciphertexts_decrypt() {
    for (key, expected) in [
        (golden::KEY_256, golden::AES_256),
        (golden::KEY_128, golden::AES_128),
    ] {
        let cipher = AesCipher::from_base64(key).unwrap();
        let sealed = hex(expected);
        assert_eq!(&sealed[..12], &nonce()[..]);
        assert_eq!(cipher.decrypt(&sealed).unwrap(), golden::PLAIN);
    }
}

#[test]
fn python_compressed_and_encrypted_states_decode() {
    // flate2 (miniz_oxide) may choose other deflate blocks than zlib, so compressed bytes are
    // compared by what they decode to; the stream format and header are the same.
    let z = ZlibCompressor::default();
    assert_eq!(z.decompress(&hex(golden::ZLIB)).unwrap(), golden::PLAIN);
    assert_eq!(
        z.compress(golden::PLAIN).unwrap()[..2],
        hex(golden::ZLIB)[..2]
    );
    let mapper = Mapper::new()
        .with_compressor(z)
        .with_cipher(AesCipher::from_base64(golden::KEY_256).unwrap());
    assert_eq!(
        mapper.decode_state(&hex(golden::ZLIB_AES_256)).unwrap(),
        golden::PLAIN
    );
}

#[test]
fn fresh_nonces_and_exact_overhead() {
    let cipher = AesCipher::from_base64(&AesCipher::create_key(32)).unwrap();
    let a = cipher.encrypt(b"same").unwrap();
    let b = cipher.encrypt(b"same").unwrap();
    assert_ne!(a[..12], b[..12], "a fresh nonce per message");
    assert_eq!(a.len(), 4 + 28);
}

#[test]
fn wrong_keys_bit_flips_and_short_inputs_fail() {
    let cipher = AesCipher::from_base64(golden::KEY_256).unwrap();
    let other = AesCipher::from_base64(&AesCipher::create_key(32)).unwrap();
    let good = hex(golden::AES_256);
    assert!(other.decrypt(&good).is_err(), "wrong key");
    for i in 0..good.len() {
        for bit in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            assert!(
                cipher.decrypt(&bad).is_err(),
                "flip at byte {i} (nonce, tag or body)"
            );
        }
    }
    for len in 0..28 {
        assert!(cipher.decrypt(&good[..len]).is_err(), "short input {len}");
    }
    assert!(
        cipher.decrypt(&good[..good.len() - 1]).is_err(),
        "truncated body"
    );
}

#[test]
fn bad_keys_are_config_errors_that_hide_the_key() {
    for bad in [
        "not base64!!",
        "AAAA",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==",
    ] {
        let e = AesCipher::from_base64(bad).unwrap_err();
        assert!(e.is_config(), "{bad}: {e}");
        assert!(!e.report().to_string().contains(bad), "{e}");
    }
    let cipher = AesCipher::from_base64(golden::KEY_256).unwrap();
    assert!(!format!("{cipher:?}").contains(golden::KEY_256));
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dog {
    pub name: String,
    pub tricks: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DogEvent {
    Registered { name: String },
    TrickAdded { trick: String },
}

impl Event for DogEvent {
    const PREFIX: &'static str = "Dog";
    const ALIASES: &'static [(&'static str, &'static str)] =
        &[("Dog.TrickLearned", "Dog.TrickAdded")];
    const UPCASTS: &'static [(&'static str, &'static [Upcast])] =
        &[("Dog.TrickAdded", &[upcast_trick_v1_v2])];
}

impl Aggregate for Dog {
    type Event = DogEvent;
    fn apply(&mut self, event: &DogEvent) {
        match event {
            DogEvent::Registered { name } => self.name = name.clone(),
            DogEvent::TrickAdded { trick } => self.tricks.push(trick.clone()),
        }
    }
}

/// Version 1 stored the trick under `what`.
fn upcast_trick_v1_v2(fields: &mut Fields) {
    if let Some(what) = fields.remove("what") {
        fields.insert("trick".into(), what);
    }
}

fn mappers() -> Vec<(&'static str, Mapper)> {
    let key = AesCipher::from_base64(golden::KEY_256).unwrap();
    vec![
        ("plain", Mapper::new()),
        (
            "zlib",
            Mapper::new().with_compressor(ZlibCompressor::default()),
        ),
        ("aes", Mapper::new().with_cipher(key.clone())),
        (
            "zlib+aes",
            Mapper::new()
                .with_compressor(ZlibCompressor::default())
                .with_cipher(key),
        ),
    ]
}

#[test]
fn events_round_trip_through_every_pipeline() {
    let mut dog = Dog::register_for_test("Fido");
    dog.trigger(DogEvent::TrickAdded {
        trick: "roll over".into(),
    });
    for (name, mapper) in mappers() {
        for envelope in dog.pending_events() {
            let stored = mapper.to_stored(envelope).unwrap();
            assert_eq!(stored.topic, envelope.event.topic(), "{name}");
            let back = mapper.decode::<DogEvent>(&stored).unwrap();
            assert_eq!(back.timestamp, envelope.timestamp, "{name}");
            assert_eq!(
                format!("{:?}", back.event),
                format!("{:?}", envelope.event),
                "{name}"
            );
        }
    }
    let plain = Mapper::new().to_stored(&dog.pending_events()[1]).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&plain.state).unwrap();
    assert_eq!(json["trick"], "roll over");
    assert_eq!(json["class_version"], 2, "class version recorded above 1");
    assert!(json.get("originator_id").is_none() && json.get("originator_version").is_none());
    assert!(
        !String::from_utf8(plain.state).unwrap().contains(": "),
        "compact JSON"
    );
}

impl Dog {
    fn register_for_test(name: &str) -> Root<Self> {
        Root::create(DogEvent::Registered { name: name.into() })
    }
}

#[test]
fn old_versions_and_aliases_are_upcast_on_load() {
    let id = Uuid::new_v4();
    let v1 = es_core::StoredEvent::new(
        id,
        2,
        "Dog.TrickLearned",
        br#"{"timestamp":"2026-11-26T14:00:00+00:00","what":"sit"}"#.to_vec(),
    );
    let e = Mapper::new().decode::<DogEvent>(&v1).unwrap();
    assert!(
        matches!(e.event, DogEvent::TrickAdded { ref trick } if trick == "sit"),
        "{e:?}"
    );
}

#[test]
fn decode_errors_name_topic_originator_and_version() {
    let key = AesCipher::from_base64(golden::KEY_256).unwrap();
    let writer = Mapper::new().with_cipher(key);
    let reader =
        Mapper::new().with_cipher(AesCipher::from_base64(&AesCipher::create_key(16)).unwrap());
    let dog = Dog::register_for_test("Rex");
    let stored = writer.to_stored(&dog.pending_events()[0]).unwrap();
    let e = reader.decode::<DogEvent>(&stored).unwrap_err();
    let text = e.report().to_string();
    assert!(e.is_decode(), "{e}");
    assert!(
        text.contains("Dog.Registered")
            && text.contains(&dog.id().to_string())
            && text.contains("version 1"),
        "{text}"
    );
    assert!(!text.contains(golden::KEY_256));

    let unknown = es_core::StoredEvent::new(dog.id(), 1, "Cat.Registered", b"{}".to_vec());
    assert!(
        Mapper::new()
            .decode::<DogEvent>(&unknown)
            .unwrap_err()
            .is_decode()
    );
    let garbage = es_core::StoredEvent::new(dog.id(), 1, "Dog.Registered", b"{not json".to_vec());
    assert!(
        Mapper::new()
            .decode::<DogEvent>(&garbage)
            .unwrap_err()
            .is_decode()
    );
    let zlib = Mapper::new().with_compressor(ZlibCompressor::default());
    let mut truncated = zlib.to_stored(&dog.pending_events()[0]).unwrap();
    truncated.state.pop();
    assert!(
        zlib.decode::<DogEvent>(&truncated).unwrap_err().is_decode(),
        "truncated stream"
    );
}

#[test]
fn a_zlib_bomb_stops_at_the_bound() {
    let z = ZlibCompressor {
        max_decompressed: 1 << 20,
    };
    let mapper = Mapper::new().with_compressor(z);
    let bomb = ZlibCompressor::default()
        .compress(&vec![b' '; 64 << 20])
        .unwrap();
    let stored = es_core::StoredEvent::new(Uuid::new_v4(), 1, "Dog.Registered", bomb);
    let e = mapper.decode::<DogEvent>(&stored).unwrap_err();
    assert!(
        e.report().to_string().contains("exceeds the limit"),
        "{}",
        e.report()
    );
}

#[test]
fn env_selects_compressor_and_cipher() {
    let env = |pairs: &[(&str, &str)]| Env::new("DogSchool").with_all(pairs.iter().copied());
    let m = Mapper::from_env(&env(&[])).unwrap();
    assert!(!m.compresses() && !m.encrypts());
    for topic in ["zlib", "eventsourcing.compressor:ZlibCompressor"] {
        assert!(
            Mapper::from_env(&env(&[("COMPRESSOR_TOPIC", topic)]))
                .unwrap()
                .compresses()
        );
    }
    let m = Mapper::from_env(&env(&[("CIPHER_KEY", golden::KEY_256)])).unwrap();
    assert!(m.encrypts(), "a key alone selects AES");
    let m = Mapper::from_env(&env(&[
        ("CIPHER_TOPIC", "eventsourcing.cipher:AESCipher"),
        ("DOGSCHOOL_CIPHER_KEY", golden::KEY_128),
    ]))
    .unwrap();
    assert!(m.encrypts());
    for (pairs, key) in [
        (
            &[("CIPHER_TOPIC", "eventsourcing.cipher:AESCipher")][..],
            "CIPHER_KEY",
        ),
        (&[("CIPHER_TOPIC", "rot13")][..], "CIPHER_TOPIC"),
        (&[("COMPRESSOR_TOPIC", "bz2")][..], "COMPRESSOR_TOPIC"),
        (&[("CIPHER_KEY", "c2hvcnQ=")][..], "CIPHER_KEY"),
        (
            &[
                ("COMPRESSOR_TOPIC", "zlib"),
                ("COMPRESSOR_MAX_DECOMPRESSED", "lots"),
            ][..],
            "COMPRESSOR_MAX_DECOMPRESSED",
        ),
    ] {
        let e = Mapper::from_env(&env(pairs)).unwrap_err();
        assert!(
            matches!(e, Error::Config { .. }) && e.to_string().contains(key),
            "{pairs:?}: {e}"
        );
    }
}
