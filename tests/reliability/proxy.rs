//! A loopback TCP proxy in front of PostgreSQL that can refuse (stop listening and cut what it
//! carries, O1) or freeze (keep every connection open and stop carrying bytes, as a hung server,
//! proxy or network path does, O2); and the log lines the library writes about the pools.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A TCP proxy to `upstream` on loopback.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    open: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on `port` (0: any free port).
    pub(crate) fn start(port: u16, upstream: u16) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = Arc::new(AtomicBool::new(true));
        let frozen = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (o, f, c) = (Arc::clone(&open), Arc::clone(&frozen), Arc::clone(&conns));
        let accept = thread::spawn(move || {
            while o.load(Ordering::SeqCst) {
                // Frozen: connections wait in the kernel's backlog, accepted but unanswered.
                let accepted = if f.load(Ordering::SeqCst) {
                    None
                } else {
                    listener.accept().ok()
                };
                let Some((client, _)) = accepted else {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut kept = c.lock().unwrap();
                kept.push(client.try_clone().unwrap());
                kept.push(server.try_clone().unwrap());
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let f = Arc::clone(&f);
                    thread::spawn(move || pump(from, to, &f));
                }
            }
            // The listener closes here: connections to the port are refused from now on.
        });
        Self {
            port,
            open,
            frozen,
            conns,
            accept: Some(accept),
        }
    }

    /// Stops listening and cuts every connection: the server "refuses".
    pub(crate) fn refuse(&mut self) {
        self.open.store(false, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            accept.join().unwrap();
        }
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    /// Stops carrying bytes and accepting connections, and keeps every connection open: the
    /// kernel still acknowledges what clients send, so nothing tells them.
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Carries again what waited, and accepts the connections that queued.
    pub(crate) fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` while not frozen; shuts `to` down when `from` ends.
fn pump(mut from: TcpStream, mut to: TcpStream, frozen: &AtomicBool) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if frozen.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(5));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Read just before a freeze: held, as the rest is.
                while frozen.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(5));
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

/// The lines the library logs at target `eventsourcing::postgres`, from every thread of this
/// test binary (the pools open connections on their own threads).
pub(crate) fn pool_log() -> &'static Arc<Mutex<Vec<u8>>> {
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

/// The captured lines that name `port`.
pub(crate) fn lines_of(port: u16) -> Vec<String> {
    let port = format!("port={port}");
    String::from_utf8_lossy(&pool_log().lock().unwrap())
        .lines()
        .filter(|l| l.contains(&port))
        .map(str::to_owned)
        .collect()
}
