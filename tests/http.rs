//! The tutorial as an HTTP service (`examples/dog_school_http.rs`), started on `127.0.0.1:0`
//! and driven by a real HTTP client (reqwest) on POPO, SQLite in a file and PostgreSQL: the
//! tutorial's scenario with read-your-writes, concurrent commands on one dog, bad and oversized
//! bodies, the notification log read back as JSON sections, and 503 while PostgreSQL is
//! unreachable (a TCP proxy between the service and the server, cut and restored).
#![cfg(feature = "tokio")]

mod common;
#[path = "../examples/http/mod.rs"]
mod http;
use common::tutorial;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use eventsourcing::Env;
use eventsourcing::system::{MultiThreadedRunner, Runner, RunnerFromEnv, SingleThreadedRunner};
use eventsourcing::tokio::AsyncRunner;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A running service: its base URL and what stops it.
struct Server<R: Runner + 'static> {
    base: String,
    runner: AsyncRunner<R>,
    task: tokio::task::JoinHandle<()>,
}

impl<R: Runner + 'static> Server<R> {
    async fn start(runner: R) -> Self {
        let runner = AsyncRunner::new(runner);
        runner.start().await.unwrap();
        let router = http::router(runner.clone()).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base: format!("http://{addr}"),
            runner,
            task,
        }
    }

    async fn stop(self) {
        self.task.abort();
        self.runner.stop().await.unwrap();
    }
}

async fn call(client: &reqwest::Client, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let _ = client;
    let response = req.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, body)
}

async fn post(c: &reqwest::Client, url: String, body: Value) -> (StatusCode, Value) {
    call(c, c.post(url).json(&body)).await
}

async fn get(c: &reqwest::Client, url: String) -> (StatusCode, Value) {
    call(c, c.get(url)).await
}

