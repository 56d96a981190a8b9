//! [`write`]: an event's stored JSON, written from its `Serialize` without building a map of
//! its fields: each field's value is written once into a scratch buffer, then the keys (the
//! fields', `timestamp`, and `class_version` above 1) are written sorted with their values, the
//! bytes the stored map wrote before (a `serde_json::Map` sorts its keys). A value that is itself
//! an object or an array goes through `Value` so that its keys are sorted too.

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;
use serde::ser::{
    self, Impossible, SerializeStruct, SerializeStructVariant, SerializeTupleVariant,
};
use serde_json::{Error, Value};

use super::{CLASS_VERSION, TIMESTAMP};
use crate::domain::{Fields, Timestamp, numbered};

/// The stored JSON of `event` into `out`.
pub(crate) fn write<T: Serialize + ?Sized>(
    event: &T,
    timestamp: Timestamp,
    class_version: u32,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    event.serialize(State {
        out,
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

/// Keys with the ranges of their values' JSON, which are written at the end of the output
/// (from `base`) until [`finish`](Self::finish) puts the object in their place.
struct Entries {
    base: usize,
    keys: Vec<(Cow<'static, str>, Range<usize>)>,
}

impl Entries {
    fn new(out: &[u8], fields: usize) -> Self {
        Self {
            base: out.len(),
            keys: Vec::with_capacity(fields + 2),
        }
    }

    fn push<T: Serialize + ?Sized>(
        &mut self,
        out: &mut Vec<u8>,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        let start = out.len();
        serde_json::to_writer(&mut *out, value)?;
        if matches!(out.get(start), Some(b'{' | b'[')) {
            let value = serde_json::to_value(value)?;
            out.truncate(start);
            serde_json::to_writer(&mut *out, &value)?;
        }
        self.keys.push((key, start..out.len()));
        Ok(())
    }

    fn from_fields(out: &mut Vec<u8>, fields: Fields) -> Result<Self, Error> {
        let mut entries = Self::new(out, fields.len());
        for (k, v) in fields {
            entries.push(out, Cow::Owned(k), &v)?;
        }
        Ok(entries)
    }

    /// The object of the entries and `extra` (whose keys win over fields of the same names),
    /// keys sorted, in place of the values written so far.
    fn finish(mut self, extra: Extra, out: &mut Vec<u8>) -> Result<(), Error> {
        self.keys
            .retain(|(k, _)| k.as_ref() != TIMESTAMP && k.as_ref() != CLASS_VERSION);
        self.push(out, Cow::Borrowed(TIMESTAMP), &extra.timestamp)?;
        if extra.class_version > 1 {
            self.push(out, Cow::Borrowed(CLASS_VERSION), &extra.class_version)?;
        }
        self.keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let values = self.base..out.len();
        out.push(b'{');
        for (i, (key, value)) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, key.as_ref())?;
            out.push(b':');
            out.extend_from_within(value.clone());
        }
        out.push(b'}');
        out.drain(values);
        Ok(())
    }
}

struct State<'a> {
    out: &'a mut Vec<u8>,
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

impl<'a> ser::Serializer for State<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Tuple<'a>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Open<'a>;
    type SerializeStructVariant = Open<'a>;

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
        Entries::new(self.out, 0).finish(self.extra, self.out)
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
        Entries::from_fields(self.out, fields)?.finish(self.extra, self.out)
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
    ) -> Result<Tuple<'a>, Error> {
        Ok(Tuple {
            out: self.out,
            extra: self.extra,
            values: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(not_an_event())
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Open<'a>, Error> {
        Ok(Open {
            entries: Entries::new(self.out, len),
            out: self.out,
            extra: self.extra,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        len: usize,
    ) -> Result<Open<'a>, Error> {
        self.serialize_struct(name, len)
    }
}

/// A struct's (or struct variant's) fields.
struct Open<'a> {
    out: &'a mut Vec<u8>,
    extra: Extra,
    entries: Entries,
}

impl SerializeStruct for Open<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entries.push(self.out, Cow::Borrowed(key), value)
    }

    fn end(self) -> Result<(), Error> {
        self.entries.finish(self.extra, self.out)
    }
}

impl SerializeStructVariant for Open<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entries.push(self.out, Cow::Borrowed(key), value)
    }

    fn end(self) -> Result<(), Error> {
        self.entries.finish(self.extra, self.out)
    }
}

/// A tuple variant's values, written as `"0"`, `"1"`, … at the end.
struct Tuple<'a> {
    out: &'a mut Vec<u8>,
    extra: Extra,
    values: Vec<Value>,
}

impl SerializeTupleVariant for Tuple<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.values.push(serde_json::to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        Entries::from_fields(self.out, numbered(self.values))?.finish(self.extra, self.out)
    }
}
