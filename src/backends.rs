//! The registry of backends: `PERSISTENCE_MODULE` names a registered backend that opens an
//! application's [`Recorders`]. The built-in ones are compiled in by cargo features.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use es_core::{Env, Error, Recorders, Result};

/// Opens the recorders of the application `env` names; `snapshots` asks for a snapshot
/// recorder. Each backend crate exports one (`es_sqlite::open`, `es_postgres::open`).
pub type BackendConstructor = fn(env: &Env, snapshots: bool) -> Result<Recorders>;

fn popo(_: &Env, snapshots: bool) -> Result<Recorders> {
    let recorders = Recorders::new(Arc::new(es_popo::PopoProcessRecorder::default()));
    Ok(if snapshots {
        recorders.with_snapshots(Arc::new(es_popo::PopoAggregateRecorder::default()))
    } else {
        recorders
    })
}

/// The backends this crate can be built with, and the cargo feature that compiles each in.
const OPTIONAL: [(&str, &str); 2] = [("sqlite", "sqlite"), ("postgres", "postgres")];

fn builtin() -> Vec<(&'static str, BackendConstructor)> {
    #[allow(unused_mut)] // Without the optional backends there is nothing to add.
    let mut builtin: Vec<(&'static str, BackendConstructor)> = vec![("popo", popo)];
    #[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
    builtin.push(("sqlite", es_sqlite::open));
    #[cfg(feature = "postgres")]
    builtin.push(("postgres", es_postgres::open));
    builtin
}

static BACKENDS: LazyLock<RwLock<BTreeMap<String, BackendConstructor>>> = LazyLock::new(|| {
    RwLock::new(
        builtin()
            .into_iter()
            .map(|(n, c)| (n.to_owned(), c))
            .collect(),
    )
});

/// Registers a backend under `name` (case-insensitive), replacing one of that name.
pub fn register_backend(name: &str, constructor: BackendConstructor) {
    BACKENDS
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name.to_ascii_lowercase(), constructor);
}

/// The registered backend names.
pub fn backend_names() -> Vec<String> {
    BACKENDS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .keys()
        .cloned()
        .collect()
}

/// The settings that only mean something to another backend: when one is set while the
/// in-memory default is chosen, the user probably forgot `PERSISTENCE_MODULE`.
const OTHER_BACKENDS_KEYS: [(&str, &str); 3] = [
    ("SQLITE_DBNAME", "sqlite"),
    ("POSTGRES_DBNAME", "postgres"),
    ("POSTGRES_HOST", "postgres"),
];

/// The in-memory default is chosen (no `PERSISTENCE_MODULE`): a configuration error when
/// another backend's settings are set, naming them (never their values). The Python library
/// quietly uses memory then; a service that loses every event at exit because one variable was
/// forgotten is worse than one that does not start.
pub(crate) fn refuse_if_configured_elsewhere(env: &Env) -> Result<()> {
    let set: Vec<String> = OTHER_BACKENDS_KEYS
        .iter()
        .filter_map(|(key, _)| env.lookup(key).filter(|(_, v)| !v.trim().is_empty()))
        .map(|(key, _)| key)
        .collect();
    match OTHER_BACKENDS_KEYS
        .iter()
        .find(|(key, _)| set.iter().any(|s| s.ends_with(key)))
    {
        Some((_, backend)) => Err(Error::config(
            "PERSISTENCE_MODULE",
            format!(
                "not set, so events would be kept in memory and lost at exit, although {} is \
                 set: set PERSISTENCE_MODULE={backend} to use it, or PERSISTENCE_MODULE=popo to \
                 keep events in memory",
                set.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

/// Opens the recorders of the application `env` names, with the backend `PERSISTENCE_MODULE`
/// names: `popo` (the default), `sqlite`, `postgres`, the Python spellings
/// `eventsourcing.popo|sqlite|postgres`, or a registered name. A snapshot recorder is opened
/// when `snapshots` is true or `IS_SNAPSHOTTING_ENABLED` is set.
///
/// # Errors
///
/// [`Error::Config`] for an unknown backend (listing the known ones), for no
/// `PERSISTENCE_MODULE` while another backend's settings (`SQLITE_DBNAME`, `POSTGRES_DBNAME`,
/// `POSTGRES_HOST`) are set, for a built-in backend
/// this build does not include (naming the cargo feature to enable), or malformed settings;
/// the backend's errors.
pub fn open_recorders(env: &Env, snapshots: bool) -> Result<Recorders> {
    let module = [
        "PERSISTENCE_MODULE",
        "INFRASTRUCTURE_FACTORY",
        "FACTORY_TOPIC",
    ]
    .iter()
    .find_map(|k| env.get(k).map(str::trim).filter(|v| !v.is_empty()));
    let module = match module {
        Some(module) => module,
        None => {
            refuse_if_configured_elsewhere(env)?;
            "popo"
        }
    };
    let lower = module.to_ascii_lowercase();
    let name = lower.strip_prefix("eventsourcing.").unwrap_or(&lower);
    let name = name.split(':').next().unwrap_or(name);
    let constructor = BACKENDS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .copied();
    let Some(constructor) = constructor else {
        let problem = match OPTIONAL.iter().find(|(backend, _)| *backend == name) {
            Some((backend, feature)) => format!(
                "the {backend} backend is not compiled into this build; enable the `{feature}` \
                 feature of eventsourcing-rs"
            ),
            None => format!("unknown backend; known: {}", backend_names().join(", ")),
        };
        return Err(Error::config("PERSISTENCE_MODULE", problem));
    };
    let snapshots = snapshots || env.flag("IS_SNAPSHOTTING_ENABLED", false)?;
    constructor(env, snapshots)
}
