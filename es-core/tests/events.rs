//! The trait-first domain model: event enums as plain serde types (attributes, doc comments,
//! unit, tuple and newtype variants, generics, struct events), stored data written by the
//! `aggregate!` macro of 0.1 still loading (events, aliases, upcasts, snapshots), and the
//! errors of types that cannot be events.

#![allow(missing_docs)] // Test aggregates.

use std::sync::Arc;

use es_core::application::{Application, Pending};
use es_core::domain::{Aggregate, Event, Fields, Root, Upcast};
use es_core::mapper::Mapper;
use es_core::persistence::{AggregateRecorder, Recorders, StoredEvent};
use es_core::{Env, Uuid};
use es_popo::{PopoAggregateRecorder, PopoProcessRecorder};
use serde::{Deserialize, Serialize};

/// The Dog of the fixture, declared as 0.1's `aggregate!` declared it, in the new style.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dog {
    pub name: String,
    pub tricks: Vec<String>,
    pub nickname: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DogEvent {
    Registered {
        name: String,
    },
    TrickAdded {
        trick: String,
    },
    Nicknamed {
        nickname: Option<String>,
    },
    /// 0.1 wrote `Rested {}`: a unit variant reads the same stored form.
    Rested,
}

fn upcast_trick_v1_v2(fields: &mut Fields) {
    if let Some(what) = fields.remove("what") {
        fields.insert("trick".into(), what);
    }
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
            DogEvent::Nicknamed { nickname } => self.nickname = nickname.clone(),
            DogEvent::Rested => {}
        }
    }
}

/// Events 1 to 5 and a snapshot at 5 written by 0.1's `aggregate!` (through its mapper), then
/// three older forms by hand: an alias at class version 1, a class-version-1 state and an
/// absent `Option` field.
fn fixture() -> Vec<StoredEvent> {
    #[derive(Deserialize)]
    struct Row {
        originator_id: String,
        originator_version: u64,
        topic: String,
        state: String,
    }
    let rows: Vec<Row> = serde_json::from_str(include_str!("fixtures/dog-0.1.json")).unwrap();
    rows.into_iter()
        .map(|r| {
            StoredEvent::new(
                Uuid::parse_str(&r.originator_id).unwrap(),
                r.originator_version,
                r.topic,
                r.state.into_bytes(),
            )
        })
        .collect()
}

fn expected() -> Dog {
    Dog {
        name: "Fido".into(),
        tricks: vec!["roll over".into(), "sit".into(), "beg".into()],
        nickname: None,
    }
}

#[test]
fn events_stored_by_0_1_load() {
    let (snapshots, events): (Vec<_>, Vec<_>) = fixture()
        .into_iter()
        .partition(|e| e.topic == "Dog.Snapshot");
    let id = events[0].originator_id;
    for with_snapshot in [false, true] {
        let store = Arc::new(PopoProcessRecorder::default());
        store.insert_events(&events).unwrap();
        let mut recorders = Recorders::new(store);
        if with_snapshot {
            let snapshot_store = Arc::new(PopoAggregateRecorder::default());
            snapshot_store.insert_events(&snapshots).unwrap();
            recorders = recorders.with_snapshots(snapshot_store);
        }
        let app = Application::new(Env::new("DogSchool"), recorders).unwrap();
        let dog = app.get::<Dog>(id).unwrap();
        assert_eq!((dog.state(), dog.version()), (&expected(), 8));
        let at5 = app.get_at::<Dog>(id, 5).unwrap();
        assert_eq!(at5.nickname, None, "Nicknamed(null) at version 4");
        assert_eq!(at5.tricks, ["roll over"]);
        assert_eq!(
            at5.created_on().to_string(),
            "2026-12-01T23:21:01.101545+00:00"
        );
        let at3 = app.get_at::<Dog>(id, 3).unwrap();
        assert_eq!(at3.nickname.as_deref(), Some("Fi"));
    }
}

