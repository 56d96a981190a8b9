//! [`impl_recorder_traits!`](crate::impl_recorder_traits): the four recorder traits of a
//! backend's recorder types, derived from its [`Backend`](crate::backend::Backend).

/// Implements recorder traits for a type whose field `$field: Arc<S>` holds a
/// [`Backend`](crate::backend::Backend):
///
/// - `aggregate_only: Type, field` — [`AggregateRecorder`](crate::persistence::AggregateRecorder) returning no
///   ids (snapshot stores);
/// - `application: Type, field` — [`AggregateRecorder`](crate::persistence::AggregateRecorder) and
///   [`ApplicationRecorder`](crate::persistence::ApplicationRecorder);
/// - `tracking: Type, field` — [`TrackingRecorder`](crate::persistence::TrackingRecorder);
/// - `process: Type, field` — all four, and [`LeaseRecorder`](crate::persistence::LeaseRecorder).
#[macro_export]
macro_rules! impl_recorder_traits {
    (aggregate_only: $ty:ty, $field:ident) => {
        impl $crate::persistence::AggregateRecorder for $ty {
            fn insert_events(
                &self,
                events: &[$crate::persistence::StoredEvent],
            ) -> $crate::Result<Vec<$crate::persistence::NotificationId>> {
                $crate::backend::insert(&*self.$field, events, None).map(|_| Vec::new())
            }
            fn select_events(
                &self,
                originator_id: $crate::Uuid,
                query: &$crate::persistence::EventQuery,
            ) -> $crate::Result<Vec<$crate::persistence::StoredEvent>> {
                $crate::backend::Backend::select_events(&*self.$field, originator_id, query)
            }
        }
    };
    (application: $ty:ty, $field:ident) => {
        impl $crate::persistence::AggregateRecorder for $ty {
            fn insert_events(
                &self,
                events: &[$crate::persistence::StoredEvent],
            ) -> $crate::Result<Vec<$crate::persistence::NotificationId>> {
                $crate::backend::insert(&*self.$field, events, None)
            }
            fn select_events(
                &self,
                originator_id: $crate::Uuid,
                query: &$crate::persistence::EventQuery,
            ) -> $crate::Result<Vec<$crate::persistence::StoredEvent>> {
                $crate::backend::Backend::select_events(&*self.$field, originator_id, query)
            }
        }

        impl $crate::persistence::ApplicationRecorder for $ty {
            fn select_notifications(
                &self,
                query: &$crate::persistence::NotificationQuery,
            ) -> $crate::Result<Vec<$crate::persistence::Notification>> {
                $crate::backend::Backend::select_notifications(&*self.$field, query)
            }
            fn max_notification_id(&self) -> $crate::Result<Option<$crate::persistence::NotificationId>> {
                $crate::backend::Backend::max_notification_id(&*self.$field)
            }
            fn subscribe(
                &self,
                gt: Option<$crate::persistence::NotificationId>,
                topics: &[String],
            ) -> $crate::Result<$crate::persistence::Subscription> {
                $crate::backend::Backend::subscribe(&self.$field, gt, topics)
            }
            fn reads_ahead(&self) -> bool {
                $crate::backend::Backend::reads_ahead(&*self.$field)
            }
        }
    };
    (tracking: $ty:ty, $field:ident) => {
        impl $crate::persistence::TrackingRecorder for $ty {
            fn insert_tracking(&self, tracking: &$crate::persistence::Tracking) -> $crate::Result<()> {
                $crate::backend::Backend::insert_tracking(&*self.$field, tracking)
            }
            fn max_tracking_id(
                &self,
                application_name: &str,
            ) -> $crate::Result<Option<$crate::persistence::NotificationId>> {
                $crate::backend::Backend::max_tracking_id(&*self.$field, application_name)
            }
            fn wait(
                &self,
                application_name: &str,
                notification_id: $crate::persistence::NotificationId,
                timeout: ::std::time::Duration,
                interrupt: Option<&$crate::persistence::StopHandle>,
            ) -> $crate::Result<()> {
                let notifier = $crate::backend::Backend::tracking_notifier(&*self.$field);
                $crate::persistence::wait_for_tracking(
                    self,
                    application_name,
                    notification_id,
                    timeout,
                    interrupt,
                    Some(notifier),
                )
            }
        }
    };
    (process: $ty:ty, $field:ident) => {
        $crate::impl_recorder_traits!(application: $ty, $field);
        $crate::impl_recorder_traits!(tracking: $ty, $field);

        impl $crate::persistence::ProcessRecorder for $ty {
            fn insert_events_with_tracking(
                &self,
                events: &[$crate::persistence::StoredEvent],
                tracking: &$crate::persistence::Tracking,
            ) -> $crate::Result<Vec<$crate::persistence::NotificationId>> {
                $crate::backend::insert(&*self.$field, events, Some(tracking))
            }
        }

        impl $crate::persistence::LeaseRecorder for $ty {
            fn acquire_lease(
                &self,
                name: &str,
                holder: &str,
                ttl: ::std::time::Duration,
            ) -> $crate::Result<bool> {
                $crate::backend::Backend::acquire_lease(&*self.$field, name, holder, ttl)
            }
            fn release_lease(&self, name: &str, holder: &str) -> $crate::Result<()> {
                $crate::backend::Backend::release_lease(&*self.$field, name, holder)
            }
            fn leases(&self, prefix: &str) -> $crate::Result<Vec<$crate::persistence::Lease>> {
                $crate::backend::Backend::leases(&*self.$field, prefix)
            }
        }
    };
}
