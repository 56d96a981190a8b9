//! [`read`]: an event straight from its stored JSON: the user's `Deserialize` reads the map as
//! the variant's fields while `timestamp` and `class_version` are taken out as they pass.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, IgnoredAny,
    IntoDeserializer, MapAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::Error;

use crate::domain::Timestamp;

/// What was read besides the event.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// The stored timestamp (the default when absent).
    pub(crate) timestamp: Timestamp,
    /// The stored class version (1 when absent).
    pub(crate) class_version: u32,
}

/// The event of `variant` (`None` for a struct event) from `state`.
pub(crate) fn read<E: DeserializeOwned>(
    variant: Option<&'static str>,
    state: &[u8],
) -> Result<(E, Extra), Error> {
    let mut json = serde_json::Deserializer::from_slice(state);
    let read = json.deserialize_map(State {
        variant,
        event: PhantomData,
    })?;
    json.end()?;
    Ok(read)
}

struct State<E> {
    variant: Option<&'static str>,
    event: PhantomData<E>,
}

impl<'de, E: DeserializeOwned> Visitor<'de> for State<E> {
    type Value = (E, Extra);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event's stored JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Filtered {
            map,
            extra: Extra {
                timestamp: Timestamp::default(),
                class_version: 1,
            },
        };
        let event = match self.variant {
            Some(variant) => E::deserialize(Variant {
                variant,
                fields: &mut fields,
            })?,
            None => E::deserialize(MapAccessDeserializer::new(&mut fields))?,
        };
        // A visitor may stop early (a unit variant reads nothing): the rest still counts.
        while fields.next_key::<IgnoredAny>()?.is_some() {
            fields.next_value::<IgnoredAny>()?;
        }
        Ok((event, fields.extra))
    }
}

/// The stored map without the library's keys, which it keeps in `extra`.
struct Filtered<A> {
    map: A,
    extra: Extra,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Filtered<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            match key.as_str() {
                "timestamp" => {
                    let text = self.map.next_value::<Key<'de>>()?;
                    self.extra.timestamp = Timestamp::parse(text.as_str()).ok_or_else(|| {
                        de::Error::custom(format!("invalid timestamp {:?}", text.as_str()))
                    })?;
                }
                "class_version" => self.extra.class_version = self.map.next_value()?,
                name => return seed.deserialize(name.into_deserializer()).map(Some),
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A key or a string, borrowed from the input where it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Variant `variant` of an externally tagged enum whose fields are the stored map.
struct Variant<'m, A> {
    variant: &'static str,
    fields: &'m mut Filtered<A>,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Variant<'_, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, 'm, A: MapAccess<'de>> EnumAccess<'de> for Variant<'m, A> {
    type Error = A::Error;
    type Variant = Content<'m, A>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Content<'m, A>), A::Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, Content(self.fields)))
    }
}

/// The variant's fields.
struct Content<'m, A>(&'m mut Filtered<A>);

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Content<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        match self.0.next_key::<IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(de::Error::custom("fields stored for a unit variant")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        seed.deserialize(MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        // Stored as `"0"`, `"1"`, …: the caller reads those through a map of values.
        Err(de::Error::custom(
            "a tuple variant is read through its fields",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}
