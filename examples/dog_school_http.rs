//! The tutorial's system as an HTTP service (axum), with the backend and runner from the
//! environment as in `dog_school.rs`:
//!
//! ```sh
//! cargo run --example dog_school_http --features tokio            # POPO, 127.0.0.1:3000
//! PERSISTENCE_MODULE=sqlite SQLITE_DBNAME=dogs.db ADDR=127.0.0.1:8080 \
//!   cargo run --example dog_school_http --features tokio
//! curl -s -XPOST localhost:3000/dogs -H 'content-type: application/json' -d '{"name":"Fido"}'
//! ```
//!
//! `RUNNER` is `multi` (the default) or `single`; `ADDR` the address to listen on. The routes
//! are in `examples/http/mod.rs`. Ctrl-C stops the server, then the runner.

#[path = "http/mod.rs"]
mod http;
#[path = "tutorial/mod.rs"]
mod tutorial;

use eventsourcing::Error;
use eventsourcing::system::{MultiThreadedRunner, Runner, RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::tokio::AsyncRunner;

#[tokio::main]
async fn main() -> eventsourcing::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let system = tutorial::system()?;
    match std::env::var("RUNNER").as_deref() {
        Ok("multi") | Err(_) => serve(MultiThreadedRunner::from_env(system), &addr).await,
        Ok("single") => serve(SingleThreadedRunner::from_env(system), &addr).await,
        Ok(_) => Err(Error::config("RUNNER", "expected single or multi")),
    }
}

async fn serve<R: Runner + 'static>(runner: R, addr: &str) -> eventsourcing::Result<()> {
    let runner = AsyncRunner::new(runner);
    runner.start().await?;
    let router = http::router(runner.clone()).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::config("ADDR", e.to_string()))?;
    tracing::info!(addr, "listening");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    runner.stop().await?;
    served.map_err(|e| Error::Interface {
        source: Box::new(e),
    })
}
