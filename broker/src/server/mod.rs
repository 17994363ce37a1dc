//! The TCP listener: accepts connections up to the configured limits (in total and per
//! client address), runs one task per connection, and on shutdown stops accepting and
//! lets in-flight requests finish within a grace period. The broker's one front door,
//! [`Handle`] (made by [`Broker::start`]), runs this loop beside the background tasks.

mod connection;
mod handle;
pub mod limits;
mod replies;

pub use handle::Handle;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinSet;

use crate::broker::Broker;

/// Serves clients on `listener` until `shutdown` completes, then stops accepting and
/// waits (up to the grace period) for the connections' in-flight requests.
async fn serve(broker: Arc<Broker>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let (stop_tx, _) = broadcast::channel::<()>(1);
    let slots = Arc::new(Semaphore::new(broker.config.max_connections));
    let limits = limits::Limits::new(&broker.config);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Per address first, so an address at its limit takes no global slot.
                let ip_slot = match limits.per_ip.try_acquire(peer.ip()) {
                    Ok(slot) => slot,
                    Err(limit) => {
                        tracing::debug!(%peer, limit, "refusing connection: too many connections from this address");
                        if let Some(left_out) = limits.refused_per_ip.hit() {
                            tracing::info!(%peer, limit, left_out, "refusing connection: too many connections from this address (max_connections_per_ip); further refusals are logged at debug level");
                        }
                        drop(stream);
                        continue;
                    }
                };
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::debug!(%peer, limit = broker.config.max_connections, "refusing connection: too many connections");
                    if let Some(left_out) = limits.refused_full.hit() {
                        tracing::warn!(%peer, limit = broker.config.max_connections, left_out, "refusing connection: too many connections; further refusals are logged at debug level");
                    }
                    drop(stream);
                    continue;
                };
                let b = Arc::clone(&broker);
                let l = Arc::clone(&limits);
                let stop = stop_tx.subscribe();
                tasks.spawn(async move {
                    connection::serve(b, l, stream, peer, ip_slot, stop).await;
                    drop(permit);
                });
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    tracing::info!(
        connections = tasks.len(),
        "shutting down: no new connections"
    );
    drop(listener);
    let _ = stop_tx.send(());
    let grace = Duration::from_secs(broker.config.shutdown_grace_secs);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("grace period over: aborting remaining connections");
        tasks.abort_all();
    }
}
