//! The Python library's stored format (`STORED_FORMAT=python`) against fixtures written by the
//! real library (eventsourcing 9.5.6, the tutorial's `DogSchool` and `Counters` on SQLite,
//! `tests/fixtures/python-9.5.6/`): every stored event decodes to the tutorial's types with
//! each value checked, and encodes back to the same bytes.

use es_core::domain::{Envelope, Event, PythonTopics, Timestamp};
use es_core::mapper::{Mapper, StoredFormat};
use es_core::{Error, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum DogEvent {
    Registered { name: String },
    TrickAdded { trick: String },
}

impl Event for DogEvent {
    const PREFIX: &'static str = "Dog";
    const PYTHON: Option<PythonTopics> = Some(PythonTopics::new("tutorial.domainmodel:Dog"));
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CounterEvent {
    Created { name: String },
    Incremented,
}

impl Event for CounterEvent {
    const PREFIX: &'static str = "Counter";
    const PYTHON: Option<PythonTopics> = Some(PythonTopics::new("tutorial.domainmodel:Counter"));
}

/// A row of a fixture's `stored_events`.
struct Row {
    id: Uuid,
    version: u64,
    topic: String,
    state: Vec<u8>,
}

fn rows(file: &str) -> Vec<Row> {
    let path = format!(
        "{}/tests/fixtures/python-9.5.6/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fixture["stored_events"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let hex = r["state"].as_str().unwrap().strip_prefix("hex:").unwrap();
            let state = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            Row {
                id: Uuid::parse_str(r["originator_id"].as_str().unwrap()).unwrap(),
                version: r["originator_version"].as_u64().unwrap(),
                topic: r["topic"].as_str().unwrap().to_owned(),
                state,
            }
        })
        .collect()
}

fn python() -> Mapper {
    Mapper::new().with_format(StoredFormat::Python)
}

/// Decodes `row`, checks the timestamp against the fixture's text, and encodes it back.
fn round_trip<E: Event>(row: &Row) -> E {
    let mapper = python();
    let envelope: Envelope<E> = mapper
        .to_envelope(row.id, row.version, &row.topic, &row.state)
        .unwrap();
    let text: Value = serde_json::from_slice(&row.state).unwrap();
    let iso = text["timestamp"]["_data_"].as_str().unwrap();
    assert_eq!(Some(envelope.timestamp), Timestamp::parse(iso));
    let stored = mapper.to_stored(&envelope).unwrap();
    assert_eq!(stored.topic, row.topic);
    assert_eq!(
        String::from_utf8(stored.state).unwrap(),
        String::from_utf8(row.state.clone()).unwrap(),
        "byte for byte"
    );
    envelope.event
}

#[test]
fn the_python_dog_school_decodes_and_encodes_byte_for_byte() {
    let rows = rows("py-sqlite-dogschool.json");
    let events: Vec<(u64, DogEvent)> = rows
        .iter()
        .map(|r| (r.version, round_trip::<DogEvent>(r)))
        .collect();
    let registered = |name: &str| DogEvent::Registered { name: name.into() };
    let trick = |trick: &str| DogEvent::TrickAdded {
        trick: trick.into(),
    };
    assert_eq!(
        events,
        [
            (1, registered("Billy")),
            (1, registered("Milly")),
            (1, registered("Scrappy")),
            (2, trick("roll over")),
            (2, trick("roll over")),
            (2, trick("roll over")),
            (3, trick("fetch ball")),
            (3, trick("fetch ball")),
            (4, trick("play dead")),
        ]
    );
}

#[test]
fn the_python_counters_decode_and_encode_byte_for_byte() {
    let rows = rows("py-sqlite-counters.json");
    let events: Vec<(u64, CounterEvent)> = rows
        .iter()
        .map(|r| (r.version, round_trip::<CounterEvent>(r)))
        .collect();
    let created = |name: &str| CounterEvent::Created { name: name.into() };
    use CounterEvent::Incremented as Inc;
    assert_eq!(
        events,
        [
            (1, created("roll over")),
            (2, Inc),
            (3, Inc),
            (4, Inc),
            (1, created("fetch ball")),
            (2, Inc),
            (3, Inc),
            (1, created("play dead")),
            (2, Inc),
        ]
    );
}

fn decode_error(topic: &str, version: u64, state: &str) -> String {
    let e = python()
        .to_envelope::<DogEvent>(Uuid::nil(), version, topic, state.as_bytes())
        .unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e}");
    e.report().to_string()
}