#[test]
fn the_new_model_writes_what_0_1_wrote() {
    // Re-encode the fixture's first five events: the same topics, fields and class versions.
    let mapper = Mapper::new();
    for stored in fixture().iter().filter(|e| e.originator_version <= 5) {
        if stored.topic == "Dog.Snapshot" {
            let mut dog = Root::<Dog>::empty(stored.originator_id);
            for e in fixture().iter().filter(|e| e.topic != "Dog.Snapshot") {
                if e.originator_version <= 5 {
                    dog.mutate(&mapper.decode(e).unwrap()).unwrap();
                }
            }
            let again = dog.snapshot(&mapper).unwrap();
            assert_eq!(again.state, stored.state, "the snapshot's bytes");
            continue;
        }
        let envelope = mapper.decode::<DogEvent>(stored).unwrap();
        let again = mapper.to_stored(&envelope).unwrap();
        assert_eq!(again.topic, stored.topic);
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        assert_eq!(
            text(&again.state),
            text(&stored.state),
            "the bytes of {}",
            stored.topic
        );
    }
}

/// Everything serde allows in an event enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum Shape<T> {
    /// A doc comment on a variant.
    Drawn {
        /// And on a field.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        #[serde(rename = "size")]
        side: T,
    },
    Erased,
    Moved(i64, i64),
    Scaled(T),
    Styled(Style),
    #[serde(rename = "Recoloured")]
    Coloured {
        colour: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Style {
    pub stroke: u8,
}

/// Keys out of order at every level, and a map whose order is random.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Nested {
    pub zeta: u8,
    pub alpha: Vec<Style>,
    pub map: std::collections::HashMap<String, u8>,
}

impl<T: Serialize + serde::de::DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + 'static>
    Event for Shape<T>
{
    const PREFIX: &'static str = "Shape";
}

fn round_trip<E: Event + PartialEq>(event: E, topic: &str, fields: serde_json::Value) {
    let (t, f) = event.to_fields().unwrap();
    assert_eq!(
        (t.as_str(), serde_json::Value::Object(f.clone())),
        (topic, fields)
    );
    assert_eq!(event.topic(), topic);
    assert!(E::handles(topic), "{topic}");
    assert_eq!(E::from_fields(topic, 1, f.clone()).unwrap(), event);
    // The mapper writes the bytes 0.1 wrote (the fields and the timestamp as one sorted map)
    // and reads the event back from them.
    let envelope = es_core::domain::Envelope {
        originator_id: Uuid::new_v4(),
        originator_version: 1,
        timestamp: es_core::domain::Timestamp::now(),
        event,
    };
    let stored = Mapper::new().to_stored(&envelope).unwrap();
    let mut map = f;
    map.insert("timestamp".into(), envelope.timestamp.to_string().into());
    assert_eq!(stored.state, serde_json::to_vec(&map).unwrap(), "{topic}");
    let back = Mapper::new().decode::<E>(&stored).unwrap();
    assert_eq!(
        (back.event, back.timestamp),
        (envelope.event, envelope.timestamp)
    );
}

