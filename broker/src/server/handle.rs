//! The broker's one front door: [`Broker::start`] puts an opened broker on a listener and
//! returns a [`Handle`] that owns everything running on its behalf — the accept loop and
//! its connections, the log's retention/compaction pass and the group coordinator's
//! expiry pass — and [`Handle::shutdown`], which stops them in order and makes every
//! written byte durable. The group-commit flusher is started by [`Broker::open`] (opening
//! the logs needs it); [`Handle::shutdown`] stops it once the last request has finished
//! and before the final fsync.
//!
//! Hosts, `bbs-server`, the tests and the benchmarks start a broker only through here.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::error::{IoContext, Result};

/// A running broker: its sockets and background tasks. Dropping it without
/// [`Handle::shutdown`] stops accepting and the background passes, but waits for nothing
/// (no grace period, no final fsync beyond what the flusher already did).
pub struct Handle {
    /// The broker the tasks serve; handed out for hosts and tests that inspect it.
    broker: Arc<Broker>,
    /// The address the listener is bound to (the real port when bound to port 0).
    local_addr: SocketAddr,
    /// Fired (or dropped) to make the accept loop stop.
    stop: Option<oneshot::Sender<()>>,
    /// The accept loop; it ends after draining connections.
    server: Option<JoinHandle<()>>,
    /// Retention/compaction and group expiry passes, aborted at shutdown.
    maintenance: Vec<JoinHandle<()>>,
}

impl Broker {
    /// Serves clients on `listener` and starts the periodic maintenance passes (log
    /// retention and compaction, group and offset expiry). Must run inside a Tokio runtime.
    /// The broker is usually prepared first (a host loads its state, creates its topics)
    /// between [`Broker::open_with`] and this call, so no client sees it half-ready.
    pub fn start(self: &Arc<Self>, listener: TcpListener) -> Result<Handle> {
        let local_addr = listener
            .local_addr()
            .ctx(|| "reading the listener's address".to_string())?;
        let interval = Duration::from_millis(self.config.maintenance_interval_ms.max(100));
        let maintenance = vec![
            tokio::spawn(Arc::clone(&self.logs).maintenance_loop(interval)),
            tokio::spawn(Arc::clone(&self.groups).maintenance_loop(interval)),
        ];
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(super::serve(Arc::clone(self), listener, async {
            let _ = stop_rx.await;
        }));
        Ok(Handle {
            broker: Arc::clone(self),
            local_addr,
            stop: Some(stop_tx),
            server: Some(server),
            maintenance,
        })
    }
}

impl Handle {
    /// The broker this handle runs.
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// The address clients connect to (the bound port when the listener used port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs until `signal` completes (e.g. SIGTERM), then [`Handle::shutdown`].
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }

    /// Stops accepting, lets in-flight requests finish within the configured grace period
    /// (then aborts what is left), stops the maintenance passes, and fsyncs every
    /// partition's unsynced tail so everything written is durable before it returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "the accept loop ended abnormally");
            }
        }
        for task in self.maintenance.drain(..) {
            task.abort();
        }
        let logs = &self.broker.logs;
        logs.flusher.stop().await;
        logs.sync_all();
        tracing::info!(
            fsyncs = logs.flusher.fsyncs.load(Ordering::Relaxed),
            produce_requests = logs.produce_requests.load(Ordering::Relaxed),
            "shutdown complete"
        );
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        for task in &self.maintenance {
            task.abort();
        }
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}
