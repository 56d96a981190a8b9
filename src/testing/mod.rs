//! Test helpers for your domain and policies: [`Given`] (given past events, when a command,
//! then these new events or this error) for aggregates, and [`PolicyTest`] to run a process
//! application's policy on upstream events, recorded as a runner records them.

mod given;
mod policy;

pub use given::{Given, Then};
pub use policy::{PolicyTest, Processed};
