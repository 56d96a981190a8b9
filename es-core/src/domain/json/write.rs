//! [`write`]: an event's stored JSON, written straight from its `Serialize` (no intermediate
//! map): the variant's fields, then `timestamp`, then `class_version` above 1.

use serde::Serialize;
use serde::ser::{
    self, Impossible, SerializeMap, SerializeStruct, SerializeStructVariant, SerializeTupleVariant,
};
use serde_json::ser::{CompactFormatter, Compound};
use serde_json::{Error, Value};

use super::super::content::numbered;
use super::super::{Fields, Timestamp};

type Json<'a> = serde_json::Serializer<&'a mut Vec<u8>>;
type Map<'a, 'b> = Compound<'a, &'b mut Vec<u8>, CompactFormatter>;

/// The stored JSON of `event` into `out`.
pub(crate) fn write<T: Serialize + ?Sized>(
    event: &T,
    timestamp: Timestamp,
    class_version: u32,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let mut json = serde_json::Serializer::new(out);
    event.serialize(State {
        json: &mut json,
        extra: Extra {
            timestamp,
            class_version,
        },
    })
}

/// What the library adds to an event's fields.
#[derive(Clone, Copy)]
struct Extra {
    timestamp: Timestamp,
    class_version: u32,
}

impl Extra {
    fn len(self) -> usize {
        if self.class_version > 1 { 2 } else { 1 }
    }

    fn end(self, mut map: Map<'_, '_>) -> Result<(), Error> {
        map.serialize_entry("timestamp", &self.timestamp)?;
        if self.class_version > 1 {
            map.serialize_entry("class_version", &self.class_version)?;
        }
        SerializeMap::end(map)
    }

    /// `fields`, then the extra keys.
    fn write_fields(self, json: &mut Json<'_>, fields: Fields) -> Result<(), Error> {
        let mut map = ser::Serializer::serialize_map(json, Some(fields.len() + self.len()))?;
        for (k, v) in &fields {
            map.serialize_entry(k, v)?;
        }
        self.end(map)
    }
}

struct State<'a, 'b> {
    json: &'a mut Json<'b>,
    extra: Extra,
}

fn not_an_event() -> Error {
    ser::Error::custom(
        "not an event type: it must serialize as a struct or as an enum in serde's default \
         (externally tagged) representation",
    )
}

macro_rules! refuse {
    ($($name:ident($($t:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $t),*) -> Result<(), Error> { Err(not_an_event()) })*
    };
}

impl<'a, 'b> ser::Serializer for State<'a, 'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Tuple<'a, 'b>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Open<'a, 'b>;
    type SerializeStructVariant = Open<'a, 'b>;

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

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(not_an_event())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        self.extra.write_fields(self.json, Fields::new())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let fields = match serde_json::to_value(value)? {
            Value::Object(fields) => fields,
            other => numbered(vec![other]),
        };
        self.extra.write_fields(self.json, fields)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(not_an_event())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(not_an_event())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(not_an_event())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Tuple<'a, 'b>, Error> {
        Ok(Tuple {
            json: self.json,
            extra: self.extra,
            values: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_an_event())
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Open<'a, 'b>, Error> {
        let map = ser::Serializer::serialize_map(self.json, Some(len + self.extra.len()))?;
        Ok(Open {
            map,
            extra: self.extra,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Open<'a, 'b>, Error> {
        self.serialize_struct(name, len)
    }
}

/// A struct's (or struct variant's) fields, written as they come.
struct Open<'a, 'b> {
    map: Map<'a, 'b>,
    extra: Extra,
}

impl SerializeStruct for Open<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.serialize_entry(key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.extra.end(self.map)
    }
}

impl SerializeStructVariant for Open<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.map.serialize_entry(key, value)
    }

    fn end(self) -> Result<(), Error> {
        self.extra.end(self.map)
    }
}

/// A tuple variant's values, written as `"0"`, `"1"`, … at the end.
struct Tuple<'a, 'b> {
    json: &'a mut Json<'b>,
    extra: Extra,
    values: Vec<Value>,
}

impl SerializeTupleVariant for Tuple<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.values.push(serde_json::to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.extra.write_fields(self.json, numbered(self.values))
    }
}
