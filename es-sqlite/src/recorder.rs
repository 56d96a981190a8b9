//! The four SQLite recorder types: handles on one application's [`Tables`].

use std::sync::Arc;
use std::time::Duration;

use es_core::{
    AggregateRecorder, ApplicationRecorder, Env, EventQuery, Notification, NotificationId,
    NotificationQuery, ProcessRecorder, Result, StopHandle, StoredEvent, Subscription, Tracking,
    TrackingRecorder, Uuid, wait_for_tracking,
};

use crate::config::SqliteConfig;
use crate::sql::{EventsSql, TrackingSql};
use crate::tables::Tables;

/// How often an idle subscription on a file database looks for other processes' writes (it
/// backs off to this from a sixteenth of it, and wakes at once on this process's inserts).
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

macro_rules! recorder_type {
    ($(#[$doc:meta])* $name:ident, |$prefix:ident| ($events:expr, $tracking:expr)) => {
        $(#[$doc])*
        ///
        /// Clones share the connections. Recorders of one database in one process share one
        /// writer connection, so their writes queue in-process rather than on SQLite's busy
        /// handler.
        #[derive(Debug, Clone)]
        pub struct $name {
            tables: Arc<Tables>,
        }

        impl $name {
            /// Opens the tables of application `app_name` in the database of `config`, creating
            /// them unless `config.create_table` is off.
            ///
            /// # Errors
            ///
            /// [`Error::Programming`](es_core::Error::Programming) for an application name that
            /// is not a valid table prefix; [`Error::Interface`](es_core::Error::Interface) when
            /// the database cannot be opened; errors of creating the tables.
            pub fn new(config: &SqliteConfig, app_name: &str) -> Result<Self> {
                let $prefix = Tables::prefix(app_name)?;
                let tables = Tables::open(config, $events, $tracking)?;
                Ok(Self { tables })
            }

            /// As [`new`](Self::new), with the settings and name of `env` (see
            /// [`SqliteConfig::from_env`]).
            ///
            /// # Errors
            ///
            /// As [`SqliteConfig::from_env`] and [`new`](Self::new).
            pub fn from_env(env: &Env) -> Result<Self> {
                Self::new(&SqliteConfig::from_env(env)?, env.name())
            }
        }
    };
}

recorder_type!(
    /// A SQLite [`AggregateRecorder`] on the table `<app>_snapshots`, for snapshots.
    /// `insert_events` returns no ids.
    SqliteAggregateRecorder,
    |p| (Some(EventsSql::snapshots(&p)?), None)
);
recorder_type!(
    /// A SQLite [`ApplicationRecorder`] on the table `<app>_events`.
    SqliteApplicationRecorder,
    |p| (Some(EventsSql::events(&p)?), None)
);
recorder_type!(
    /// A SQLite [`TrackingRecorder`] on the table `<app>_tracking`.
    SqliteTrackingRecorder,
    |p| (None, Some(TrackingSql::new(&p)?))
);
recorder_type!(
    /// A SQLite [`ProcessRecorder`] on the tables `<app>_events` and `<app>_tracking`, written in
    /// one transaction.
    SqliteProcessRecorder,
    |p| (Some(EventsSql::events(&p)?), Some(TrackingSql::new(&p)?))
);

impl AggregateRecorder for SqliteAggregateRecorder {
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
                let tables = Arc::clone(&self.tables);
                let fetch = move |q: &NotificationQuery| tables.select_notifications(q);
                let sub = Subscription::new(fetch, gt, topics).woken_by(&self.tables.db.events);
                Ok(if self.tables.db.shared_with_other_processes() {
                    sub.polling(POLL_INTERVAL)
                } else {
                    sub
                })
            }
        }
    )*};
}

application_impls!(SqliteApplicationRecorder, SqliteProcessRecorder);

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
                let notifier = Some(&self.tables.db.tracking);
                wait_for_tracking(self, application_name, notification_id, timeout, interrupt, notifier)
            }
        }
    )*};
}

tracking_impls!(SqliteTrackingRecorder, SqliteProcessRecorder);

impl ProcessRecorder for SqliteProcessRecorder {
    fn insert_events_with_tracking(
        &self,
        events: &[StoredEvent],
        tracking: &Tracking,
    ) -> Result<Vec<NotificationId>> {
        self.tables.insert(events, Some(tracking))
    }
}
