//! [`aggregate!`](crate::aggregate): an aggregate and its events in about as many lines as the
//! Python library's `@event` decorators.

/// Defines an aggregate struct and its event enum, and implements
/// [`Aggregate`](crate::domain::Aggregate) and [`Event`](crate::domain::Event) for them.
///
/// Each event line is `Name { field: Type, ... } => |aggregate| expression`: the expression
/// applies the event, with the event's fields in scope by name. Optional parts follow the
/// fields, in this order:
///
/// - `as "Topic"` sets the stored topic (default `"<Struct>.<Name>"`, e.g. `"Dog.Registered"`);
/// - `aliases ["Old.Topic", ...]` accepts earlier topics when loading;
/// - `upcasts [f1, f2, ...]` makes the event's class version 1 + the number of upcasters;
///   each `fn(&mut Fields)` turns stored fields of version n into version n + 1.
///
/// The struct must derive `Debug`, `Clone`, `Default`, `Serialize` and `Deserialize` (serde);
/// the macro adds a hidden `meta` field (id, version, timestamps, pending events) that serde
/// skips. See the [module docs](crate::domain) for `Dog` and `Counter`.
#[macro_export]
macro_rules! aggregate {
    (
        $(#[$struct_meta:meta])*
        $svis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $fvis:vis $field:ident : $fty:ty ),* $(,)?
        }
        $(#[$enum_meta:meta])*
        $evis:vis enum $event:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident { $( $vf:ident : $vty:ty ),* $(,)? }
                $( as $topic:literal )?
                $( aliases [ $($alias:literal),* $(,)? ] )?
                $( upcasts [ $($up:expr),* $(,)? ] )?
                => |$this:ident| $apply:expr
            ),* $(,)?
        }
    ) => {
        $(#[$struct_meta])*
        $svis struct $name {
            $( $(#[$field_meta])* $fvis $field: $fty, )*
            #[doc(hidden)]
            #[serde(skip)]
            meta: $crate::domain::Meta<$event>,
        }

        $(#[$enum_meta])*
        #[derive(Debug, Clone)]
        $evis enum $event {
            $( $(#[$variant_meta])* $variant { $( $vf: $vty ),* }, )*
        }

        impl $crate::domain::Event for $event {
            fn topic_name(&self) -> &'static str {
                match self {
                    $( Self::$variant { .. } => $crate::__event_topic!($name, $variant $(, $topic)?), )*
                }
            }

            fn handles(topic: &str) -> bool {
                $(
                    topic == $crate::__event_topic!($name, $variant $(, $topic)?)
                        $( $( || topic == $alias )* )? ||
                )* false
            }

            fn class_version(&self) -> u32 {
                match self {
                    $( Self::$variant { .. } => {
                        let upcasts: &[$crate::domain::Upcast] = &[$($($up),*)?];
                        u32::try_from(upcasts.len()).unwrap_or(u32::MAX - 1) + 1
                    } )*
                }
            }

            fn to_fields(&self) -> $crate::__private::serde_json::Result<$crate::domain::Fields> {
                match self {
                    $( Self::$variant { $($vf),* } => {
                        #[allow(unused_mut)]
                        let mut fields = $crate::domain::Fields::new();
                        $( fields.insert(stringify!($vf).to_owned(), $crate::__private::serde_json::to_value($vf)?); )*
                        Ok(fields)
                    } )*
                }
            }

            #[allow(unused_mut, unused_variables)]
            fn from_fields(
                topic: &str,
                class_version: u32,
                mut fields: $crate::domain::Fields,
            ) -> ::std::result::Result<Self, String> {
                $(
                    if topic == $crate::__event_topic!($name, $variant $(, $topic)?)
                        $( $( || topic == $alias )* )?
                    {
                        let upcasts: &[$crate::domain::Upcast] = &[$($($up),*)?];
                        $crate::domain::upcast(&mut fields, class_version, upcasts);
                        return Ok(Self::$variant {
                            $( $vf: $crate::domain::take_field(&mut fields, stringify!($vf))?, )*
                        });
                    }
                )*
                Err(format!("unknown topic {topic:?} for {}", stringify!($event)))
            }
        }

        impl $crate::domain::Aggregate for $name {
            type Event = $event;
            const NAME: &'static str = stringify!($name);

            fn meta(&self) -> &$crate::domain::Meta<$event> {
                &self.meta
            }

            fn meta_mut(&mut self) -> &mut $crate::domain::Meta<$event> {
                &mut self.meta
            }

            #[allow(unused_variables, clippy::unit_arg)]
            fn apply(&mut self, event: &$event) {
                match event {
                    $( $event::$variant { $($vf),* } => {
                        let $this = &mut *self;
                        $apply;
                    } )*
                }
            }
        }
    };
}

/// The topic of an event variant: explicit, or `"<Aggregate>.<Variant>"`.
#[doc(hidden)]
#[macro_export]
macro_rules! __event_topic {
    ($name:ident, $variant:ident) => {
        concat!(stringify!($name), ".", stringify!($variant))
    };
    ($name:ident, $variant:ident, $topic:literal) => {
        $topic
    };
}