async fn register(c: &reqwest::Client, base: &str, name: &str) -> String {
    let (status, body) = post(c, format!("{base}/dogs"), json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn add_trick(c: &reqwest::Client, base: &str, id: &str, trick: &str) -> u64 {
    let url = format!("{base}/dogs/{id}/tricks");
    let (status, body) = post(c, url, json!({"trick": trick})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["notification_id"].as_u64().unwrap()
}

/// The tutorial's scenario, the errors, concurrency on one dog, and the log's sections.
async fn scenario<R: Runner + 'static>(runner: R, name: &str) {
    let server = Server::start(runner).await;
    let (c, base) = (reqwest::Client::new(), server.base.clone());
    let fido = register(&c, &base, "Fido").await;
    let milly = register(&c, &base, "Milly").await;
    add_trick(&c, &base, &fido, "roll over").await;
    add_trick(&c, &base, &fido, "fetch ball").await;
    add_trick(&c, &base, &milly, "roll over").await;
    let last = add_trick(&c, &base, &milly, "play dead").await;
    let (status, dog) = get(&c, format!("{base}/dogs/{fido}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dog["tricks"], json!(["roll over", "fetch ball"]), "{name}");
    for (trick, want) in [
        ("roll over", 2),
        ("fetch ball", 1),
        ("play dead", 1),
        ("sit", 0),
    ] {
        let url = format!("{base}/tricks/{trick}/count?after={last}");
        let (status, body) = get(&c, url).await;
        assert_eq!(
            (status, body["count"].as_u64()),
            (StatusCode::OK, Some(want)),
            "{name} {trick}"
        );
    }
    // The read model, after the last save: Fido and Milly with two tricks each, by name.
    let (status, board) = get(&c, format!("{base}/leaderboard?after={last}")).await;
    assert_eq!(status, StatusCode::OK, "{name}: {board}");
    let dogs: Vec<(&str, &str, u64)> = board["dogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default();
            (
                field("id"),
                field("name"),
                d["tricks"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        dogs,
        [(fido.as_str(), "Fido", 2), (milly.as_str(), "Milly", 2)],
        "{name}"
    );

    // Bad input: JSON errors with the right status, nothing echoed.
    let unknown = eventsourcing::Uuid::new_v4();
    let cases = [
        (
            c.get(format!("{base}/dogs/{unknown}")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            c.get(format!("{base}/dogs/not-a-uuid")),
            StatusCode::BAD_REQUEST,
            "bad_id",
        ),
        (
            c.post(format!("{base}/dogs/{unknown}/tricks"))
                .json(&json!({"trick": "sit"})),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            c.post(format!("{base}/dogs"))
                .header("content-type", "application/json")
                .body("{\"name\": \"secret-123"),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            c.post(format!("{base}/dogs")).json(&json!({"nom": 1})),
            StatusCode::BAD_REQUEST,
            "bad_json",
        ),
        (
            c.post(format!("{base}/dogs")).json(&json!({"name": "  "})),
            StatusCode::BAD_REQUEST,
            "bad_input",
        ),
        (
            c.post(format!("{base}/dogs"))
                .json(&json!({"name": "x".repeat(20_000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            c.get(format!("{base}/tricks/sit/count?after=x")),
            StatusCode::BAD_REQUEST,
            "bad_query",
        ),
        (
            c.get(format!("{base}/notifications/abc")),
            StatusCode::BAD_REQUEST,
            "bad_section",
        ),
        (
            c.get(format!("{base}/nowhere")),
            StatusCode::NOT_FOUND,
            "no_route",
        ),
    ];
    for (req, status, code) in cases {
        let (got, body) = call(&c, req).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{name}: {body}"
        );
        assert!(!body.to_string().contains("secret-123"), "{body}");
    }

    // Sixteen concurrent commands on one dog: conflicts are retried in the service.
    let mut tasks = JoinSet::new();
    for i in 0..16 {
        let (c, base, fido) = (c.clone(), base.clone(), fido.clone());
        tasks.spawn(async move { add_trick(&c, &base, &fido, &format!("t{i}")).await });
    }
    let mut last = last;
    while let Some(id) = tasks.join_next().await {
        last = last.max(id.unwrap());
    }
    let (_, dog) = get(&c, format!("{base}/dogs/{fido}")).await;
    let tricks: HashSet<String> = serde_json::from_value(dog["tricks"].clone()).unwrap();
    assert_eq!(tricks.len(), 18, "{name}: no trick lost");
    assert_eq!(dog["version"], json!(19));
    let (_, t3) = get(&c, format!("{base}/tricks/t3/count?after={last}")).await;
    assert_eq!(t3["count"], json!(1), "{name}");

    // The log, section by section, as another service would follow it.
    let (mut next, mut ids, mut sections) = (Some("1,10".to_owned()), Vec::new(), 0);
    while let Some(section) = next.take() {
        let (status, body) = get(&c, format!("{base}/notifications/{section}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sections += 1;
        let first = body["items"][0]["id"].as_u64();
        let last_item = body["items"]
            .as_array()
            .unwrap()
            .last()
            .map(|i| i["id"].clone());
        if let (Some(first), Some(last_item)) = (first, last_item) {
            assert_eq!(body["id"], json!(format!("{first},{last_item}")), "{name}");
        }
        for item in body["items"].as_array().unwrap() {
            ids.push(item["id"].as_u64().unwrap());
            assert_eq!(item["originator_id"].as_str().unwrap().len(), 32, "hex");
            let state = base64::engine::general_purpose::STANDARD
                .decode(item["state"].as_str().unwrap())
                .unwrap();
            let state: Value = serde_json::from_slice(&state).unwrap();
            assert!(state["timestamp"].is_string(), "{state}");
        }
        next = body["next_id"].as_str().map(str::to_owned);
    }
    assert_eq!(ids.len(), 22, "{name}: every DogSchool event, once");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{name}: in order");
    assert_eq!(ids.last(), Some(&last), "{name}");
    assert!(sections >= 3, "{name}: 22 notifications in sections of 10");
    server.stop().await;
}

fn env(backend: &common::Backend) -> Env {
    Env::new("").with_all(backend.vars.iter().cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_over_http_on_every_backend() {
    for backend in common::backends() {
        if backend.name == "sqlite-memory" {
            continue;
        }
        let system = tutorial::system().unwrap();
        let runner = MultiThreadedRunner::builder(system)
            .env(env(&backend))
            .build();
        scenario(runner, backend.name).await;
    }
    let backends = common::backends();
    let system = tutorial::system().unwrap();
    let runner = SingleThreadedRunner::builder(system)
        .env(env(&backends[0]))
        .build();
    scenario(runner, "popo, single-threaded runner").await;
}

/// A TCP proxy to `upstream` on a port of its own: `cut` closes it and every connection
/// through it, `restore` listens again on the same port.
struct Proxy {
    port: u16,
    upstream: SocketAddr,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn new(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut proxy = Self {
            port: listener.local_addr().unwrap().port(),
            upstream,
            tasks: JoinSet::new(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream;
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    fn cut(&mut self) {
        // Aborting the accept loop drops its listener and, with its JoinSet, every connection.
        self.tasks.abort_all();
    }

    async fn restore(&mut self) {
        while self.tasks.join_next().await.is_some() {}
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_503_and_the_service_recovers() {
    let backends = common::backends();
    let Some(backend) = backends.iter().find(|b| b.name == "postgres") else {
        return;
    };
    let get_var = |k: &str| {
        backend
            .vars
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let host = get_var("POSTGRES_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = get_var("POSTGRES_PORT").map_or(5432, |p| p.parse().unwrap());
    let upstream = tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap();
    let mut proxy = Proxy::new(upstream).await;
    let env = env(backend).with_all([
        ("POSTGRES_HOST", "127.0.0.1".to_owned()),
        ("POSTGRES_PORT", proxy.port.to_string()),
        ("POSTGRES_CONNECT_TIMEOUT", "2".to_owned()),
    ]);
    let runner = MultiThreadedRunner::builder(tutorial::system().unwrap())
        .env(env)
        .build();
    let server = Server::start(runner).await;
    let (c, base) = (reqwest::Client::new(), server.base.clone());
    let fido = register(&c, &base, "Fido").await;
    proxy.cut();
    for _ in 0..3 {
        let (status, body) = get(&c, format!("{base}/dogs/{fido}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], json!("unavailable"));
        let (status, _) = post(&c, format!("{base}/dogs"), json!({"name": "Rex"})).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    proxy.restore().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get(&c, format!("{base}/dogs/{fido}")).await;
        if status == StatusCode::OK {
            assert_eq!(body["name"], json!("Fido"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not recovered: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = add_trick(&c, &base, &fido, "sit").await;
    let (_, count) = get(&c, format!("{base}/tricks/sit/count?after={last}")).await;
    assert_eq!(count["count"], json!(1));
    server.stop().await;
}
