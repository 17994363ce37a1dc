//! The TCP listener: accepts connections up to the configured limit, runs one task per
//! connection, and on shutdown stops accepting, lets in-flight requests finish within a
//! grace period, and waits for the flusher.

mod connection;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, Semaphore};
use tokio::task::JoinSet;

use crate::broker::Broker;

/// Serves clients on `listener` until `shutdown` completes.
pub async fn run(broker: Arc<Broker>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let (stop_tx, _) = broadcast::channel::<()>(1);
    let slots = Arc::new(Semaphore::new(broker.config.max_connections));
    let mut tasks = JoinSet::new();
    let maintenance = tokio::spawn(Arc::clone(&broker.logs).maintenance_loop(
        Duration::from_millis(broker.config.maintenance_interval_ms.max(100)),
    ));
    let group_maintenance = tokio::spawn(Arc::clone(&broker.groups).maintenance_loop(
        Duration::from_millis(broker.config.maintenance_interval_ms.max(100)),
    ));
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
                let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                    tracing::warn!(%peer, limit = broker.config.max_connections, "refusing connection: too many connections");
                    drop(stream);
                    continue;
                };
                let b = Arc::clone(&broker);
                let stop = stop_tx.subscribe();
                tasks.spawn(async move {
                    connection::serve(b, stream, peer, stop).await;
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
    maintenance.abort();
    group_maintenance.abort();
    // Make everything written durable before exit.
    for topic in broker.logs.topics() {
        for p in &topic.partitions {
            if let Some((file, end)) = p.flush_target() {
                match file.sync_data() {
                    Ok(()) => p.synced(end),
                    Err(e) => tracing::error!(error = %e, "final fsync failed"),
                }
            }
        }
    }
    tracing::info!("shutdown complete");
}
