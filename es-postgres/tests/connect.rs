//! Connection errors that say what happened, fast: each bad setting fails when the recorder is
//! opened (its first connection is made then) with [`Error::Connect`] naming the problem,
//! within about two seconds for a local refusal or a rejected login, and never shows the
//! password. Skips locally without `POSTGRES_DBNAME`; fails in CI.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use es_core::{ConnectProblem, Env, Error};
use es_postgres::{PostgresConfig, PostgresProcessRecorder};

const SECRET: &str = "s3cr3t-Pa55word";

fn config() -> Option<PostgresConfig> {
    es_testkit::env_or_skip("POSTGRES_DBNAME")?;
    let mut c = PostgresConfig::from_env(&Env::from_process("")).unwrap();
    c.schema = "connect_errors".to_owned();
    c.connect_timeout = Duration::from_secs(2);
    Some(c)
}

/// Opens a recorder with `config`; returns the problem and how long it took to fail.
fn fails(label: &str, config: &PostgresConfig) -> (ConnectProblem, Duration) {
    let start = Instant::now();
    let e = PostgresProcessRecorder::new(config, "app").unwrap_err();
    let took = start.elapsed();
    let Error::Connect { problem, .. } = &e else {
        panic!("{label}: not a connect error: {e:?}");
    };
    for shown in [e.report().to_string(), format!("{e:?}")] {
        assert!(
            !shown.contains(SECRET),
            "{label}: the password is shown: {shown}"
        );
    }
    assert!(e.is_connect() && e.is_operational(), "{label}: {e}");
    eprintln!("{label}: {problem:?} after {took:?}: {e}");
    (*problem, took)
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[test]
fn each_bad_setting_is_named_at_once() {
    let Some(good) = config() else { return };
    let fast = Duration::from_secs(2);
    type Spoil = Box<dyn Fn(&mut PostgresConfig)>;
    let cases: [(&str, Spoil, ConnectProblem); 5] = [
        (
            "wrong password",
            Box::new(|c: &mut PostgresConfig| *c = c.clone().with_password(SECRET)),
            ConnectProblem::Authentication,
        ),
        (
            "unknown role",
            Box::new(|c: &mut PostgresConfig| {
                c.user = "no_such_role_here".to_owned();
                *c = c.clone().with_password(SECRET);
            }),
            ConnectProblem::Authentication,
        ),
        (
            "unknown database",
            Box::new(|c: &mut PostgresConfig| c.dbname = "no_such_database_here".to_owned()),
            ConnectProblem::UnknownDatabase,
        ),
        (
            "refused port",
            Box::new(|c: &mut PostgresConfig| c.port = closed_port()),
            ConnectProblem::Refused,
        ),
        (
            "unresolvable host",
            Box::new(|c: &mut PostgresConfig| c.host = "no-such-host.invalid".to_owned()),
            ConnectProblem::UnresolvableHost,
        ),
    ];
    for (label, spoil, want) in cases {
        let mut config = good.clone();
        spoil(&mut config);
        let (problem, took) = fails(label, &config);
        assert_eq!(problem, want, "{label}");
        assert!(took < fast, "{label}: reported after {took:?}");
    }
}

#[test]
fn a_silent_host_fails_at_the_connect_timeout() {
    let Some(mut config) = config() else { return };
    // A listener that never answers: the TCP connect succeeds, the startup message does not.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    config.port = listener.local_addr().unwrap().port();
    config.connect_timeout = Duration::from_secs(1);
    let (problem, took) = fails("silent host", &config);
    assert_eq!(problem, ConnectProblem::TimedOut);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );
    drop(listener);
}

#[test]
fn the_right_settings_still_open() {
    let Some(config) = config() else { return };
    PostgresProcessRecorder::new(&config, "app").unwrap();
    es_postgres::drop_postgres_schema(&config, &config.schema).unwrap();
}

