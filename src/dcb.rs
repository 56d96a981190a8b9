//! DCB: the recorder contract and its values (from `es_core::persistence::dcb`), DCB
//! applications (from `es_core::dcb`), and [`open_dcb_recorder`], which opens the recorder
//! `PERSISTENCE_MODULE` names.

use std::sync::Arc;

#[doc(inline)]
pub use es_core::dcb::*;
#[doc(inline)]
pub use es_core::persistence::dcb::*;
use es_core::{Env, Error, Result};

use crate::backends::refuse_if_configured_elsewhere;

/// The DCB recorder of the application `env` names, in the backend `PERSISTENCE_MODULE`
/// names: `popo` (the default; a new in-memory log), `sqlite` (`SQLITE_DBNAME`; tables
/// `<app>_dcb_events` and `<app>_dcb_tags`) or `postgres` (`POSTGRES_*`; the Python library's
/// tables `<app>_events_tt_main` and `<app>_events_tt_tag`), also spelt as the Python library
/// does: `eventsourcing.dcb.popo`, `eventsourcing.dcb.postgres_tt`.
///
/// # Errors
///
/// [`Error::Config`] for an unknown backend, for a backend this build does not include (naming
/// the cargo feature), for no `PERSISTENCE_MODULE` while another backend's settings are set;
/// the backend's errors.
pub fn open_dcb_recorder(env: &Env) -> Result<Arc<dyn DcbRecorder>> {
    let module = env
        .get("PERSISTENCE_MODULE")
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let name = match module {
        Some(module) => module.to_ascii_lowercase(),
        None => {
            refuse_if_configured_elsewhere(env)?;
            "popo".to_owned()
        }
    };
    let short = name.strip_prefix("eventsourcing.").unwrap_or(&name);
    let short = short.strip_prefix("dcb.").unwrap_or(short);
    match short {
        "popo" => Ok(Arc::new(es_popo::PopoDcbRecorder::default())),
        #[cfg(any(feature = "sqlite", feature = "sqlite-unbundled"))]
        "sqlite" => Ok(Arc::new(es_sqlite::SqliteDcbRecorder::from_env(env)?)),
        #[cfg(feature = "postgres")]
        "postgres" | "postgres_tt" => {
            Ok(Arc::new(es_postgres::PostgresDcbRecorder::from_env(env)?))
        }
        // Reached in builds without the feature.
        #[allow(unreachable_patterns)]
        "sqlite" | "postgres" | "postgres_tt" => Err(Error::config(
            "PERSISTENCE_MODULE",
            format!(
                "the {short} backend is not compiled into this build; enable the `{}` feature \
                 of eventsourcing-rs",
                short.trim_end_matches("_tt")
            ),
        )),
        _ => Err(Error::config(
            "PERSISTENCE_MODULE",
            "unknown DCB backend; known: popo, sqlite, postgres (eventsourcing.dcb.popo, \
             eventsourcing.dcb.postgres_tt)",
        )),
    }
}

/// A [`DcbApplication`] named `env`'s name on the recorder [`open_dcb_recorder`] opens.
///
/// # Errors
///
/// As [`open_dcb_recorder`].
pub fn open_dcb_application(env: &Env) -> Result<DcbApplication> {
    Ok(DcbApplication::new(env.name(), open_dcb_recorder(env)?))
}
