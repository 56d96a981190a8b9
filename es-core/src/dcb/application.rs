//! [`DcbApplication`]: commands decided over consistency boundaries ([`Decide`]) and appended
//! under the condition that the boundary did not change, retried when it did.

use std::sync::Arc;

use crate::dcb::{Decision, Tagged};
use crate::error::Result;
use crate::persistence::dcb::{DcbAppendCondition, DcbEvent, DcbQuery, DcbRecorder, Position};

/// A command decided over a consistency boundary: Python's `Slice` (or an `EnduringObject`'s
/// method), disintegrate's `Decision`. The application reads the boundary's events, folds them
/// into [`State`](Self::State) with [`apply`](Self::apply), calls [`decide`](Self::decide),
/// and appends the decisions on condition that no event of the boundary was appended since.
pub trait Decide {
    /// The application's decisions (its events).
    type Decision: Decision;
    /// What the decision is made from.
    type State: Default;

    /// The events the decision depends on: an object's tag (`[id]`, Python's
    /// `EnduringObject`), several objects' (a `Group`), narrowed by types.
    fn boundary(&self) -> DcbQuery;

    /// Folds one stored decision of the boundary into the state.
    fn apply(&self, state: &mut Self::State, event: &Tagged<Self::Decision>);

    /// The new decisions with their tags (none: nothing to append), or an error that refuses
    /// the command (`Error::user(...)`).
    ///
    /// # Errors
    ///
    /// The command's refusal.
    fn decide(&self, state: &Self::State) -> Result<Vec<Tagged<Self::Decision>>>;
}

/// What [`DcbApplication::execute`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// The last position appended, or `None` when the command decided nothing.
    pub position: Option<Position>,
    /// How many times the command was decided: more than one when its boundary changed
    /// between its read and its append.
    pub attempts: usize,
}

/// How many times [`DcbApplication::execute`] decides a command whose boundary keeps changing
/// before it returns the failed condition.
pub const DEFAULT_ATTEMPTS: usize = 10;

/// A DCB application: a name and a [`DcbRecorder`], and commands executed against them.
/// Python's `DCBApplication` with its repository's `advance` and `save`.
#[derive(Debug, Clone)]
pub struct DcbApplication {
    name: String,
    recorder: Arc<dyn DcbRecorder>,
    attempts: usize,
}

impl DcbApplication {
    /// The application `name` on `recorder`.
    pub fn new(name: impl Into<String>, recorder: Arc<dyn DcbRecorder>) -> Self {
        Self {
            name: name.into(),
            recorder,
            attempts: DEFAULT_ATTEMPTS,
        }
    }

    /// Decides a command at most `attempts` times (at least once).
    #[must_use]
    pub fn with_attempts(mut self, attempts: usize) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The application's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The recorder.
    pub fn recorder(&self) -> &Arc<dyn DcbRecorder> {
        &self.recorder
    }

    /// The state `command` would decide from now, and the head it was read at.
    ///
    /// # Errors
    ///
    /// The recorder's errors; an event of the boundary that does not decode.
    pub fn state<C: Decide>(&self, command: &C) -> Result<(C::State, Option<Position>)> {
        let read = self.recorder.read(&command.boundary(), None, None)?;
        let mut state = C::State::default();
        for e in &read.events {
            command.apply(&mut state, &Tagged::from_event(&e.event)?);
        }
        Ok((state, read.head))
    }

    /// Reads the command's boundary, decides, and appends the decisions on condition that no
    /// event of the boundary was appended after the read. When one was, decides again from a
    /// fresh read, up to the configured attempts ([`DEFAULT_ATTEMPTS`]).
    ///
    /// # Errors
    ///
    /// The command's refusal from [`Decide::decide`];
    /// [`Error::AppendConditionFailed`](crate::Error::AppendConditionFailed) when the boundary
    /// changed before every attempt; the recorder's errors.
    pub fn execute<C: Decide>(&self, command: &C) -> Result<Executed> {
        let boundary = command.boundary();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (state, head) = self.state(command)?;
            let decisions = command.decide(&state)?;
            if decisions.is_empty() {
                return Ok(Executed {
                    position: None,
                    attempts: attempt,
                });
            }
            let events: Vec<DcbEvent> = decisions
                .iter()
                .map(Tagged::to_event)
                .collect::<Result<_>>()?;
            let condition = DcbAppendCondition::new(boundary.clone()).after(head);
            match self.recorder.append(&events, Some(&condition)) {
                Ok(position) => {
                    return Ok(Executed {
                        position: Some(position),
                        attempts: attempt,
                    });
                }
                Err(e) if e.is_append_condition_failed() && attempt < self.attempts => {
                    tracing::debug!(
                        target: "eventsourcing::dcb",
                        application = %self.name,
                        attempt,
                        "the boundary changed; deciding again"
                    );
                }
                Err(e) => return Err(e),
            }
        }
    }
}
