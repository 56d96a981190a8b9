//! [`PolicyTest`]: a process application's policy run on given upstream events.

use es_core::domain::{Envelope, Event, Timestamp};
use es_core::mapper::Mapper;
use es_core::persistence::{Notification, NotificationQuery};
use es_core::system::{ProcessApplication, process_notification};
use es_core::{Result, Uuid};

use crate::ApplicationBuilder;

/// A process application `F` on its own in-memory store, following a leader that exists only
/// as the events given to [`process`](Self::process): each runs the policy and records what
/// it collects with a tracking record, exactly as a runner does.
///
/// ```
/// # use eventsourcing::domain::{Aggregate, Event, Root, uuid5_url};
/// # use eventsourcing::system::{ProcessApplication, Processing, Received};
/// # use eventsourcing::{Result, Uuid, app};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Clone, Serialize, Deserialize)]
/// # pub enum DogEvent { Registered { name: String }, TrickAdded { trick: String } }
/// # impl Event for DogEvent { const PREFIX: &'static str = "Dog"; }
/// # #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// # pub struct Counter { pub count: u64 }
/// # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// # pub enum CounterEvent { Incremented }
/// # impl Event for CounterEvent { const PREFIX: &'static str = "Counter"; }
/// # impl Aggregate for Counter {
/// #     type Event = CounterEvent;
/// #     fn apply(&mut self, _: &CounterEvent) { self.count += 1 }
/// # }
/// # fn counter_id(trick: &str) -> Uuid { uuid5_url(&format!("/counters/{trick}")) }
/// app!(pub struct Counters);
///
/// impl ProcessApplication for Counters {
///     fn policy(&self, event: &Received<'_>, processing: &mut Processing) -> Result<()> {
///         if let Some(DogEvent::TrickAdded { trick }) = event.decode()? {
///             let id = counter_id(&trick);
///             let mut counter = self.get_or(id, || Root::<Counter>::empty(id))?;
///             counter.trigger(CounterEvent::Incremented);
///             processing.collect(counter);
///         }
///         Ok(())
///     }
/// }
///
/// use eventsourcing::testing::PolicyTest;
///
/// let mut test = PolicyTest::<Counters>::new("DogSchool")?;
/// let ignored = test.process(DogEvent::Registered { name: "Fido".into() })?;
/// assert!(ignored.notifications.is_empty());
/// let counted = test.process(DogEvent::TrickAdded { trick: "sit".into() })?;
/// assert_eq!(counted.events::<CounterEvent>()?, [CounterEvent::Incremented]);
/// test.process(DogEvent::TrickAdded { trick: "sit".into() })?;
/// assert_eq!(test.follower().get::<Counter>(counter_id("sit"))?.count, 2);
/// # Ok::<(), eventsourcing::Error>(())
/// ```
#[derive(Debug)]
pub struct PolicyTest<F> {
    follower: F,
    leader: String,
    mapper: Mapper,
    last: u64,
}

/// What one [`PolicyTest::process`] recorded.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The follower's new notifications, in order.
    pub notifications: Vec<Notification>,
    mapper: Mapper,
}

impl Processed {
    /// The recorded events of type `E`, decoded with the follower's mapper; events of other
    /// types are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`](crate::Error::Decode).
    pub fn events<E: Event>(&self) -> Result<Vec<E>> {
        self.notifications
            .iter()
            .filter(|n| E::handles(&n.topic))
            .map(|n| {
                let e = self.mapper.to_envelope::<E>(
                    n.originator_id,
                    n.originator_version,
                    &n.topic,
                    &n.state,
                )?;
                Ok(e.event)
            })
            .collect()
    }
}

impl<F: ProcessApplication> PolicyTest<F> {
    /// `F` on an in-memory store (settings from `F`'s name, without the process environment),
    /// following the leader named `leader`.
    ///
    /// # Errors
    ///
    /// What opening `F` fails with.
    pub fn new(leader: &str) -> Result<Self> {
        Self::with_builder(
            leader,
            ApplicationBuilder::new(F::NAME).without_process_env(),
        )
    }

    /// `F` opened by `builder` (for settings such as a cipher or a snapshotting interval).
    ///
    /// # Errors
    ///
    /// What opening `F` fails with.
    pub fn with_builder(leader: &str, builder: ApplicationBuilder) -> Result<Self> {
        Ok(Self {
            follower: F::from_application(builder.build()?)?,
            leader: leader.to_owned(),
            mapper: Mapper::new(),
            last: 0,
        })
    }

    /// The follower, to query its state.
    pub fn follower(&self) -> &F {
        &self.follower
    }

    /// Runs the policy on `event` as the leader's next notification, the first event of a
    /// new aggregate.
    ///
    /// # Errors
    ///
    /// The policy's error or the recorder's, as [`Error::Processing`](crate::Error::Processing).
    pub fn process<E: Event>(&mut self, event: E) -> Result<Processed> {
        self.process_envelope(&Envelope {
            originator_id: Uuid::new_v4(),
            originator_version: 1,
            timestamp: Timestamp::now(),
            event,
        })
    }

    /// Runs the policy on `envelope` (an event of a given aggregate and version) as the
    /// leader's next notification.
    ///
    /// # Errors
    ///
    /// As [`process`](Self::process).
    pub fn process_envelope<E: Event>(&mut self, envelope: &Envelope<E>) -> Result<Processed> {
        let app = self.follower.application();
        let before = app.recorder().max_notification_id()?;
        self.last += 1;
        let notification = Notification::new(self.last, self.mapper.to_stored(envelope)?);
        process_notification(&self.follower, &self.leader, &self.mapper, &notification)?;
        let mut query = NotificationQuery::new(es_core::MAX_NOTIFICATION_LIMIT);
        if let Some(before) = before {
            query = query.after(before);
        }
        Ok(Processed {
            notifications: app.recorder().select_notifications(&query)?,
            mapper: app.mapper().clone(),
        })
    }
}
