//! The tutorial's system, run as the Python tutorial runs it. The runner and backend come from
//! the environment:
//!
//! ```sh
//! cargo run --example dog_school                                   # POPO, both runners
//! PERSISTENCE_MODULE=sqlite SQLITE_DBNAME=:memory: cargo run --example dog_school
//! RUNNER=multi PERSISTENCE_MODULE=sqlite \
//!   DOGSCHOOL_SQLITE_DBNAME='file:dogschool?mode=memory&cache=shared' \
//!   COUNTERS_SQLITE_DBNAME='file:counters?mode=memory&cache=shared' cargo run --example dog_school
//! ```
//!
//! `RUNNER` is `single`, `multi` or `both` (the default). It prints what it did; a wrong count
//! panics and an error is returned from `main`, so either exits non-zero. `RUST_LOG` filters its tracing output on stderr (warnings by
//! default; `RUST_LOG=eventsourcing=debug` shows every save, load and insert).

#[path = "tutorial/mod.rs"]
mod tutorial;

use eventsourcing::Error;
use eventsourcing::system::{MultiThreadedRunner, RunnerFromEnv, SingleThreadedRunner};

fn main() -> eventsourcing::Result<()> {
    // Tracing to stderr, filtered by RUST_LOG (`RUST_LOG=eventsourcing=debug`); warnings by default.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let backend = std::env::var("PERSISTENCE_MODULE").unwrap_or_else(|_| "popo".to_owned());
    let which = std::env::var("RUNNER").unwrap_or_else(|_| "both".to_owned());
    if !matches!(which.as_str(), "single" | "multi" | "both") {
        return Err(Error::config("RUNNER", "expected single, multi or both"));
    }
    let system = tutorial::system()?;
    println!(
        "system: nodes {:?}, edges {:?}",
        system.nodes(),
        system.edges()
    );
    if matches!(which.as_str(), "single" | "both") {
        tutorial::test(&SingleThreadedRunner::from_env(system.clone()))?;
        println!("single-threaded runner on {backend}: counts are right");
    }
    if matches!(which.as_str(), "multi" | "both") {
        tutorial::test(&MultiThreadedRunner::from_env(system))?;
        println!("multi-threaded runner on {backend}: counts are right");
    }
    Ok(())
}
