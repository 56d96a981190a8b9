//! [`ConnectProblem`]: why a database could not be connected to.

use std::fmt;

/// Why a connection to a database failed, as far as the driver tells it. Each names the
/// setting to look at; none carries a password or key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectProblem {
    /// The server refused the credentials (a wrong password, or a role it does not know).
    Authentication,
    /// The server does not let this role connect (no such role, or no `pg_hba.conf` entry).
    Authorization,
    /// The database does not exist.
    UnknownDatabase,
    /// Nothing listens at the host and port.
    Refused,
    /// The host name does not resolve.
    UnresolvableHost,
    /// No answer within the connect timeout.
    TimedOut,
    /// The TLS handshake or the server's certificate failed.
    Tls,
    /// Anything else the driver reported.
    Other,
}

impl fmt::Display for ConnectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Authentication => "authentication failed (check the user and password settings)",
            Self::Authorization => {
                "the server does not let this user connect (no such role, or no access rule)"
            }
            Self::UnknownDatabase => "the database does not exist (check the database name)",
            Self::Refused => "connection refused (is the server running, is the port right?)",
            Self::UnresolvableHost => "the host name does not resolve (check the host setting)",
            Self::TimedOut => "no answer within the connect timeout (host, port, firewall?)",
            Self::Tls => "the TLS handshake or certificate check failed",
            Self::Other => "the connection failed",
        })
    }
}
