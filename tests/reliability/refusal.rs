//! O1: the server refuses connections while a system runs. A loopback proxy in front of
//! PostgreSQL closes its listener and every connection through it: each request fails within
//! `POSTGRES_OUTAGE_TIMEOUT` (1 s here) plus a margin with a classified error, instead of
//! waiting `POSTGRES_CONNECT_TIMEOUT` (30 s here); `health()` stays readable and shows the edge
//! retrying; each pool logs the outage once when it starts and once when it ends (not a line
//! per attempt); when the proxy listens again, saves succeed and the follower catches up.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use es_testkit::apps::domain::{DogSchool, Strict, system};
use eventsourcing::postgres::drop_postgres_schema;
use eventsourcing::system::{EdgeState, MultiThreadedRunner, RunnerFromEnv};
use eventsourcing::{Env, Uuid};

/// A TCP proxy to `upstream` on loopback that can stop listening and cut what it carries.
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port` (0: any free port).
    fn start(port: u16, upstream: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (o, c) = (Arc::clone(&open), Arc::clone(&conns));
        let accept = thread::spawn(move || {
            while o.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((client, _)) => client,
                    Err(_) => {
                        thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut kept = c.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
            // The listener closes here: connections to the port are refused from now on.
        });
        Self {
            port,
            open,
            conns,
            accept: Some(accept),
        }
    }

    /// Stops listening and cuts every connection: the server "refuses".
    fn refuse(&mut self) {
        self.open.store(false, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            accept.join().unwrap();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

/// The lines the library logs at target `eventsourcing::postgres`, from every thread of this
/// test binary (the pools open connections on their own threads).
fn pool_log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        #[derive(Clone)]
        struct Capture(Arc<Mutex<Vec<u8>>>);
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(Arc::clone(&log));
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "eventsourcing::postgres=warn",
            ))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        log
    })
}

#[test]
fn o1_requests_fail_fast_while_the_server_refuses() {
    let Some(config) = super::postgres("o1") else {
        return;
    };
    let log = pool_log();
    let mut proxy = Proxy::start(0, config.port);
    let env = Env::from_process("").with_all([
        ("PERSISTENCE_MODULE", "postgres".to_owned()),
        ("POSTGRES_PORT", proxy.port.to_string()),
        ("POSTGRES_SCHEMA", config.schema.clone()),
        // The proxy carries plain TCP.
        ("POSTGRES_SSLMODE", "disable".to_owned()),
        ("POSTGRES_CONNECT_TIMEOUT", "30".to_owned()),
        ("POSTGRES_OUTAGE_TIMEOUT", "1".to_owned()),
    ]);
    let runner = MultiThreadedRunner::with_env(system(), env);
    runner.start().unwrap();
    let school = runner.get::<DogSchool>().unwrap();
    school.register_dog("Rex").unwrap();
    let wait = Duration::from_secs(30);
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();

    proxy.refuse();
    let bound = Duration::from_secs(1) + Duration::from_secs(3);
    let mut took = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let e = school.register_dog("Max").unwrap_err();
        took.push(started.elapsed());
        assert!(
            e.is_connect() || e.is_operational(),
            "a classified error: {}",
            e.report()
        );
        assert!(
            started.elapsed() < bound,
            "failed after {:?}, not within {bound:?}: {}",
            started.elapsed(),
            e.report()
        );
    }
    let started = Instant::now();
    let health = runner
        .health()
        .expect("health is readable during the outage");
    let health_took = started.elapsed();
    assert!(
        health.iter().all(|h| matches!(
            &h.state,
            EdgeState::Retrying { .. } | EdgeState::Failed { .. }
        )),
        "{health:?}"
    );
    eprintln!("O1: requests failed after {took:?}; health answered in {health_took:?}");

    let _proxy = Proxy::start(proxy.port, config.port);
    let deadline = Instant::now() + wait;
    let saved = loop {
        match school.register_dog("Back") {
            Ok(id) => break id,
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_connect() || e.is_operational(), "{}", e.report());
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!(
                "no save within {wait:?} of the server's return: {}",
                e.report()
            ),
        }
    };
    assert_ne!(saved, Uuid::nil());
    runner
        .wait::<Strict>("DogSchool", school.last_id(), wait)
        .unwrap();
    runner.stop().unwrap();
    let port = format!("port={}", proxy.port);
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(&port)).collect();
    let starts = lines.iter().filter(|l| l.contains("ERROR")).count();
    let ends = lines.iter().filter(|l| l.contains("open again")).count();
    // Two pools (DogSchool's and Counters'): at most one line each per outage and its end.
    assert!(
        (1..=2).contains(&starts) && ends == starts,
        "{starts} start and {ends} end lines:\n{}",
        lines.join("\n")
    );
    eprintln!("O1: {starts} outage lines and {ends} end lines for 2 pools");
    drop_postgres_schema(&config, &config.schema).unwrap();
}
