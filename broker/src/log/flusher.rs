//! Group commit: one task fsyncs dirty partitions and then advances their high watermarks.
//! Every batch appended while one round of fsyncs runs is covered by the next round, so the
//! number of fsyncs grows with time spent syncing, not with the number of produce requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

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
    /// Asks the task to stop (the server's [`crate::server::Handle`] does, at shutdown).
    stopper: Arc<Notify>,
    /// The task, taken and awaited by [`Flusher::stop`].
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Flusher {
    /// Starts the flush task on the current runtime.
    pub fn start(policy: FlushPolicy) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        let stopper = Arc::new(Notify::new());
        let task = tokio::spawn(run(rx, Arc::clone(&fsyncs), policy, Arc::clone(&stopper)));
        Flusher {
            tx,
            fsyncs,
            policy,
            stopper,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }

    /// Stops the task after one last round over what is marked, and waits for it. Marks
    /// after this are ignored: the caller fsyncs the partitions once nothing appends.
    pub async fn stop(&self) {
        self.stopper.notify_one();
        let task = self.task.lock().take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the flusher ended abnormally");
            }
        }
    }

    /// Whether the task is still running.
    pub fn is_running(&self) -> bool {
        self.task.lock().as_ref().is_some_and(|t| !t.is_finished())
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
    stopper: Arc<Notify>,
) {
    let mut dirty: Vec<Arc<Partition>> = Vec::new();
    loop {
        // Asked to stop: one last round over whatever is marked, then return.
        let mut stopping = tokio::select! {
            p = rx.recv() => match p {
                Some(p) => {
                    dirty.push(p);
                    false
                }
                None => return,
            },
            _ = stopper.notified() => true,
        };
        if let (FlushPolicy::Interval(ms), false) = (policy, stopping) {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = stopper.notified() => stopping = true,
            }
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
            if stopping {
                return;
            }
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
        let Ok(synced) = synced else {
            if stopping {
                return;
            }
            continue;
        };
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
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_ends_the_task_under_either_policy() {
        for policy in [FlushPolicy::Always, FlushPolicy::Interval(3_600_000)] {
            let f = Flusher::start(policy);
            assert!(f.is_running());
            tokio::time::timeout(Duration::from_secs(10), f.stop())
                .await
                .expect("the flusher stopped");
            assert!(!f.is_running());
            // Stopping twice is harmless.
            f.stop().await;
        }
    }
}
