//! [`TablePrefix`]: the one validated identifier that table names are built from.

use std::fmt;

use crate::{Error, Result};

/// The longest identifier every backend accepts (PostgreSQL's limit, in bytes).
pub const MAX_IDENTIFIER_LEN: usize = 63;

/// A table-name prefix derived from an application name: lower-cased, ASCII letters, digits and
/// underscores only, not starting with a digit. Table names are `<prefix><suffix>`
/// (`dogschool_events`), checked against [`MAX_IDENTIFIER_LEN`] with their suffix, so they are
/// safe to place in SQL without quoting tricks and two applications never share a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TablePrefix(String);

impl TablePrefix {
    /// Validates and case-folds `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] for an empty name, a character outside `[A-Za-z0-9_]`, a leading
    /// digit, a name longer than [`MAX_IDENTIFIER_LEN`], or `sqlite` / `sqlite_…` (SQLite
    /// reserves table names starting with `sqlite_`).
    ///
    /// Names are case-insensitive: `Orders` and `orders` are one application, with one set of
    /// tables (as PostgreSQL folds unquoted names, SQLite ignores case in names, and
    /// app-prefixed environment variables are upper case).
    pub fn new(name: &str) -> Result<Self> {
        let folded = name.to_ascii_lowercase();
        if is_identifier(name) && folded != "sqlite" && !folded.starts_with("sqlite_") {
            Ok(Self(folded))
        } else {
            Err(Error::programming(format!(
                "invalid application name for a table prefix (allowed: 1 to {MAX_IDENTIFIER_LEN} ASCII letters, digits and underscores, not starting with a digit nor `sqlite_`): {:?}",
                name.chars().take(80).collect::<String>()
            )))
        }
    }

    /// Validates and case-folds a schema name (`POSTGRES_SCHEMA`): the rules of [`new`](Self::new)
    /// without SQLite's reserved prefix.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming `POSTGRES_SCHEMA` for an empty name, a character outside
    /// `[A-Za-z0-9_]`, a leading digit, or a name longer than [`MAX_IDENTIFIER_LEN`].
    pub fn schema(name: &str) -> Result<Self> {
        if is_identifier(name) {
            Ok(Self(name.to_ascii_lowercase()))
        } else {
            Err(Error::config(
                "POSTGRES_SCHEMA",
                format!(
                    "invalid schema name (allowed: 1 to {MAX_IDENTIFIER_LEN} ASCII letters, digits and underscores, not starting with a digit): {:?}",
                    name.chars().take(80).collect::<String>()
                ),
            ))
        }
    }

    /// The table name `<prefix><suffix>`.
    ///
    /// # Errors
    ///
    /// [`Error::Programming`] when it is longer than [`MAX_IDENTIFIER_LEN`] or the suffix holds
    /// a character outside the allow-list.
    pub fn table(&self, suffix: &str) -> Result<String> {
        let name = format!("{}{suffix}", self.0);
        if name.len() > MAX_IDENTIFIER_LEN {
            return Err(Error::programming(format!(
                "identifier too long (over {MAX_IDENTIFIER_LEN} bytes): {name}"
            )));
        }
        if !suffix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Error::programming(format!(
                "invalid table suffix: {suffix:?}"
            )));
        }
        Ok(name)
    }

    /// The folded prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 1 to [`MAX_IDENTIFIER_LEN`] ASCII letters, digits and underscores, not starting with a digit.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_IDENTIFIER_LEN
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl fmt::Display for TablePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_builds_tables() {
        let p = TablePrefix::new("DogSchool").unwrap();
        assert_eq!(p.table("_events").unwrap(), "dogschool_events");
    }

    #[test]
    fn rejects_hostile_names() {
        for bad in [
            "",
            "1app",
            "a b",
            "a;drop table x",
            "a\"b",
            "a-b",
            "ä",
            "a.b",
            &"x".repeat(64),
            "sqlite",
            "SQLite_master",
        ] {
            assert!(
                TablePrefix::new(bad).unwrap_err().is_programming(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_limit_includes_the_suffix() {
        let p = TablePrefix::new(&"a".repeat(56)).unwrap();
        assert_eq!(p.table("_events").unwrap().len(), 63);
        assert!(p.table("_tracking").unwrap_err().is_programming());
    }
}
