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

use super::{
    CLASS_VERSION, DATETIME_ISO, ORIGINATOR_TOPIC, TIMESTAMP, TRANSCODED_DATA, TRANSCODED_TYPE,
};
use crate::domain::{Fields, Timestamp, numbered};

/// The stored JSON of `event` into `out`, in `layout`.
pub(crate) fn write<T: Serialize + ?Sized>(
    event: &T,
    timestamp: Timestamp,
    class_version: u32,
    layout: Layout,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    event.serialize(State {
        out,
        extra: Extra {
            timestamp,
            class_version,
            layout,
        },
    })
}

/// How the object is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Keys sorted, the timestamp a string.
    Native,
    /// The Python library's: the timestamp first (transcoded as `datetime_iso`), then
    /// `originator_topic` when given (the version-1 event), the fields in declaration order,
    /// then `class_version` above 1.
    Python {
        /// The Python aggregate's topic, on the version-1 event.
        originator_topic: Option<&'static str>,
    },
}

/// What the library adds to an event's fields.
#[derive(Clone, Copy)]
struct Extra {
    timestamp: Timestamp,
    class_version: u32,
    layout: Layout,
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
        if let Layout::Python { originator_topic } = extra.layout {
            return self.finish_python(extra, originator_topic, out);
        }
        self.push(out, Cow::Borrowed(TIMESTAMP), &extra.timestamp)?;
        if extra.class_version > 1 {
            self.push(out, Cow::Borrowed(CLASS_VERSION), &extra.class_version)?;
        }
        self.keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.write_object(out)
    }
}

impl Entries {
    /// As [`finish`](Self::finish), in the Python library's layout ([`Layout::Python`]).
    fn finish_python(
        mut self,
        extra: Extra,
        originator_topic: Option<&'static str>,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if self
            .keys
            .iter()
            .any(|(k, _)| k.as_ref() == ORIGINATOR_TOPIC)
        {
            return Err(ser::Error::custom(
                "a field named originator_topic: the Python library keeps that key for itself",
            ));
        }
        let timestamp = python_timestamp(extra.timestamp)?;
        let mut head = vec![(Cow::Borrowed(TIMESTAMP), out.len()..0)];
        let start = out.len();
        // `_type_` before `_data_`, as Python writes them.
        for (key, value) in [
            (TRANSCODED_TYPE, DATETIME_ISO),
            (TRANSCODED_DATA, &timestamp),
        ] {
            out.push(if key == TRANSCODED_TYPE { b'{' } else { b',' });
            serde_json::to_writer(&mut *out, key)?;
            out.push(b':');
            serde_json::to_writer(&mut *out, value)?;
        }
        out.push(b'}');
        head[0].1 = start..out.len();
        if let Some(topic) = originator_topic {
            let start = out.len();
            serde_json::to_writer(&mut *out, topic)?;
            head.push((Cow::Borrowed(ORIGINATOR_TOPIC), start..out.len()));
        }
        head.append(&mut self.keys);
        self.keys = head;
        if extra.class_version > 1 {
            self.push(out, Cow::Borrowed(CLASS_VERSION), &extra.class_version)?;
        }
        self.write_object(out)
    }

    /// The object of the entries in their order, in place of the values written so far.
    fn write_object(self, out: &mut Vec<u8>) -> Result<(), Error> {
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

/// A timestamp as Python's `datetime.isoformat()` writes an aware UTC one: microseconds,
/// left out when 0, and `+00:00`.
fn python_timestamp(timestamp: Timestamp) -> Result<String, Error> {
    let iso = timestamp.to_string();
    match iso.strip_suffix(".000000+00:00") {
        Some(whole) => Ok(format!("{whole}+00:00")),
        None if iso.ends_with("+00:00") && iso.len() == 32 => Ok(iso),
        None => Err(ser::Error::custom(format!(
            "timestamp {iso} is outside the years Python's datetime holds"
        ))),
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
