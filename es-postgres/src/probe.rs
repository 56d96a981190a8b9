//! [`probe`]: does a server answer at all? The driver bounds only the TCP connect by the
//! connect timeout; a host that accepts the connection and then stays silent (a hung server, a
//! port that is not PostgreSQL) would block the startup forever. Before a connection is opened,
//! one TLS request (the 8-byte `SSLRequest`, which every PostgreSQL server and pgbouncer answers
//! with one byte at once) is sent on a plain socket with a read timeout; no answer within the
//! connect timeout is [`Silent`]. Any other outcome leaves the real connection to report.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// No server answered within the connect timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Silent {
    pub(crate) waited: Duration,
}

/// `SSLRequest`: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Checks that the first TCP host of `config` that accepts a connection answers a TLS request
/// within the connect timeout. Unix-socket hosts and configurations without a timeout pass.
pub(crate) fn probe(config: &tokio_postgres::Config) -> Result<(), Silent> {
    let Some(&timeout) = config.get_connect_timeout() else {
        return Ok(());
    };
    let ports = config.get_ports();
    for (i, host) in config.get_hosts().iter().enumerate() {
        let postgres::config::Host::Tcp(name) = host else {
            return Ok(());
        };
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let Ok(addrs) = (name.as_str(), port).to_socket_addrs() else {
            continue;
        };
        for addr in addrs {
            let Ok(mut socket) = TcpStream::connect_timeout(&addr, timeout) else {
                continue;
            };
            let mut reply = [0u8; 1];
            let answered = socket.set_read_timeout(Some(timeout)).is_ok()
                && socket.write_all(&SSL_REQUEST).is_ok()
                && match socket.read(&mut reply) {
                    Ok(_) => true,
                    Err(e) => !matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ),
                };
            return if answered {
                Ok(())
            } else {
                Err(Silent { waited: timeout })
            };
        }
    }
    Ok(())
}
