#![doc = include_str!("../README.md")]

mod index;
mod memory;
mod recorder;

pub use recorder::{
    PopoAggregateRecorder, PopoApplicationRecorder, PopoProcessRecorder, PopoTrackingRecorder,
};