/// With several hosts, a recorder connects to the first that accepts (and is writable): here
/// the first refuses. When none accepts, the error is the refusal.
#[test]
fn several_hosts_reach_the_one_that_answers() {
    let Some(mut config) = config() else { return };
    let (closed, port) = (closed_port(), config.port);
    config.host = format!("127.0.0.1:{closed},{}:{port}", config.host);
    config.schema = format!("hosts_{}", es_core::Uuid::new_v4().simple());
    PostgresProcessRecorder::new(&config, "app").unwrap();
    es_postgres::drop_postgres_schema(&config, &config.schema).unwrap();
    config.host = format!("127.0.0.1:{closed},127.0.0.1:{}", closed_port());
    assert_eq!(fails("no host answers", &config).0, ConnectProblem::Refused);
}

/// A zero connect timeout set in code is a configuration error, not a panic of the pool (from
/// the environment, `POSTGRES_CONNECT_TIMEOUT=0` is refused by `from_env`).
#[test]
fn a_zero_connect_timeout_is_a_config_error() {
    let mut config = PostgresConfig::new("db", "127.0.0.1", "u", SECRET);
    config.connect_timeout = Duration::ZERO;
    let e = PostgresProcessRecorder::new(&config, "app").unwrap_err();
    assert!(
        matches!(&e, Error::Config { .. }) && e.to_string().contains("POSTGRES_CONNECT_TIMEOUT"),
        "{e}"
    );
    let env = Env::new("").with_all([
        ("POSTGRES_DBNAME", "db"),
        ("POSTGRES_HOST", "127.0.0.1"),
        ("POSTGRES_USER", "u"),
        ("POSTGRES_PASSWORD", SECRET),
        ("POSTGRES_CONNECT_TIMEOUT", "0"),
    ]);
    let e = PostgresConfig::from_env(&env).unwrap_err();
    assert!(e.to_string().contains("POSTGRES_CONNECT_TIMEOUT"), "{e}");
}

/// After the server has been unreachable for 4 s, a blocked write succeeds soon after it is
/// back, at the default connect timeout (30 s): the pool retries at most every 0.5 s. (r2d2's
/// own delay doubles up to half the connect timeout: 1.6 s, then 3.2 s here.)
#[test]
fn writes_resume_soon_after_an_outage() {
    let Some(mut config) = config() else { return };
    let proxy = Proxy::start(&config.host, config.port);
    (config.host, config.port) = ("127.0.0.1".to_owned(), proxy.port);
    config.connect_timeout = Duration::from_secs(30);
    config.schema = format!("resume_{}", es_core::Uuid::new_v4().simple());
    let r = PostgresProcessRecorder::new(&config, "app").unwrap();
    let id = es_core::Uuid::new_v4();
    let event = |v| es_core::StoredEvent::new(id, v, "Resumed", Vec::new());
    use es_core::AggregateRecorder;
    r.insert_events(&[event(1)]).unwrap();
    proxy.cut();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            // Fails while the proxy refuses, then blocks waiting for a connection.
            while r.insert_events(&[event(2)]).is_err() {}
            Instant::now()
        });
        std::thread::sleep(Duration::from_secs(4));
        let back = Instant::now();
        proxy.restore();
        let resumed = writer.join().unwrap() - back;
        eprintln!("a write succeeded {resumed:?} after the server was back");
        assert!(resumed < Duration::from_millis(1500), "{resumed:?}");
    });
    drop(r);
    proxy.restore();
    es_postgres::drop_postgres_schema(&config, &config.schema).unwrap();
}

/// A loopback TCP proxy to the server that can refuse: while cut, it closes every accepted
/// connection at once, and cutting closes the open ones.
struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    fn start(host: &str, port: u16) -> Self {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Self {
            port: listener.local_addr().unwrap().port(),
            up: std::sync::Arc::new(true.into()),
            open: std::sync::Arc::default(),
        };
        let (up, open, upstream) = (
            std::sync::Arc::clone(&proxy.up),
            std::sync::Arc::clone(&proxy.open),
            format!("{host}:{port}"),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                let mut list = open.lock().unwrap();
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                list.extend([client, server]);
            }
        });
        proxy
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
