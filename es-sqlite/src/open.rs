//! [`open`]: the recorders of one application, from its environment; what the facade calls
//! when `PERSISTENCE_MODULE` names SQLite.

use std::sync::Arc;

use es_core::{Env, Recorders, Result};

use crate::config::SqliteConfig;
use crate::recorder::{SqliteAggregateRecorder, SqliteProcessRecorder};

/// The recorders of the application `env` names, in the database of `SQLITE_DBNAME` (see
/// [`SqliteConfig::from_env`]): a process recorder on `<app>_events` and `<app>_tracking`, and
/// a snapshot recorder on `<app>_snapshots` when `snapshots` is true.
///
/// # Errors
///
/// As [`SqliteConfig::from_env`] and [`SqliteProcessRecorder::new`].
pub fn open(env: &Env, snapshots: bool) -> Result<Recorders> {
    let config = SqliteConfig::from_env(env)?;
    let events = SqliteProcessRecorder::new(&config, env.name())?;
    let recorders = Recorders::new(Arc::new(events));
    Ok(if snapshots {
        let s = SqliteAggregateRecorder::new(&config, env.name())?;
        recorders.with_snapshots(Arc::new(s))
    } else {
        recorders
    })
}
