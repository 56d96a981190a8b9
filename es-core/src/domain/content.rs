//! [`fields_of`]: the stored fields of an enum variant, serialized straight into a map (no
//! `{"Variant": fields}` wrapper is built and taken apart).

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStructVariant, SerializeTupleVariant};
use serde_json::{Error, Value};

use super::Fields;

/// The fields of `value`, an enum variant: a struct variant's named fields, a newtype
/// variant's struct's fields (or `"0"` for another value), a tuple variant's `"0"`, `"1"`, …,
/// nothing for a unit variant. An error for a value that is not an enum variant.
pub(super) fn fields_of<T: Serialize + ?Sized>(value: &T) -> Result<Fields, Error> {
    value.serialize(Variant)
}

/// `"0"`, `"1"`, … for `values`.
pub(crate) fn numbered(values: Vec<Value>) -> Fields {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v))
        .collect()
}

struct Variant;

fn not_a_variant() -> Error {
    ser::Error::custom("not an enum variant")
}

macro_rules! refuse {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<Fields, Error> { Err(not_a_variant()) })*
    };
}

impl ser::Serializer for Variant {
    type Ok = Fields;
    type Error = Error;
    type SerializeSeq = Impossible<Fields, Error>;
    type SerializeTuple = Impossible<Fields, Error>;
    type SerializeTupleStruct = Impossible<Fields, Error>;
    type SerializeTupleVariant = Tuple;
    type SerializeMap = Impossible<Fields, Error>;
    type SerializeStruct = Impossible<Fields, Error>;
    type SerializeStructVariant = Struct;

    refuse!(
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

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Fields, Error> {
        Err(not_a_variant())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Fields, Error> {
        Ok(Fields::new())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Fields, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<Fields, Error> {
        match serde_json::to_value(value)? {
            Value::Object(fields) => Ok(fields),
            other => Ok(numbered(vec![other])),
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_a_variant())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_a_variant())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_a_variant())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Tuple, Error> {
        Ok(Tuple(Vec::with_capacity(len)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_a_variant())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(not_a_variant())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Struct, Error> {
        Ok(Struct(Fields::new()))
    }
}

/// A tuple variant's values.
pub(super) struct Tuple(Vec<Value>);

impl SerializeTupleVariant for Tuple {
    type Ok = Fields;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.push(serde_json::to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Fields, Error> {
        Ok(numbered(self.0))
    }
}

/// A struct variant's fields.
pub(super) struct Struct(Fields);

impl SerializeStructVariant for Struct {
    type Ok = Fields;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.0.insert(key.to_owned(), serde_json::to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Fields, Error> {
        Ok(self.0)
    }
}
