//! Group commit: one thread fsyncs dirty partitions and then moves their synced offsets.
//! Every batch appended while one round of fsyncs runs is covered by the next round, so
//! the number of fsyncs grows with time spent syncing, not with the number of produce
//! requests.
//!
//! A batch is visible to fetches once written (the high watermark is the log end, as in
//! Kafka); its produce is answered once its fsync is done. The thread is the server's own,
//! not a task: a task would wait twice in the runtime's queue on that path (to start the
//! round, then to hear that the blocking fsync finished), behind every connection woken
//! meanwhile; with a thousand consumers woken by each append that was most of the fan-out
//! latency when visibility waited for the fsync (see docs/performance.md). The thread is
//! woken by a channel, fsyncs, and moves the synced offsets itself, which wakes the
//! waiting produces directly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

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

/// What the thread is asked.
enum Ask {
    /// Sync this partition soon.
    Dirty(Arc<Partition>),
    /// One last round over what is marked, then stop.
    Stop,
}

/// Handle for marking partitions dirty; the thread behind it does the syncing.
#[derive(Clone)]
pub struct Flusher {
    tx: mpsc::Sender<Ask>,
    /// Number of fsyncs done, for the benchmark and metrics.
    pub fsyncs: Arc<AtomicU64>,
    /// The policy in force.
    pub policy: FlushPolicy,
    /// The thread, taken and joined by [`Flusher::stop`].
    thread: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl Flusher {
    /// Starts the flush thread.
    pub fn start(policy: FlushPolicy) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&fsyncs);
        let thread = std::thread::Builder::new()
            .name("bbs-flusher".into())
            .spawn(move || run(&rx, &counter, policy))?;
        Ok(Flusher {
            tx,
            fsyncs,
            policy,
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// Stops the thread after one last round over what is marked, and waits for it. Marks
    /// after this are ignored: the caller fsyncs the partitions once nothing appends.
    pub async fn stop(&self) {
        let _ = self.tx.send(Ask::Stop);
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            match tokio::task::spawn_blocking(move || thread.join()).await {
                Ok(Ok(())) => {}
                _ => tracing::error!("the flusher ended abnormally"),
            }
        }
    }

    /// Whether the thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }

    /// Asks for `partition` to be synced soon.
    pub fn mark_dirty(&self, partition: &Arc<Partition>) {
        let _ = self.tx.send(Ask::Dirty(Arc::clone(partition)));
    }

    /// Whether produces are acknowledged before their fsync.
    pub fn relaxed(&self) -> bool {
        matches!(self.policy, FlushPolicy::Interval(_))
    }
}

/// The thread: waits for a dirty partition (under `Interval`, then for the interval too),
/// takes every other mark queued meanwhile, syncs each partition once, advances the high
/// watermarks; until asked to stop or every handle is gone.
fn run(rx: &mpsc::Receiver<Ask>, fsyncs: &AtomicU64, policy: FlushPolicy) {
    let mut dirty: Vec<Arc<Partition>> = Vec::new();
    loop {
        let mut stopping = match rx.recv() {
            Ok(Ask::Dirty(p)) => {
                dirty.push(p);
                false
            }
            Ok(Ask::Stop) => true,
            Err(_) => return, // every handle dropped
        };
        if let (FlushPolicy::Interval(ms), false) = (policy, stopping) {
            let until = Instant::now() + Duration::from_millis(ms);
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match rx.recv_timeout(left) {
                    Ok(Ask::Dirty(p)) => dirty.push(p),
                    Ok(Ask::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                        stopping = true;
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                }
            }
        }
        while let Ok(ask) = rx.try_recv() {
            match ask {
                Ask::Dirty(p) => dirty.push(p),
                Ask::Stop => stopping = true,
            }
        }
        dirty.sort_by_key(|p| Arc::as_ptr(p) as usize);
        dirty.dedup_by(|a, b| Arc::ptr_eq(a, b));
        for p in dirty.drain(..) {
            let Some((file, end)) = p.flush_target() else {
                continue;
            };
            let ok = file.sync_data();
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
    use crate::log::tail::TailBudget;
    use crate::log::topic_config::TopicConfig;

    /// A record becomes durable (and its produce answerable) while every worker of the
    /// runtime is busy: the fsync and the synced offset's move must not wait for a worker.
    /// Here the runtime's one thread is blocked for the whole wait; a flusher that is a task
    /// on it never runs, and the synced offset never moves.
    #[test]
    fn a_record_becomes_durable_while_the_runtime_is_busy() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let budget = Arc::new(TailBudget::new(1 << 20, 1 << 20));
        let (p, _) = Partition::open(dir.path(), "t", 0, budget).expect("open");
        let p = Arc::new(p);
        let batch = crate::record::encode_simple(&[(None, Some(bytes::Bytes::from("x")))], 1)
            .expect("encode");
        rt.block_on(async {
            let flusher = Flusher::start(FlushPolicy::Always).expect("flusher");
            let appended = p.append(&batch, &TopicConfig::default()).expect("append");
            flusher.mark_dirty(&p);
            // Block this, the runtime's only, thread until the record is synced.
            let synced = || p.watch_durable().borrow().synced;
            let deadline = Instant::now() + Duration::from_secs(20);
            while synced() < appended.end_offset && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(synced(), appended.end_offset, "never became durable");
            assert_eq!(flusher.fsyncs.load(Ordering::Relaxed), 1);
            flusher.stop().await;
        });
    }

    #[tokio::test]
    async fn stop_ends_the_task_under_either_policy() {
        for policy in [FlushPolicy::Always, FlushPolicy::Interval(3_600_000)] {
            let f = Flusher::start(policy).expect("starts");
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
