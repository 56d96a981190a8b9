//! The four POPO recorder types: [`Recorder`]s of one kind each on a shared [`PopoBackend`].
//! `default()` makes one over a new, empty backend; clones share it.

use es_core::backend::{Recorder, kind};
#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};

use crate::memory::PopoBackend;

/// An in-memory [`AggregateRecorder`], for snapshots. `insert_events` returns no ids.
pub type PopoAggregateRecorder = Recorder<PopoBackend, kind::Snapshots>;

/// An in-memory [`ApplicationRecorder`].
pub type PopoApplicationRecorder = Recorder<PopoBackend, kind::Events>;

/// An in-memory [`TrackingRecorder`].
pub type PopoTrackingRecorder = Recorder<PopoBackend, kind::Tracking>;

/// An in-memory [`ProcessRecorder`]: events and tracking in one store.
pub type PopoProcessRecorder = Recorder<PopoBackend, kind::Process>;
