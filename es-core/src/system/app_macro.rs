//! [`app!`](crate::app): an application type in one line.

/// Defines an application type: a struct wrapping an [`Application`](crate::application::Application),
/// with [`App`](crate::system::App) (named after the struct, or `as "Name"`), `Deref` to the
/// application (so `self.save(..)` and `self.get(..)` work in its methods) and `Debug`.
///
/// ```
/// use es_core::app;
/// use es_core::system::App;
///
/// app! {
///     /// The tutorial's leader.
///     pub struct DogSchool;
/// }
/// app!(pub struct Strict as "Counters");
///
/// assert_eq!((DogSchool::NAME, Strict::NAME), ("DogSchool", "Counters"));
/// ```
///
/// An application that needs its own set-up (a snapshotting interval, extra state) implements
/// [`App`](crate::system::App) by hand instead.
#[macro_export]
macro_rules! app {
    ($(#[$meta:meta])* $vis:vis struct $name:ident $(as $app_name:literal)? $(;)?) => {
        $(#[$meta])*
        $vis struct $name($crate::application::Application);

        impl $crate::system::App for $name {
            const NAME: &'static str = $crate::__app_name!($name $(, $app_name)?);

            fn from_application(
                application: $crate::application::Application,
            ) -> $crate::Result<Self> {
                Ok(Self(application))
            }

            fn application(&self) -> &$crate::application::Application {
                &self.0
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = $crate::application::Application;

            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }
    };
}

/// The name of an application type: explicit, or the struct's.
#[doc(hidden)]
#[macro_export]
macro_rules! __app_name {
    ($name:ident) => {
        stringify!($name)
    };
    ($name:ident, $app_name:literal) => {
        $app_name
    };
}
