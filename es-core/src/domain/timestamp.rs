//! [`Timestamp`]: a UTC instant with microsecond precision, written as ISO 8601.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant in microseconds since the Unix epoch. It is written as
/// `2026-11-26T14:00:00.123456+00:00`, the form the Python library stores.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Timestamp {
    /// Now.
    pub fn now() -> Self {
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
        };
        Self(micros)
    }

    /// The instant `micros` microseconds after the Unix epoch.
    pub fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the Unix epoch.
    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.ffffff](+00:00|Z)`; other offsets are converted to UTC.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if let Some(t) = Self::parse_iso(b) {
            return Some(t);
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            b.get(r)?.iter().try_fold(0, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
            })
        };
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut rest = &s[19..];
        let mut micros = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let mut value = num(20..20 + digits.min(6))?;
            for _ in digits.min(6)..6 {
                value *= 10;
            }
            micros = value;
            rest = &frac[digits..];
        }
        let offset_minutes = match rest {
            "Z" | "+00:00" | "" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let oh: i64 = rest.get(1..3)?.parse().ok()?;
                let om: i64 = rest.get(4..6)?.parse().ok()?;
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                sign * (oh * 60 + om)
            }
        };
        let days = days_from_civil(y, mo, d);
        let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
        Some(Self(secs.checked_mul(1_000_000)?.checked_add(micros)?))
    }
}

/// The value of ASCII digits; `None` when one is not a digit.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0, |n, &c| {
        let d = c.wrapping_sub(b'0');
        (d < 10).then_some(n * 10 + i64::from(d))
    })
}

impl Timestamp {
    /// The form this library and the Python library write, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`,
    /// read at fixed positions; `None` for any other form (which [`parse`](Self::parse) reads).
    fn parse_iso(b: &[u8]) -> Option<Self> {
        if b.len() != 32 {
            return None;
        }
        let [
            y @ ..,
            b'-',
            m0,
            m1,
            b'-',
            d0,
            d1,
            b'T',
            h0,
            h1,
            b':',
            i0,
            i1,
            b':',
            s0,
            s1,
            b'.',
            f0,
            f1,
            f2,
            f3,
            f4,
            f5,
            b'+',
            b'0',
            b'0',
            b':',
            b'0',
            b'0',
        ] = b
        else {
            return None;
        };
        let (y, mo, d) = (digits(y)?, digits(&[*m0, *m1])?, digits(&[*d0, *d1])?);
        let (h, mi, sec) = (
            digits(&[*h0, *h1])?,
            digits(&[*i0, *i1])?,
            digits(&[*s0, *s1])?,
        );
        let micros = digits(&[*f0, *f1, *f2, *f3, *f4, *f5])?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
        Some(Self(secs * 1_000_000 + micros))
    }

    /// The ISO 8601 form of a year 0 to 9999 (every instant `now` gives), without the
    /// formatting machinery; `None` outside those years.
    fn iso(self) -> Option<[u8; 32]> {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rem = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let secs = rem / 1_000_000;
        let mut out = *b"0000-00-00T00:00:00.000000+00:00";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, secs / 3600);
        put(14, 2, secs / 60 % 60);
        put(17, 2, secs % 60);
        put(20, 6, rem % 1_000_000);
        Some(out)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(iso) = self.iso() {
            // The bytes are ASCII digits and punctuation.
            return f.write_str(std::str::from_utf8(&iso).map_err(|_| fmt::Error)?);
        }
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let rem = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = rem / 1_000_000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            rem % 1_000_000
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.iso() {
            Some(iso) => serializer
                .serialize_str(std::str::from_utf8(&iso).map_err(serde::ser::Error::custom)?),
            None => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Iso;
        impl serde::de::Visitor<'_> for Iso {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an ISO 8601 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timestamp, E> {
                Timestamp::parse(s).ok_or_else(|| E::custom(format!("invalid timestamp {s:?}")))
            }
        }
        deserializer.deserialize_str(Iso)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for micros in [
            0,
            1,
            1_764_165_600_123_456,
            -1,
            951_782_400_000_000,
            4_102_444_799_999_999,
            -62_167_219_200_000_000,
            253_402_300_799_999_999,
        ] {
            let t = Timestamp::from_micros(micros);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t), "{t}");
        }
        assert_eq!(
            Timestamp::from_micros(0).to_string(),
            "1970-01-01T00:00:00.000000+00:00"
        );
        let leap = Timestamp::parse("2000-02-29T12:30:45.5+00:00").unwrap();
        assert_eq!(leap.to_string(), "2000-02-29T12:30:45.500000+00:00");
        let offset = Timestamp::parse("2026-11-26T15:00:00+01:00").unwrap();
        assert_eq!(offset.to_string(), "2026-11-26T14:00:00.000000+00:00");
    }

    #[test]
    fn the_fast_form_is_the_formatted_one() {
        let formatted = |t: Timestamp| {
            let (days, rem) = (
                t.0.div_euclid(MICROS_PER_DAY),
                t.0.rem_euclid(MICROS_PER_DAY),
            );
            let ((y, m, d), secs) = (civil_from_days(days), rem / 1_000_000);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}+00:00",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                rem % 1_000_000
            )
        };
        let mut micros: i64 = -62_167_219_200_000_001;
        while micros < 253_402_300_800_000_000 {
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_string(), formatted(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", formatted(t))
            );
            micros += 9_876_543_210_987;
        }
        for outside in [-62_167_219_200_000_001, 253_402_300_800_000_000] {
            let t = Timestamp::from_micros(outside);
            assert!(t.iso().is_none());
            assert_eq!(t.to_string(), formatted(t));
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2026-11-26",
            "2026-13-01T00:00:00Z",
            "2026-11-26T00:00:00.Z",
            "x026-11-26T00:00:00Z",
            "2026-11-26T00:00:00+0100",
            "2026-11-26T00:00:00.1x+00:00",
            "+026-11-26T00:00:00Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