#[test]
fn serde_attributes_variants_and_generics_work() {
    use serde_json::json;
    round_trip(
        Shape::Drawn {
            label: None,
            side: 3u32,
        },
        "Shape.Drawn",
        json!({"size": 3}),
    );
    round_trip(
        Shape::Drawn {
            label: Some("a".into()),
            side: 1.5f64,
        },
        "Shape.Drawn",
        json!({"label": "a", "size": 1.5}),
    );
    round_trip(Shape::<u8>::Erased, "Shape.Erased", json!({}));
    round_trip(
        Shape::<u8>::Moved(-1, 2),
        "Shape.Moved",
        json!({"0": -1, "1": 2}),
    );
    round_trip(Shape::Scaled(2u8), "Shape.Scaled", json!({"0": 2}));
    round_trip(
        Shape::<u8>::Styled(Style { stroke: 4 }),
        "Shape.Styled",
        json!({"stroke": 4}),
    );
    round_trip(
        Shape::<u8>::Coloured {
            colour: "red".into(),
        },
        "Shape.Recoloured",
        json!({"colour": "red"}),
    );
    let map = (0..20).map(|i| (format!("k{i}"), i)).collect();
    let nested = Nested {
        zeta: 1,
        alpha: vec![Style { stroke: 2 }],
        map,
    };
    let drawn = Shape::Drawn {
        label: None,
        side: nested.clone(),
    };
    for (event, topic) in [
        (drawn, "Shape.Drawn"),
        (Shape::Scaled(nested), "Shape.Scaled"),
    ] {
        let (_, fields) = event.to_fields().unwrap();
        round_trip(event, topic, serde_json::Value::Object(fields));
    }
    // A missing defaulted field, and topics of other types.
    let fields: Fields = serde_json::from_str(r#"{"size": 7}"#).unwrap();
    assert_eq!(
        Shape::from_fields("Shape.Drawn", 1, fields).unwrap(),
        Shape::Drawn {
            label: None,
            side: 7u16
        }
    );
    for other in [
        "Shape",
        "Shape.",
        "Shape.Unknown",
        "Dog.Drawn",
        "ShapeX.Drawn",
    ] {
        assert!(!Shape::<u8>::handles(other), "{other}");
        let e = Shape::<u8>::from_fields(other, 1, Fields::new()).unwrap_err();
        assert!(e.contains("unknown topic"), "{e}");
    }
}

/// An aggregate with a single event type: a struct is one event, under the topic `PREFIX`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pinged {
    pub at: u64,
}

impl Event for Pinged {
    const PREFIX: &'static str = "Ping.Pinged";
}

#[test]
fn a_struct_is_one_event() {
    round_trip(
        Pinged { at: 9 },
        "Ping.Pinged",
        serde_json::json!({"at": 9}),
    );
    assert!(!Pinged::handles("Ping"));
}

/// serde's other enum representations hide the variant from the topic: such an enum is one
/// event type under `PREFIX`, as a struct is, with its tag among the fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Tagged {
    A { x: u8 },
    B { y: u8 },
}

impl Event for Tagged {
    const PREFIX: &'static str = "Tagged";
}

/// Not an event type: it does not serialize as a map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Count(u64);

impl Event for Count {
    const PREFIX: &'static str = "Count";
}

#[test]
fn other_representations_are_one_topic_and_non_maps_are_encode_errors() {
    round_trip(
        Tagged::B { y: 2 },
        "Tagged",
        serde_json::json!({"type": "B", "y": 2}),
    );
    let e = Count(1).to_fields().unwrap_err().to_string();
    assert!(e.contains("externally tagged"), "{e}");
    let envelope = es_core::domain::Envelope {
        originator_id: Uuid::new_v4(),
        originator_version: 1,
        timestamp: Default::default(),
        event: Count(1),
    };
    let err = Mapper::new().to_stored(&envelope).unwrap_err();
    assert!(
        matches!(err, es_core::Error::Encode { .. }),
        "{}",
        err.report()
    );
}

#[test]
fn recorded_events_must_be_the_aggregates_next() {
    let id = Uuid::new_v4();
    let mut dog = Root::<Dog>::empty(id);
    let event = |originator_id, originator_version| es_core::domain::Envelope {
        originator_id,
        originator_version,
        timestamp: Default::default(),
        event: DogEvent::Rested,
    };
    assert!(matches!(
        dog.mutate(&event(Uuid::new_v4(), 1)),
        Err(es_core::Error::OriginatorMismatch { .. })
    ));
    assert!(matches!(
        dog.mutate(&event(id, 2)),
        Err(es_core::Error::VersionMismatch { expected: 1, .. })
    ));
    dog.mutate(&event(id, 1)).unwrap();
    assert_eq!((dog.version(), dog.pending_events().len()), (1, 0));
}
