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
//! `RUNNER` is `single`, `multi` or `both` (the default). It prints what it did and exits
//! non-zero if a count is wrong. `RUST_LOG` filters its tracing output on stderr (warnings by
//! default; `RUST_LOG=eventsourcing=debug` shows every save, load and insert).

#[path = "tutorial/mod.rs"]
mod tutorial;

use std::process::ExitCode;

use eventsourcing::system::RunnerFromEnv;
use eventsourcing::system::{MultiThreadedRunner, SingleThreadedRunner};

fn main() -> ExitCode {
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
        eprintln!("configuration error: RUNNER: expected single, multi or both");
        return ExitCode::FAILURE;
    }
    let system = match tutorial::system() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot build the system: {}", e.report());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "system: nodes {:?}, edges {:?}",
        system.nodes(),
        system.edges()
    );
    let mut ok = true;
    let mut run = |name: &str, result: Result<(), String>| match result {
        Ok(()) => println!(
            "{name} runner on {backend}: counts are right (roll over 3, fetch ball 2, play dead 1)"
        ),
        Err(e) => {
            eprintln!("{name} runner on {backend}: FAILED: {e}");
            ok = false;
        }
    };
    if matches!(which.as_str(), "single" | "both") {
        let runner = SingleThreadedRunner::from_env(system.clone(), Vec::<(String, String)>::new());
        run("single-threaded", tutorial::test(&runner));
    }
    if matches!(which.as_str(), "multi" | "both") {
        let runner = MultiThreadedRunner::from_env(system, Vec::<(String, String)>::new());
        run("multi-threaded", tutorial::test(&runner));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
