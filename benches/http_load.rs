//! Load on the tutorial as an HTTP service (`examples/dog_school_http.rs`): 1, 16 and 64
//! concurrent clients (reqwest, loopback) adding tricks, on SQLite in a file and on
//! PostgreSQL, with the multi-threaded runner. Bounded: `LOAD_REQUESTS` commands per row
//! (2,000 by default) or 20 s, whichever comes first. Beside each row, the same commands in
//! the same window without HTTP: from as many tokio tasks through the async facade, and from
//! as many threads through the sync API, so the async layer's cost is read off one run.
//!
//! `cargo bench --bench http_load --features tokio,postgres` (PostgreSQL from `POSTGRES_*`).

#[path = "../examples/http/mod.rs"]
mod http;
mod support;
#[path = "../examples/tutorial/mod.rs"]
mod tutorial;

use std::sync::Arc;
use std::time::{Duration, Instant};

use eventsourcing::domain::Root;
use eventsourcing::system::{MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::tokio::{AsyncApp, AsyncRunner};
use eventsourcing::{Env, Uuid};
use serde_json::json;
use tutorial::{Dog, DogEvent, DogSchool};

const TRICKS_PER_DOG: usize = 20;
const LIMIT: Duration = Duration::from_secs(20);

fn requests() -> usize {
    std::env::var("LOAD_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// A fresh store of `backend`: its env, and the PostgreSQL schema to drop after.
fn store(
    backend: &str,
) -> (
    Env,
    Option<(eventsourcing::postgres::PostgresConfig, String)>,
) {
    match backend {
        "sqlite-file" => (
            Env::new("").with_all([
                ("PERSISTENCE_MODULE", "sqlite".to_owned()),
                ("SQLITE_DBNAME", support::temp_db("http")),
            ]),
            None,
        ),
        _ => {
            let schema = format!("load_{}", &Uuid::new_v4().simple().to_string()[..12]);
            let config = support::postgres_config().expect("POSTGRES_*");
            let env = Env::from_process("").with_all([
                ("PERSISTENCE_MODULE", "postgres".to_owned()),
                ("POSTGRES_SCHEMA", schema.clone()),
                ("POSTGRES_SSLMODE", "disable".to_owned()),
            ]);
            (env, Some((config, schema)))
        }
    }
}

fn runner(env: Env) -> AsyncRunner<MultiThreadedRunner> {
    AsyncRunner::new(
        MultiThreadedRunner::builder(tutorial::system().unwrap())
            .env(env)
            .build(),
    )
}

/// Milliseconds at percentile `p` of sorted `latencies`.
fn percentile(latencies: &[Duration], p: usize) -> f64 {
    let at = (latencies.len().saturating_sub(1) * p).div_ceil(100);
    latencies
        .get(at)
        .map_or(f64::NAN, |l| l.as_secs_f64() * 1e3)
}

/// The dogs each client adds tricks to, registered before timing.
async fn dogs(school: &AsyncApp<DogSchool>, clients: usize, per: usize) -> Vec<Vec<Uuid>> {
    let mut out = Vec::new();
    for _ in 0..clients {
        let mut mine = Vec::new();
        for _ in 0..per.div_ceil(TRICKS_PER_DOG) {
            let mut dog = Root::<Dog>::create(DogEvent::Registered {
                name: "Fido".into(),
            });
            school.save(&mut dog).await.unwrap();
            mine.push(dog.id());
        }
        out.push(mine);
    }
    out
}

async fn over_http(backend: &str, clients: usize) -> (f64, f64, f64) {
    let (env, schema) = store(backend);
    let runner = runner(env);
    runner.start().await.unwrap();
    let per = requests() / clients;
    let dogs = dogs(&runner.get::<DogSchool>().unwrap(), clients, per).await;
    let router = http::router(runner.clone()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mine in dogs {
        let (client, base) = (client.clone(), base.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(per);
            for i in 0..per {
                if started.elapsed() > LIMIT {
                    break;
                }
                let url = format!("{base}/dogs/{}/tricks", mine[i / TRICKS_PER_DOG]);
                let t = Instant::now();
                let response = client
                    .post(url)
                    .json(&json!({"trick": format!("t{i}")}))
                    .send();
                let status = response.await.unwrap().status();
                assert!(status.is_success(), "{status}");
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(l) = tasks.join_next().await {
        latencies.extend(l.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    server.abort();
    runner.stop().await.unwrap();
    drop_schema(schema);
    latencies.sort();
    let rps = latencies.len() as f64 / elapsed;
    (rps, percentile(&latencies, 50), percentile(&latencies, 99))
}

/// Adds a trick to `id` through the async facade: one hop, conflicts retried there.
async fn add_async(school: &AsyncApp<DogSchool>, id: Uuid, trick: String) {
    let added = school.update::<Dog, _, _, eventsourcing::Error>(id, 1_000, move |dog| {
        dog.trigger(DogEvent::TrickAdded {
            trick: trick.clone(),
        });
        Ok(())
    });
    added.await.unwrap();
}

async fn through_facade(backend: &str, clients: usize) -> f64 {
    let (env, schema) = store(backend);
    let runner = runner(env);
    runner.start().await.unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    let per = requests() / clients;
    let dogs = dogs(&school, clients, per).await;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for mine in dogs {
        let school = school.clone();
        tasks.spawn(async move {
            let mut done = 0;
            for i in 0..per {
                if started.elapsed() > LIMIT {
                    break;
                }
                add_async(&school, mine[i / TRICKS_PER_DOG], format!("t{i}")).await;
                done += 1;
            }
            done
        });
    }
    let mut done = 0;
    while let Some(n) = tasks.join_next().await {
        done += n.unwrap();
    }
    let rps = f64::from(done) / started.elapsed().as_secs_f64();
    runner.stop().await.unwrap();
    drop_schema(schema);
    rps
}

fn through_threads(backend: &str, clients: usize) -> f64 {
    let (env, schema) = store(backend);
    let runner = MultiThreadedRunner::builder(tutorial::system().unwrap())
        .env(env)
        .build();
    runner.start().unwrap();
    let school: Arc<DogSchool> = runner.get::<DogSchool>().unwrap();
    let per = requests() / clients;
    let dogs: Vec<Vec<Uuid>> = (0..clients)
        .map(|_| {
            (0..per.div_ceil(TRICKS_PER_DOG))
                .map(|_| school.register_dog("Fido").unwrap())
                .collect()
        })
        .collect();
    let started = Instant::now();
    let done: u32 = std::thread::scope(|s| {
        let handles: Vec<_> = dogs
            .iter()
            .map(|mine| {
                let school = Arc::clone(&school);
                s.spawn(move || {
                    let mut done = 0;
                    for i in 0..per {
                        if started.elapsed() > LIMIT {
                            break;
                        }
                        let id = mine[i / TRICKS_PER_DOG];
                        while let Err(e) = school.add_trick(id, &format!("t{i}")) {
                            assert!(e.is_version_conflict(), "{}", e.report());
                        }
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let rps = f64::from(done) / started.elapsed().as_secs_f64();
    runner.stop().unwrap();
    drop_schema(schema);
    rps
}

fn drop_schema(schema: Option<(eventsourcing::postgres::PostgresConfig, String)>) {
    if let Some((config, schema)) = schema {
        let _ = eventsourcing::postgres::drop_postgres_schema(&config, &schema);
    }
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut backends = vec!["sqlite-file"];
    if support::postgres_config().is_some() {
        backends.push("postgres");
    }
    println!(
        "| backend | clients | HTTP req/s | p50 ms | p99 ms | async facade cmd/s | sync threads cmd/s | facade ÷ threads |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for backend in backends {
        for clients in [1, 16, 64] {
            let (rps, p50, p99) = runtime.block_on(over_http(backend, clients));
            let facade = runtime.block_on(through_facade(backend, clients));
            let threads = through_threads(backend, clients);
            println!(
                "| {backend} | {clients} | {rps:.0} | {p50:.2} | {p99:.2} | {facade:.0} | {threads:.0} | {:.2} |",
                facade / threads
            );
        }
    }
}
