//! The four POPO recorder types: handles on a shared [`Store`].

use std::fmt;
use std::sync::Arc;

#[allow(unused_imports)] // Linked from the docs.
use es_core::{AggregateRecorder, ApplicationRecorder, ProcessRecorder, TrackingRecorder};

use crate::store::Store;

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Clones share one store. Thread-safe; every write takes one lock, so notification ids
        /// follow commit order with no gaps.
        #[derive(Clone, Default)]
        pub struct $name {
            store: Arc<Store>,
        }

        impl $name {
            /// A recorder over a new, empty store.
            pub fn new() -> Self {
                Self::default()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let (events, tracked) = self.store.counts();
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

es_core::impl_recorder_traits!(aggregate_only: PopoAggregateRecorder, store);
es_core::impl_recorder_traits!(application: PopoApplicationRecorder, store);
es_core::impl_recorder_traits!(tracking: PopoTrackingRecorder, store);
es_core::impl_recorder_traits!(process: PopoProcessRecorder, store);
