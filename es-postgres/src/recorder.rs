//! The four PostgreSQL recorder types: handles on one application's [`Tables`].

use std::sync::Arc;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Env, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, Result, StopHandle, StoredEvent, Subscription, Tracking,
    TrackingRecorder, Uuid, wait_for_tracking,
};

use crate::config::PostgresConfig;
use crate::sql::Kind;
use crate::tables::Tables;

/// How often an idle subscription selects for writes of other recorders and processes (it backs
/// off to this from a sixteenth of it, and wakes at once on this recorder's inserts).
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        ///
        /// Clones share the connection pool.
        #[derive(Debug, Clone)]
        pub struct $name {
            tables: Arc<Tables>,
        }

        impl $name {
            /// Opens the tables of application `app_name` in `config.schema`, creating the
            /// schema, tables and insert function unless `config.create_table` is off.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for an application or schema
            /// name that is not a valid identifier (or too long with its suffixes); pool and
            /// server errors of creating the tables.
            pub fn new(config: &PostgresConfig, app_name: &str) -> Result<Self> {
                Ok(Self { tables: Tables::open(config, app_name, $kind)? })
            }

            /// As [`new`](Self::new), with the settings and name of `env` (see
            /// [`PostgresConfig::from_env`]).
            ///
            /// # Errors
            ///
            /// As [`PostgresConfig::from_env`] and [`new`](Self::new).
            pub fn from_env(env: &Env) -> Result<Self> {
                Self::new(&PostgresConfig::from_env(env)?, env.name())
            }
        }
    };
}

recorder_type!(
    /// A PostgreSQL [`AggregateRecorder`] on `<schema>.<app>_snapshots`, for snapshots (no lock,
    /// no notification log). `insert_events` returns no ids.
    PostgresAggregateRecorder,
    Kind::Snapshots
);
recorder_type!(
    /// A PostgreSQL [`ApplicationRecorder`] on `<schema>.<app>_events`.
    PostgresApplicationRecorder,
    Kind::Events
);
recorder_type!(
    /// A PostgreSQL [`TrackingRecorder`] on `<schema>.<app>_tracking`.
    PostgresTrackingRecorder,
    Kind::Tracking
);
recorder_type!(
    /// A PostgreSQL [`ProcessRecorder`] on `<schema>.<app>_events` and `<schema>.<app>_tracking`,
    /// written in one statement.
    PostgresProcessRecorder,
    Kind::Process
);

impl AggregateRecorder for PostgresAggregateRecorder {
    fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
        self.tables.insert(events, None).map(|_| Vec::new())
    }

    fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
        self.tables.select_events(originator_id, query)
    }
}

macro_rules! application_impls {
    ($($name:ident),*) => {$(
        impl AggregateRecorder for $name {
            fn insert_events(&self, events: &[StoredEvent]) -> Result<Vec<NotificationId>> {
                self.tables.insert(events, None)
            }

            fn select_events(&self, originator_id: Uuid, query: &EventQuery) -> Result<Vec<StoredEvent>> {
                self.tables.select_events(originator_id, query)
            }
        }

        impl ApplicationRecorder for $name {
            fn select_notifications(&self, query: &NotificationQuery) -> Result<Vec<Notification>> {
                self.tables.select_notifications(query)
            }

            fn max_notification_id(&self) -> Result<Option<NotificationId>> {
                self.tables.max_notification_id()
            }

            fn subscribe(&self, gt: Option<NotificationId>, topics: &[String]) -> Result<Subscription> {
                self.tables.ensure_listener();
                let tables = Arc::clone(&self.tables);
                let fetch = move |q: &NotificationQuery| tables.select_notifications(q);
                Ok(Subscription::new(fetch, gt, topics)
                    .woken_by(&self.tables.events)
                    .polling(POLL_INTERVAL))
            }
        }
    )*};
}

application_impls!(PostgresApplicationRecorder, PostgresProcessRecorder);

macro_rules! tracking_impls {
    ($($name:ident),*) => {$(
        impl TrackingRecorder for $name {
            fn insert_tracking(&self, tracking: &Tracking) -> Result<()> {
                self.tables.insert_tracking(tracking)
            }

            fn max_tracking_id(&self, application_name: &str) -> Result<Option<NotificationId>> {
                self.tables.max_tracking_id(application_name)
            }

            fn wait(
                &self,
                application_name: &str,
                notification_id: NotificationId,
                timeout: Duration,
                interrupt: Option<&StopHandle>,
            ) -> Result<()> {
                let notifier = Some(&self.tables.tracking);
                wait_for_tracking(self, application_name, notification_id, timeout, interrupt, notifier)
            }
        }
    )*};
}

tracking_impls!(PostgresTrackingRecorder, PostgresProcessRecorder);

impl ProcessRecorder for PostgresProcessRecorder {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.tables.insert(events, Some(tracking))
    }
}