#[test]
fn what_does_not_belong_fails_to_decode_naming_it() {
    let ts = r#"{"_type_":"datetime_iso","_data_":"2026-12-07T11:33:25.735102+00:00"}"#;
    let registered = "tutorial.domainmodel:Dog.Registered";
    // The version-1 event names another aggregate, or none.
    let cat = format!(r#"{{"timestamp":{ts},"originator_topic":"zoo:Cat","name":"Tom"}}"#);
    assert!(decode_error(registered, 1, &cat).contains("zoo:Cat"));
    let none = format!(r#"{{"timestamp":{ts},"name":"Tom"}}"#);
    assert!(decode_error(registered, 1, &none).contains("no originator_topic"));
    // Another aggregate's topic, a native topic, a plain-string or naive timestamp.
    let ok = format!(r#"{{"timestamp":{ts},"trick":"sit"}}"#);
    assert!(decode_error("zoo:Cat.Registered", 2, &ok).contains("zoo:Cat.Registered"));
    assert!(decode_error("Dog.TrickAdded", 2, &ok).contains("Dog.TrickAdded"));
    let plain = r#"{"timestamp":"2026-12-07T11:33:25+00:00","trick":"sit"}"#;
    assert!(decode_error("tutorial.domainmodel:Dog.TrickAdded", 2, plain).contains("datetime_iso"));
    let naive =
        r#"{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-07T11:33:25"},"trick":"sit"}"#;
    assert!(decode_error("tutorial.domainmodel:Dog.TrickAdded", 2, naive).contains("aware"));
    // A transcoding nobody registered: the Python library's words.
    let custom =
        format!(r#"{{"timestamp":{ts},"trick":{{"_type_":"point_as_dict","_data_":{{"x":3}}}}}}"#);
    let e = decode_error("tutorial.domainmodel:Dog.TrickAdded", 2, &custom);
    assert!(
        e.contains("Data serialized with name 'point_as_dict' is not deserializable"),
        "{e}"
    );
}

#[test]
fn transcoded_uuids_and_decimals_in_fields_decode_as_strings() {
    #[derive(Debug, Clone, Serialize, Deserialize)]
    enum Ledger {
        Paid { to: Uuid, amount: String },
    }
    impl Event for Ledger {
        const PREFIX: &'static str = "Ledger";
        const PYTHON: Option<PythonTopics> = Some(PythonTopics::new("bank:Ledger"));
    }
    let state = r#"{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-07T16:30:00+05:30"},"to":{"_type_":"uuid_hex","_data_":"5b1d3a4e6f7a4c1b9a2e3f4d5c6b7a80"},"amount":{"_type_":"decimal_str","_data_":"12.50"}}"#;
    let envelope = python()
        .to_envelope::<Ledger>(Uuid::nil(), 2, "bank:Ledger.Paid", state.as_bytes())
        .unwrap();
    let Ledger::Paid { to, amount } = envelope.event;
    assert_eq!(to.simple().to_string(), "5b1d3a4e6f7a4c1b9a2e3f4d5c6b7a80");
    assert_eq!(amount, "12.50");
    // The offset is normalised to UTC.
    assert_eq!(
        Some(envelope.timestamp),
        Timestamp::parse("2026-12-07T11:00:00+00:00")
    );
}

#[test]
fn writing_needs_python_topics_and_gives_the_version_1_event_its_originator_topic() {
    #[derive(Debug, Clone, Serialize, Deserialize)]
    enum Native {
        Happened,
    }
    impl Event for Native {
        const PREFIX: &'static str = "Native";
    }
    let at = Timestamp::parse("2026-12-07T11:00:00+00:00").unwrap();
    fn envelope<E>(version: u64, at: Timestamp, event: E) -> Envelope<E> {
        Envelope {
            originator_id: Uuid::nil(),
            originator_version: version,
            timestamp: at,
            event,
        }
    }
    let e = python()
        .to_stored(&envelope(1, at, Native::Happened))
        .unwrap_err();
    assert!(e.report().to_string().contains("Event::PYTHON"), "{e}");
    let first = python()
        .to_stored(&envelope(
            1,
            at,
            DogEvent::Registered { name: "Rex".into() },
        ))
        .unwrap();
    assert_eq!(first.topic, "tutorial.domainmodel:Dog.Registered");
    // Whole seconds are written as Python's isoformat writes them.
    assert_eq!(
        String::from_utf8(first.state).unwrap(),
        r#"{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-07T11:00:00+00:00"},"originator_topic":"tutorial.domainmodel:Dog","name":"Rex"}"#
    );
    let later = python()
        .to_stored(&envelope(
            2,
            at,
            DogEvent::TrickAdded {
                trick: "sit".into(),
            },
        ))
        .unwrap();
    assert!(
        !String::from_utf8(later.state)
            .unwrap()
            .contains("originator_topic")
    );
}

#[test]
fn declared_topics_classify_python_topics_by_their_native_form() {
    use es_core::domain::{TopicCheck, Topics};
    let topics = Topics::new().event::<DogEvent>();
    assert_eq!(
        topics.classify("tutorial.domainmodel:Dog.Registered"),
        Ok(TopicCheck::Known)
    );
    assert_eq!(topics.classify("Dog.TrickAdded"), Ok(TopicCheck::Known));
    assert_eq!(
        topics.classify("tutorial.domainmodel:Counter.Created"),
        Ok(TopicCheck::Foreign)
    );
    assert!(topics.classify("tutorial.domainmodel:Dog.Renamed").is_err());
}
