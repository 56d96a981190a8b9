//! [`open`]: the recorders of one application, from its environment; what the facade calls
//! when `PERSISTENCE_MODULE` names PostgreSQL.

use std::sync::Arc;

use es_core::{Env, Recorders, Result};

use crate::config::PostgresConfig;
use crate::recorder::{PostgresAggregateRecorder, PostgresProcessRecorder};

/// The recorders of the application `env` names, with the `POSTGRES_*` settings of `env` (see
/// [`PostgresConfig::from_env`]): a process recorder on `<schema>.<app>_events` and
/// `<schema>.<app>_tracking`, and a snapshot recorder on `<schema>.<app>_snapshots` when
/// `snapshots` is true.
///
/// # Errors
///
/// As [`PostgresConfig::from_env`] and [`PostgresProcessRecorder::new`].
pub fn open(env: &Env, snapshots: bool) -> Result<Recorders> {
    let config = PostgresConfig::from_env(env)?;
    let events = PostgresProcessRecorder::new(&config, env.name())?;
    let recorders = Recorders::new(Arc::new(events));
    Ok(if snapshots {
        let s = PostgresAggregateRecorder::new(&config, env.name())?;
        recorders.with_snapshots(Arc::new(s))
    } else {
        recorders
    })
}
