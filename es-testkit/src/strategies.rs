//! Generators: operations on recorders, drawn from small spaces so that conflicts really happen.

use proptest::collection::vec;
use proptest::prelude::*;

/// How many distinct originators a case uses.
pub const ORIGINATORS: usize = 3;
/// How many distinct versions a case uses per originator (0 included, as the Python tests do).
pub const VERSIONS: u64 = 5;
/// How many distinct topics a case uses.
pub const TOPICS: usize = 3;
/// How many distinct upstream applications a case tracks.
pub const UPSTREAMS: usize = 2;
/// The range of tracking ids.
pub const TRACKING_IDS: u64 = 8;

/// An event by indexes into the case's originators and topics. Its `Debug` is compact
/// (`o1v2t0` and the state's length when it has one), for short failure messages.
#[derive(Clone)]
pub struct EventSpec {
    /// Index of the originator.
    pub originator: usize,
    /// The version.
    pub version: u64,
    /// Index of the topic.
    pub topic: usize,
    /// The state bytes.
    pub state: Vec<u8>,
}

impl std::fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "o{}v{}t{}", self.originator, self.version, self.topic)?;
        match self.state.len() {
            0 => Ok(()),
            n => write!(f, "+{n}B"),
        }
    }
}

/// One operation of a model-based case. Notification bounds are offsets from the case's baseline
/// (the log's max id when the case started).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub enum Op {
    Insert(Vec<EventSpec>),
    /// Events with a tracking record of upstream `.1` covering notifications `.2 - .3` to `.2`
    /// (a batch when `.3` is above 0).
    Process(Vec<EventSpec>, usize, u64, u64),
    /// A tracking record alone, as in `Process`.
    Track(usize, u64, u64),
    SelectEvents {
        originator: usize,
        gt: Option<u64>,
        lte: Option<u64>,
        desc: bool,
        limit: Option<usize>,
    },
    SelectNotifications {
        start: Option<u64>,
        inclusive: bool,
        stop: Option<u64>,
        topics: Vec<usize>,
        limit: usize,
    },
    MaxNotificationId,
    MaxTrackingId(usize),
    HasTrackingId(usize, u64),
}

/// Which operations a recorder supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// [`es_core::AggregateRecorder`].
    Aggregate,
    /// [`es_core::ApplicationRecorder`].
    Application,
    /// [`es_core::TrackingRecorder`].
    Tracking,
    /// [`es_core::ProcessRecorder`].
    Process,
}

/// An event drawn from the small space.
pub fn event_spec() -> impl Strategy<Value = EventSpec> {
    (
        0..ORIGINATORS,
        0..VERSIONS,
        0..TOPICS,
        vec(any::<u8>(), 0..6),
    )
        .prop_map(|(originator, version, topic, state)| EventSpec {
            originator,
            version,
            topic,
            state,
        })
}

fn batch() -> impl Strategy<Value = Vec<EventSpec>> {
    vec(event_spec(), 0..4)
}

fn select_events() -> impl Strategy<Value = Op> {
    (
        0..ORIGINATORS,
        proptest::option::of(0..VERSIONS + 1),
        proptest::option::of(0..VERSIONS + 1),
        any::<bool>(),
        proptest::option::of(0..4_usize),
    )
        .prop_map(|(originator, gt, lte, desc, limit)| Op::SelectEvents {
            originator,
            gt,
            lte,
            desc,
            limit,
        })
}

fn select_notifications() -> impl Strategy<Value = Op> {
    (
        proptest::option::of(0..16_u64),
        any::<bool>(),
        proptest::option::of(0..16_u64),
        vec(0..TOPICS, 0..3),
        0..8_usize,
    )
        .prop_map(
            |(start, inclusive, stop, topics, limit)| Op::SelectNotifications {
                start,
                inclusive,
                stop,
                topics,
                limit,
            },
        )
}

/// How many notifications before its last a tracking record covers: mostly one
/// notification, sometimes a batch.
fn span() -> impl Strategy<Value = u64> {
    prop_oneof![2 => Just(0_u64), 1 => 1..4_u64]
}

/// Operations a recorder of `level` supports, weighted towards writes.
pub fn op(level: Level) -> BoxedStrategy<Op> {
    let insert = batch().prop_map(Op::Insert);
    let track = (0..UPSTREAMS, 1..TRACKING_IDS, span()).prop_map(|(a, n, s)| Op::Track(a, n, s));
    let tracking_reads = prop_oneof![
        (0..UPSTREAMS).prop_map(Op::MaxTrackingId),
        (0..UPSTREAMS, 0..TRACKING_IDS + 1).prop_map(|(a, n)| Op::HasTrackingId(a, n)),
    ];
    match level {
        Level::Aggregate => prop_oneof![3 => insert, 2 => select_events()].boxed(),
        Level::Application => prop_oneof![
            3 => insert,
            1 => select_events(),
            2 => select_notifications(),
            1 => Just(Op::MaxNotificationId),
        ]
        .boxed(),
        Level::Tracking => prop_oneof![2 => track, 2 => tracking_reads].boxed(),
        Level::Process => prop_oneof![
            2 => insert,
            3 => (batch(), 0..UPSTREAMS, 1..TRACKING_IDS, span())
                .prop_map(|(b, a, n, s)| Op::Process(b, a, n, s)),
            1 => track,
            1 => tracking_reads,
            1 => select_events(),
            2 => select_notifications(),
            1 => Just(Op::MaxNotificationId),
        ]
        .boxed(),
    }
}

/// A sequence of up to 40 operations for a recorder of `level`.
pub fn ops(level: Level) -> impl Strategy<Value = Vec<Op>> {
    vec(op(level), 1..40)
}
