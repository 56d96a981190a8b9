//! [`Given`]: given/when/then for aggregates.

use std::fmt::Debug;

use es_core::Uuid;
use es_core::domain::{Aggregate, Envelope, Root, Timestamp};

/// An aggregate with a past: `Given::<Dog>::events([...])`, then
/// [`when`](Self::when) a command, then [`Then`]'s checks.
///
/// ```
/// # use eventsourcing::domain::{Aggregate, Event};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Clone, Default, Serialize, Deserialize)]
/// # pub struct Account { pub balance: i64 }
/// # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// # pub enum AccountEvent { Opened, Deposited { amount: i64 }, Withdrawn { amount: i64 } }
/// # impl Event for AccountEvent { const PREFIX: &'static str = "Account"; }
/// # impl Aggregate for Account {
/// #     type Event = AccountEvent;
/// #     fn apply(&mut self, event: &AccountEvent) {
/// #         match event {
/// #             AccountEvent::Opened => {}
/// #             AccountEvent::Deposited { amount } => self.balance += amount,
/// #             AccountEvent::Withdrawn { amount } => self.balance -= amount,
/// #         }
/// #     }
/// # }
/// #[derive(Debug, PartialEq)]
/// pub struct Overdrawn;
///
/// impl Account {
///     pub fn withdraw(&self, amount: i64) -> Result<AccountEvent, Overdrawn> {
///         match self.balance >= amount {
///             true => Ok(AccountEvent::Withdrawn { amount }),
///             false => Err(Overdrawn),
///         }
///     }
/// }
///
/// use eventsourcing::testing::Given;
///
/// Given::<Account>::events([AccountEvent::Opened, AccountEvent::Deposited { amount: 10 }])
///     .when(|account| account.execute(|a| a.withdraw(4)))
///     .then_events([AccountEvent::Withdrawn { amount: 4 }]);
///
/// Given::<Account>::events([AccountEvent::Opened])
///     .when(|account| account.execute(|a| a.withdraw(4)))
///     .then_error(Overdrawn);
/// ```
#[derive(Debug)]
#[must_use = "a given does nothing until `when`"]
pub struct Given<A: Aggregate> {
    root: Root<A>,
}

impl<A: Aggregate> Given<A> {
    /// An aggregate (with a random id) whose recorded events are `events`, in order.
    ///
    /// # Panics
    ///
    /// Never for a fresh aggregate: its events get the versions 1, 2, ….
    pub fn events(events: impl IntoIterator<Item = A::Event>) -> Self {
        let id = Uuid::new_v4();
        let mut root = Root::<A>::empty(id);
        for (i, event) in events.into_iter().enumerate() {
            let envelope = Envelope {
                originator_id: id,
                originator_version: i as u64 + 1,
                timestamp: Timestamp::now(),
                event,
            };
            if let Err(e) = root.mutate(&envelope) {
                unreachable!("a fresh aggregate takes versions in order: {e}");
            }
        }
        Self { root }
    }

    /// An aggregate whose past is a [`Root`] already built (from a constructor, say).
    pub fn root(mut root: Root<A>) -> Self {
        root.collect_events();
        Self { root }
    }

    /// Runs `command` on the aggregate.
    pub fn when<E>(mut self, command: impl FnOnce(&mut Root<A>) -> Result<(), E>) -> Then<A, E> {
        let result = command(&mut self.root);
        Then {
            root: self.root,
            result,
        }
    }
}

/// What a command did: check it with [`then_events`](Self::then_events),
/// [`then_error`](Self::then_error) or [`then_error_matches`](Self::then_error_matches), and
/// look at the state with [`root`](Self::root).
#[derive(Debug)]
#[must_use = "a command's outcome is checked by a `then_…` method"]
pub struct Then<A: Aggregate, E> {
    root: Root<A>,
    result: Result<(), E>,
}

impl<A: Aggregate, E: Debug> Then<A, E> {
    /// Asserts that the command succeeded and triggered exactly `expected`, in order.
    ///
    /// # Panics
    ///
    /// When the command failed or triggered other events.
    #[track_caller]
    pub fn then_events(self, expected: impl IntoIterator<Item = A::Event>) -> Root<A>
    where
        A::Event: PartialEq,
    {
        if let Err(e) = &self.result {
            panic!("the command failed with {e:?}; expected events");
        }
        let expected: Vec<A::Event> = expected.into_iter().collect();
        let triggered: Vec<&A::Event> = self
            .root
            .pending_events()
            .iter()
            .map(|e| &e.event)
            .collect();
        assert_eq!(
            triggered,
            expected.iter().collect::<Vec<_>>(),
            "the events the command triggered (left) are not those expected (right)"
        );
        self.root
    }

    /// Asserts that the command failed with `expected` and triggered nothing.
    ///
    /// # Panics
    ///
    /// When the command succeeded, failed otherwise, or triggered events.
    #[track_caller]
    pub fn then_error(self, expected: E) -> Root<A>
    where
        E: PartialEq,
    {
        self.then_error_matches(|e| *e == expected)
    }

    /// Asserts that the command failed with an error `check` accepts and triggered nothing.
    ///
    /// # Panics
    ///
    /// When the command succeeded, `check` refuses its error, or it triggered events.
    #[track_caller]
    pub fn then_error_matches(self, check: impl FnOnce(&E) -> bool) -> Root<A> {
        match &self.result {
            Ok(()) => panic!(
                "the command succeeded with {:?}; expected an error",
                self.root.pending_events()
            ),
            Err(e) => assert!(
                check(e),
                "the command failed with an unexpected error: {e:?}"
            ),
        }
        assert!(
            self.root.pending_events().is_empty(),
            "the command failed but triggered {:?}",
            self.root.pending_events()
        );
        self.root
    }

    /// The aggregate after the command (its state, version and pending events).
    pub fn root(&self) -> &Root<A> {
        &self.root
    }
}
