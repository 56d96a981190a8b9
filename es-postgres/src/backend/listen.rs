//! LISTEN: one thread per backend that wakes its subscriptions on each NOTIFY of its table,
//! whoever inserted (another recorder, another process).

use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use super::{PostgresBackend, Tls};

impl PostgresBackend {
    /// Starts, once, a thread that LISTENs on `channel` and wakes this backend's subscriptions
    /// on each NOTIFY. It reconnects after failures and ends soon after the backend is dropped.
    /// Subscriptions poll as well, so a lost NOTIFY or a dead listener delays them by at most
    /// the poll interval.
    pub(crate) fn listen(self: &Arc<Self>, channel: &str) {
        self.listener.get_or_init(|| {
            let weak = Arc::downgrade(self);
            let config = self.client_config.clone();
            let tls = self.tls.clone();
            let listen = format!("LISTEN \"{channel}\"");
            // Without the thread, subscriptions still poll; nothing to report.
            let _ = thread::Builder::new()
                .name("es-postgres-listen".to_owned())
                .spawn(move || listen_loop(&weak, &config, &tls, &listen));
        });
    }
}

fn listen_loop(
    backend: &Weak<PostgresBackend>,
    config: &tokio_postgres::Config,
    tls: &Tls,
    listen: &str,
) {
    const TICK: Duration = Duration::from_millis(500);
    let config = postgres::Config::from(config.clone());
    while backend.strong_count() > 0 {
        let connected = config.connect(tls.0.clone()).and_then(|mut client| {
            client.batch_execute(listen)?;
            Ok(client)
        });
        let Ok(mut client) = connected else {
            thread::sleep(TICK);
            continue;
        };
        // Wake subscribers once: notifications may have been missed while disconnected.
        if let Some(t) = backend.upgrade() {
            t.events.notify();
        }
        loop {
            let next = client.notifications().timeout_iter(TICK).next();
            let Some(t) = backend.upgrade() else { return };
            match next {
                Ok(Some(_)) => t.events.notify(),
                Err(_) => break,
                Ok(None) if client.is_closed() => break,
                Ok(None) => {}
            }
        }
    }
}
