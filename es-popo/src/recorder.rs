//! The four POPO recorder types: handles on a shared [`PopoBackend`].

use std::fmt;
use std::sync::Arc;

#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};

use crate::memory::PopoBackend;

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Clones share one backend. Thread-safe; every write takes one lock, so notification ids
        /// follow commit order with no gaps.
        #[derive(Clone, Default)]
        pub struct $name {
            backend: Arc<PopoBackend>,
        }

        impl $name {
            /// A recorder over a new, empty backend.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (events, tracked) = self.backend.counts();
                f.debug_struct(stringify!($name))
                    .field("events", &events)
                    .field("tracked_applications", &tracked)
                    .finish()
            }
        }
    };
}

recorder_type!(
    /// An in-memory [`AggregateRecorder`], for snapshots. `insert_events` returns no ids.
    PopoAggregateRecorder
);
recorder_type!(
    /// An in-memory [`ApplicationRecorder`] with push subscriptions.
    PopoApplicationRecorder
);
recorder_type!(
    /// An in-memory [`TrackingRecorder`].
    PopoTrackingRecorder
);
recorder_type!(
    /// An in-memory [`ProcessRecorder`]: events and tracking in one store.
    PopoProcessRecorder
);

es_core::impl_recorder_traits!(aggregate_only: PopoAggregateRecorder, backend);
es_core::impl_recorder_traits!(application: PopoApplicationRecorder, backend);
es_core::impl_recorder_traits!(tracking: PopoTrackingRecorder, backend);
es_core::impl_recorder_traits!(process: PopoProcessRecorder, backend);
