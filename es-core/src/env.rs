//! [`Env`]: an application's configuration, a string map with app-prefixed lookups.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// An application's environment: built-in defaults, then the process environment, then what the
/// caller passes, later sources winning key by key. [`get`](Self::get) tries `<NAME>_<KEY>` first
/// (`DOGSCHOOL_SQLITE_DBNAME`), then `<KEY>`.
///
/// `Debug` shows the name and the keys, never the values (they may hold passwords and keys).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Env {
    name: String,
    vars: BTreeMap<String, String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("name", &self.name)
            .field("keys", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// An empty environment for the application `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            vars: BTreeMap::new(),
        }
    }

    /// The environment of `name` with every variable of the process environment.
    pub fn from_process(name: impl Into<String>) -> Self {
        let mut env = Self::new(name);
        env.vars.extend(std::env::vars());
        env
    }

    /// Sets `key` to `value`, replacing an earlier value.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Sets every pair of `vars`, replacing earlier values.
    #[must_use]
    pub fn with_all<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.vars
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The same variables under another application name: how a follower reads a leader's
    /// settings (its cipher key, its compressor).
    #[must_use]
    pub fn renamed(&self, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            vars: self.vars.clone(),
        }
    }

    /// The application name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys [`get`](Self::get) tries for `key`, in order.
    pub fn keys_for(&self, key: &str) -> Vec<String> {
        let mut keys = Vec::with_capacity(2);
        if !self.name.is_empty() {
            keys.push(format!("{}_{key}", self.name.to_uppercase()));
        }
        keys.push(key.to_owned());
        keys
    }

    /// The value of `<NAME>_<KEY>`, else of `<KEY>`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lookup(key).map(|(_, v)| v)
    }

    /// The key that is set (`<NAME>_<KEY>`, else `<KEY>`) and its value: errors about a value
    /// name the variable the user set.
    pub fn lookup(&self, key: &str) -> Option<(String, &str)> {
        self.keys_for(key)
            .into_iter()
            .find_map(|k| self.vars.get(&k).map(|v| (k, v.as_str())))
    }

    /// The value of `key` as [`get`](Self::get) finds it, or a config error naming every key
    /// tried.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when no key is set.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| Error::config(self.keys_for(key).join(", "), "not set"))
    }

    /// `key` parsed as `T`; unset or empty (after trimming) gives `None`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the key (not the value) when it does not parse.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>> {
        match self.lookup(key) {
            None => Ok(None),
            Some((_, v)) if v.trim().is_empty() => Ok(None),
            Some((set, v)) => v.trim().parse().map(Some).map_err(|_| {
                Error::config(
                    set,
                    format!("expected {} or an empty string", type_label::<T>()),
                )
            }),
        }
    }

    /// `key` as a boolean (`y yes t true on 1` or `n no f false off 0`, any case); unset or
    /// empty gives `default`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the key for any other value.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool> {
        let Some((set, value)) = self.lookup(key) else {
            return Ok(default);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
            "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
            _ => Err(Error::config(set, "expected a boolean such as y or n")),
        }
    }
}

fn type_label<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    if name.starts_with('f') {
        "a number"
    } else if name.starts_with('u') || name.starts_with('i') {
        "an integer"
    } else {
        "a valid value"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_keys_win() {
        let env = Env::new("DogSchool")
            .with("SQLITE_DBNAME", "all.db")
            .with("DOGSCHOOL_SQLITE_DBNAME", "dogs.db");
        assert_eq!(env.get("SQLITE_DBNAME"), Some("dogs.db"));
        assert_eq!(env.renamed("Counters").get("SQLITE_DBNAME"), Some("all.db"));
    }

    #[test]
    fn missing_and_malformed_values_name_the_keys() {
        let env = Env::new("DogSchool").with("SQLITE_LOCK_TIMEOUT", "soon");
        let e = env.require("SQLITE_DBNAME").unwrap_err().to_string();
        assert!(e.contains("DOGSCHOOL_SQLITE_DBNAME, SQLITE_DBNAME"), "{e}");
        let e = env
            .parse::<u64>("SQLITE_LOCK_TIMEOUT")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SQLITE_LOCK_TIMEOUT") && !e.contains("soon"),
            "{e}"
        );
        let blank = Env::new("x").with("N", " ");
        assert_eq!(blank.parse::<u64>("N").unwrap(), None);
    }

    #[test]
    fn flags_parse_like_strtobool() {
        let env = Env::new("a")
            .with("A", "Yes")
            .with("B", "off")
            .with("C", "maybe");
        assert!(env.flag("A", false).unwrap());
        assert!(!env.flag("B", true).unwrap());
        assert!(env.flag("C", true).unwrap_err().is_config());
        assert!(env.flag("D", true).unwrap());
    }

    #[test]
    fn malformed_values_are_named_by_the_key_that_is_set() {
        let env = Env::new("DogSchool")
            .with("DOGSCHOOL_POOL_SIZE", "many")
            .with("DOGSCHOOL_PRE_PING", "perhaps")
            .with("LOCK_TIMEOUT", "soon");
        let e = env.parse::<u32>("POOL_SIZE").unwrap_err();
        assert!(e.to_string().contains("DOGSCHOOL_POOL_SIZE"), "{e}");
        let e = env.flag("PRE_PING", false).unwrap_err();
        assert!(e.to_string().contains("DOGSCHOOL_PRE_PING"), "{e}");
        let e = env.parse::<u32>("LOCK_TIMEOUT").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("LOCK_TIMEOUT") && !text.contains("DOGSCHOOL_"),
            "{e}"
        );
    }

    #[test]
    fn debug_shows_no_values() {
        let env = Env::new("a").with("CIPHER_KEY", "c2VjcmV0");
        assert!(!format!("{env:?}").contains("c2VjcmV0"));
    }
}
