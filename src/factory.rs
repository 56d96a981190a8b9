//! The runtime choice of backend: `PERSISTENCE_MODULE` names a registered backend that opens
//! an application's [`Stores`].

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use es_core::application::Stores;
use es_core::{Env, Error, Result};

/// Opens the stores of the application `env` names; `snapshots` asks for a snapshot store.
pub type BackendConstructor = fn(env: &Env, snapshots: bool) -> Result<Stores>;

fn popo(_: &Env, snapshots: bool) -> Result<Stores> {
    let stores = Stores::new(Arc::new(es_popo::PopoProcessRecorder::new()));
    Ok(if snapshots {
        stores.with_snapshots(Arc::new(es_popo::PopoAggregateRecorder::new()))
    } else {
        stores
    })
}

fn sqlite(env: &Env, snapshots: bool) -> Result<Stores> {
    let config = es_sqlite::SqliteConfig::from_env(env)?;
    let events = es_sqlite::SqliteProcessRecorder::new(&config, env.name())?;
    let stores = Stores::new(Arc::new(events));
    Ok(if snapshots {
        let s = es_sqlite::SqliteAggregateRecorder::new(&config, env.name())?;
        stores.with_snapshots(Arc::new(s))
    } else {
        stores
    })
}

fn postgres(env: &Env, snapshots: bool) -> Result<Stores> {
    let config = es_postgres::PostgresConfig::from_env(env)?;
    let events = es_postgres::PostgresProcessRecorder::new(&config, env.name())?;
    let stores = Stores::new(Arc::new(events));
    Ok(if snapshots {
        let s = es_postgres::PostgresAggregateRecorder::new(&config, env.name())?;
        stores.with_snapshots(Arc::new(s))
    } else {
        stores
    })
}

static BACKENDS: LazyLock<RwLock<BTreeMap<String, BackendConstructor>>> = LazyLock::new(|| {
    let builtin: [(&str, BackendConstructor); 3] =
        [("popo", popo), ("sqlite", sqlite), ("postgres", postgres)];
    RwLock::new(
        builtin
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

/// Opens the stores of the application `env` names, with the backend `PERSISTENCE_MODULE`
/// names: `popo` (the default), `sqlite`, `postgres`, the Python spellings
/// `eventsourcing.popo|sqlite|postgres`, or a registered name. A snapshot store is opened
/// when `snapshots` is true or `IS_SNAPSHOTTING_ENABLED` is set.
///
/// # Errors
///
/// [`Error::Config`] for an unknown backend (listing the known ones) or malformed settings;
/// the backend's errors.
pub fn open_stores(env: &Env, snapshots: bool) -> Result<Stores> {
    let module = [
        "PERSISTENCE_MODULE",
        "INFRASTRUCTURE_FACTORY",
        "FACTORY_TOPIC",
    ]
    .iter()
    .find_map(|k| env.get(k).map(str::trim).filter(|v| !v.is_empty()))
    .unwrap_or("popo");
    let lower = module.to_ascii_lowercase();
    let name = lower.strip_prefix("eventsourcing.").unwrap_or(&lower);
    let name = name.split(':').next().unwrap_or(name);
    let constructor = BACKENDS
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .copied();
    let Some(constructor) = constructor else {
        return Err(Error::config(
            "PERSISTENCE_MODULE",
            format!("unknown backend; known: {}", backend_names().join(", ")),
        ));
    };
    let snapshots = snapshots || env.flag("IS_SNAPSHOTTING_ENABLED", false)?;
    constructor(env, snapshots)
}
