#![doc = include_str!("../README.md")]

mod index;
mod memory;
mod recorder;
mod view;

pub use memory::PopoBackend;
pub use recorder::{
    PopoAggregateRecorder, PopoApplicationRecorder, PopoProcessRecorder, PopoTrackingRecorder,
};
pub use view::MemoryView;
