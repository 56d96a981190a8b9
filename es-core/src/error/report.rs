//! [`Report`]: an error with its whole [`source`](std::error::Error::source) chain on one line.

use std::error::Error as StdError;
use std::fmt;

/// An error and its causes, displayed as one line: `outer: cause: root cause`.
///
/// Every error of this library displays its own level only and leaves the causes to
/// [`source`](StdError::source), as the Rust API guidelines ask, so that reporters such as
/// `anyhow`'s `{:#}` print each cause once. `Report` is that reporter for callers without one,
/// and what the library itself logs. A cause whose text the previous level already ends with
/// (drivers often repeat their source) is not printed twice.
///
/// ```
/// use es_core::Error;
///
/// let e = Error::version_conflict(es_core::Uuid::nil(), 3);
/// assert_eq!(e.to_string(), "version conflict");
/// assert_eq!(
///     e.report().to_string(),
///     "version conflict: event 00000000-0000-0000-0000-000000000000 version 3 \
///      is already recorded or repeated in the batch"
/// );
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a>(&'a (dyn StdError + 'static));

impl<'a> Report<'a> {
    /// The report of any error.
    pub fn new(error: &'a (dyn StdError + 'static)) -> Self {
        Self(error)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut previous = self.0.to_string();
        f.write_str(&previous)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !previous.ends_with(&text) {
                write!(f, ": {text}")?;
            }
            previous = text;
            next = cause.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `first..=last` for contiguous ids, else the list.
pub(super) fn ids(ids: &[u64]) -> String {
    match (ids.first(), ids.last()) {
        (Some(first), Some(last)) if last - first + 1 == ids.len() as u64 && ids.len() > 1 => {
            format!("{first} to {last}")
        }
        _ => ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}
