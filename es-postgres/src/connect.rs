//! Failing to connect: [`ConnectError`], why ([`connect_problem`]), and the errors a caller
//! gets when the first connection or a pool's new connection cannot be opened.

use es_core::{ConnectProblem, Error};

use crate::probe::Silent;

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// The driver's error.
    Driver(postgres::Error),
    /// The server accepted the connection and did not answer.
    Silent(Silent),
    /// The connection's runtime could not be started.
    Runtime(std::io::Error),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The server's own words (they never contain the password), else the I/O error.
            Self::Driver(e) => match (e.as_db_error(), std::error::Error::source(e)) {
                (Some(db), _) => write!(f, "{} (SQLSTATE {})", db.message(), db.code().code()),
                (None, Some(cause)) => write!(f, "{e}: {cause}"),
                (None, None) => e.fmt(f),
            },
            Self::Silent(s) => write!(
                f,
                "the server accepted the connection but did not answer within {:?}",
                s.waited
            ),
            Self::Runtime(e) => write!(f, "cannot start the connection's runtime: {e}"),
        }
    }
}

// No source: the Display above already says what the driver's error and its cause say, and a
// report would repeat them.
impl std::error::Error for ConnectError {}

impl From<postgres::Error> for ConnectError {
    fn from(e: postgres::Error) -> Self {
        Self::Driver(e)
    }
}

/// Maps a failure to open a connection (nothing was sent).
pub(crate) fn map_connect_error(e: ConnectError, config: &tokio_postgres::Config) -> Error {
    Error::Connect {
        problem: connect_problem(&e, config),
        source: Box::new(e),
    }
}

/// Why opening a connection failed: by SQLSTATE when the server answered, by the I/O error's
/// kind when it did not, and, for an I/O error of no telling kind, by whether the host
/// resolves. Never by message text.
pub(crate) fn connect_problem(e: &ConnectError, config: &tokio_postgres::Config) -> ConnectProblem {
    let e = match e {
        ConnectError::Silent(_) => return ConnectProblem::TimedOut,
        ConnectError::Runtime(_) => return ConnectProblem::Other,
        ConnectError::Driver(e) => e,
    };
    if let Some(code) = e.code() {
        return match code.code() {
            "28P01" => ConnectProblem::Authentication,
            "28000" => ConnectProblem::Authorization,
            "3D000" => ConnectProblem::UnknownDatabase,
            _ => ConnectProblem::Other,
        };
    }
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
    let rustls = io
        .and_then(std::io::Error::get_ref)
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    if rustls || (io.is_none() && config.get_ssl_mode() == postgres::config::SslMode::Require) {
        // The handshake failed, or the server does not offer the TLS that was required.
        return ConnectProblem::Tls;
    }
    match io.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::ConnectionRefused) => ConnectProblem::Refused,
        Some(std::io::ErrorKind::TimedOut) => ConnectProblem::TimedOut,
        Some(_) if !resolves(config) => ConnectProblem::UnresolvableHost,
        _ => ConnectProblem::Other,
    }
}

/// True when every TCP host of `config` resolves (Unix-socket hosts count as resolving).
fn resolves(config: &tokio_postgres::Config) -> bool {
    use std::net::ToSocketAddrs;
    let port = config.get_ports().first().copied().unwrap_or(5432);
    config.get_hosts().iter().all(|host| match host {
        postgres::config::Host::Tcp(name) => (name.as_str(), port).to_socket_addrs().is_ok(),
        #[allow(unreachable_patterns)] // Unix sockets exist only on Unix.
        _ => true,
    })
}
