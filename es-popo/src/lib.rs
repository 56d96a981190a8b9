#![doc = include_str!("../README.md")]

mod index;
mod recorder;
mod store;

pub use recorder::{
    PopoAggregateRecorder, PopoApplicationRecorder, PopoProcessRecorder, PopoTrackingRecorder,
};
