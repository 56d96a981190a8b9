//! What serde says about an event type without encoding it: the variant a value is
//! ([`variant_of`]) and the variants the type has ([`variants_of`]). Both stop at the first
//! call serde makes, so they cost no allocation.

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::ser::{self, Impossible, Serialize};

/// The answer, carried as the "error" that stops serde.
#[derive(Debug)]
pub(super) enum Probe {
    Variant(&'static str),
    Variants(&'static [&'static str]),
    Other,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Probe {}

impl ser::Error for Probe {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self::Other
    }
}

impl de::Error for Probe {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self::Other
    }
}

/// The (serde) name of the enum variant `value` is; `None` when it is not an enum.
pub(super) fn variant_of<T: Serialize + ?Sized>(value: &T) -> Option<&'static str> {
    match value.serialize(VariantOf) {
        Err(Probe::Variant(v)) => Some(v),
        _ => None,
    }
}

/// The (serde) names of `T`'s variants; empty when `T` is not an enum.
pub(super) fn variants_of<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(VariantsOf) {
        Err(Probe::Variants(v)) => v,
        _ => &[],
    }
}

struct VariantOf;

type No = Impossible<(), Probe>;

macro_rules! other {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), Probe> { Err(Probe::Other) })*
    };
}

impl ser::Serializer for VariantOf {
    type Ok = ();
    type Error = Probe;
    type SerializeSeq = No;
    type SerializeTuple = No;
    type SerializeTupleStruct = No;
    type SerializeTupleVariant = No;
    type SerializeMap = No;
    type SerializeStruct = No;
    type SerializeStructVariant = No;

    other!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Probe> {
        Err(Probe::Other)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Probe> {
        Err(Probe::Variant(v))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Probe> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: &T,
    ) -> Result<(), Probe> {
        Err(Probe::Variant(v))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<No, Probe> {
        Err(Probe::Other)
    }
    fn serialize_tuple(self, _: usize) -> Result<No, Probe> {
        Err(Probe::Other)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<No, Probe> {
        Err(Probe::Other)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: usize,
    ) -> Result<No, Probe> {
        Err(Probe::Variant(v))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<No, Probe> {
        Err(Probe::Other)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<No, Probe> {
        Err(Probe::Other)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        v: &'static str,
        _: usize,
    ) -> Result<No, Probe> {
        Err(Probe::Variant(v))
    }
}

struct VariantsOf;

impl<'de> de::Deserializer<'de> for VariantsOf {
    type Error = Probe;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(Probe::Other)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probe> {
        Err(Probe::Variants(variants))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Probe> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}
