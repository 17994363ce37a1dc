//! Group commit: one task fsyncs dirty partitions and then advances their high watermarks.
//! Every batch appended while one round of fsyncs runs is covered by the next round, so the
//! number of fsyncs grows with time spent syncing, not with the number of produce requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::partition::Partition;

/// How acknowledged data reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// fsync before answering acks=1/all (grouped across requests). The default.
    Always,
    /// Answer at once and fsync every so many milliseconds: faster, but a crash may lose up
    /// to that much acknowledged data.
    Interval(u64),
}

/// Handle for marking partitions dirty; the task behind it does the syncing.
#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::UnboundedSender<Arc<Partition>>,
    /// Number of fsyncs done, for the benchmark and metrics.
    pub fsyncs: Arc<AtomicU64>,
    /// The policy in force.
    pub policy: FlushPolicy,
}

impl Flusher {
    /// Starts the flush task on the current runtime.
    pub fn start(policy: FlushPolicy) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        tokio::spawn(run(rx, Arc::clone(&fsyncs), policy));
        Flusher { tx, fsyncs, policy }
    }

    /// Asks for `partition` to be synced soon.
    pub fn mark_dirty(&self, partition: &Arc<Partition>) {
        let _ = self.tx.send(Arc::clone(partition));
    }

    /// Whether produces are acknowledged before their fsync.
    pub fn relaxed(&self) -> bool {
        matches!(self.policy, FlushPolicy::Interval(_))
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Arc<Partition>>,
    fsyncs: Arc<AtomicU64>,
    policy: FlushPolicy,
) {
    let mut dirty: Vec<Arc<Partition>> = Vec::new();
    loop {
        match rx.recv().await {
            Some(p) => dirty.push(p),
            None => return,
        }
        if let FlushPolicy::Interval(ms) = policy {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        while let Ok(p) = rx.try_recv() {
            dirty.push(p);
        }
        dirty.sort_by_key(|p| Arc::as_ptr(p) as usize);
        dirty.dedup_by(|a, b| Arc::ptr_eq(a, b));
        let targets: Vec<_> = dirty
            .drain(..)
            .filter_map(|p| p.flush_target().map(|(file, end)| (p, file, end)))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let synced = tokio::task::spawn_blocking(move || {
            targets
                .into_iter()
                .map(|(p, file, end)| {
                    let ok = file.sync_data();
                    (p, end, ok)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let Ok(synced) = synced else { continue };
        for (p, end, ok) in synced {
            fsyncs.fetch_add(1, Ordering::Relaxed);
            match ok {
                Ok(()) => p.synced(end),
                Err(e) => {
                    tracing::error!(topic = %p.topic, partition = p.index, error = %e, "fsync failed; cutting back to the high watermark");
                    p.flush_failed();
                }
            }
        }
    }
}
