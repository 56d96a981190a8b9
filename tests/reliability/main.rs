//! The reliability and security suite: the tests of `../shared/reference/reliability-catalogue.md`
//! that run on this library. The catalogue, code by code, with each test and the codes we do not
//! test: `README.md` beside this file. Figures and the command that reproduces them:
//! `RELIABILITY.md`.
//!
//! Files by subject (catalogue codes):
//! - `payloads.rs`: oversized payloads (B3), huge batches (B4), reader edge inputs (B10);
//! - `hostile.rs`: hostile schema and file names (B2), undecodable states (B9), id gaps wider
//!   than a page (C11);
//! - `names.rs`: hostile application names (B1), SQL formatted only in reviewed places (S8);
//! - `secrets.rs`: nonces (S2), ciphertexts not bound to their row (S3), no plaintext at rest
//!   (S4), no secrets in errors or Debug output (S5);
//! - `contention.rs`: lost updates (C2), snapshots and cache (C8), pool pressure (C10), a
//!   connection terminated mid-insert (F4), configured timeouts and settings (F13);
//! - `ordering.rs`: commit order with the commit-timestamp oracle and its control (C4, private
//!   cluster, full profile), C4 at scale on POPO and SQLite; `outstanding.rs`: an
//!   outstanding writer and its control (C5);
//! - `resume.rs`: two follower instances (C6), catch-up with stop and start (C7), a killed
//!   LISTEN connection (C13);
//! - `processes.rs`: processes sharing one SQLite file (C9), a short lock holder (F11 a), no id
//!   reuse (B11), a full disk (F14);
//! - `crash.rs`, `crash/`: kill -9 of writers (F1, `crash/writers.rs`) and of process
//!   applications (F2, `crash/followers.rs`), of leased runner processes (L1,
//!   `crash/leases.rs`), and of projection runners (P1, `crash/projections.rs`);
//! - `replica.rs`: followers reading from a paused standby (R1), a system over two clusters
//!   with one restarted (R2) (full profile);
//! - `lost_ack.rs`: lost commit acknowledgements through a loopback proxy (F3);
//! - `outage.rs`: server restart, backend kill and outage (F5, private cluster, full profile);
//! - `refusal.rs`: requests fail fast while the server refuses, health readable, one log line
//!   per outage (O1); `freeze.rs`: requests end within their bound while the server is silent,
//!   nothing acknowledged late (O2); `proxy.rs`: the proxy both use;
//! - `failover.rs`: a primary killed and its standby promoted, synchronous and asynchronous
//!   replication (F15, its own primary and standby, full profile);
//! - `stalls.rs`: stopped writers and idle lock holders (F6);
//! - `deadlocks.rs`: lock order on every write path (F8);
//! - `cancels.rs`: server-side cancels of writes (F9);
//! - `pools.rs`: pool exhaustion and leaks (F10);
//! - `rng.rs`: the seedable random sequence of the load and crash tests.
//!
//! Tests named `*_child` are worker processes, ignored unless their parent test starts them
//! with `--ignored --exact`.
//!
//! `RELIABILITY_PROFILE=full` runs the larger sizes (1,000,000 encryptions, 100 MiB payloads).

#[path = "../common/mod.rs"]
mod common;

mod cancels;
mod contention;
mod crash;
mod deadlocks;
mod failover;
mod freeze;
mod hostile;
mod lost_ack;
mod names;
mod ordering;
mod outage;
mod outstanding;
mod payloads;
mod pools;
mod processes;
mod proxy;
mod refusal;
mod replica;
mod resume;
mod rng;
mod secrets;
mod stalls;

use common::tutorial;

use eventsourcing::Uuid;

/// Held by every test that uses the private cluster (`scripts/postgres-private`) for its whole
/// run: F5 restarts and stops that server, which would cut C4's connections if they ran at
/// once (libtest runs tests in parallel).
fn private_cluster() -> std::sync::MutexGuard<'static, ()> {
    static PRIVATE_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    PRIVATE_CLUSTER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn full() -> bool {
    std::env::var("RELIABILITY_PROFILE").is_ok_and(|v| v == "full")
}

/// The PostgreSQL settings of the environment with a fresh schema `<prefix>_<uuid>`, or `None`
/// (saying so; under CI a failure) when PostgreSQL is not configured.
fn postgres(prefix: &str) -> Option<eventsourcing::postgres::PostgresConfig> {
    es_testkit::env_or_skip("POSTGRES_DBNAME")?;
    let env = eventsourcing::Env::from_process("");
    let mut c = eventsourcing::postgres::PostgresConfig::from_env(&env).unwrap();
    c.schema = format!("{prefix}_{}", Uuid::new_v4().simple());
    Some(c)
}

/// Opens a transaction on `client` that holds the EXCLUSIVE lock of `<schema>.app_events`
/// (as the library's writers take it) until it ends.
fn lock_events<'a>(client: &'a mut postgres::Client, schema: &str) -> postgres::Transaction<'a> {
    let mut tx = client.transaction().unwrap();
    tx.batch_execute(&format!(
        "LOCK TABLE \"{schema}\".app_events IN EXCLUSIVE MODE"
    ))
    .unwrap();
    tx
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", &Uuid::new_v4().simple().to_string()[..12])
}
