#![doc = include_str!("../README.md")]
// Library code returns typed errors: no unwrap or expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod dcb;
mod index;
mod memory;
mod recorder;
mod view;

pub use dcb::{PopoDcbBackend, PopoDcbRecorder};
pub use memory::PopoBackend;
pub use recorder::{
    PopoAggregateRecorder, PopoApplicationRecorder, PopoProcessRecorder, PopoTrackingRecorder,
};
pub use view::MemoryView;
