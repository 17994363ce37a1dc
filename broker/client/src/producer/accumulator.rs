//! The producer's record accumulator: per-partition queues of batches, buffer accounting,
//! sequence numbers, and the decision of which batches are ready to send. No I/O: the
//! sender thread calls [`Accumulator::drain`] and puts batches back with
//! [`Accumulator::requeue`] (in sequence order) when a send fails retriably.
//!
//! Ordering with idempotence: sequences are assigned when a batch is first drained and never
//! change while the producer id stays the same; a partition with a batch waiting for retry
//! sends only that batch, alone, until it is acknowledged, so retries cannot reorder or
//! duplicate records (the broker answers a re-sent batch it already has as a duplicate).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::ProducerConfig;
use crate::cluster::ClusterView;
use crate::consumer::TopicPartition;
use crate::error::Error;
use crate::partitioner::Sticky;
use crate::records::BatchBuilder;

/// What became of one batch: base offset and log-append time, or the failure.
pub(super) type BatchResult = std::result::Result<(i64, i64), Arc<Error>>;

/// Shared between a batch and the delivery handles of its records.
#[derive(Debug, Default)]
pub(super) struct BatchOutcome {
    /// `None` until the batch is acknowledged or failed.
    pub result: Mutex<Option<BatchResult>>,
    /// Signalled when `result` is set.
    pub done: Condvar,
}

impl BatchOutcome {
    /// Sets the result (once) and wakes waiters.
    pub(super) fn complete(&self, r: BatchResult) {
        let mut g = self.result.lock();
        if g.is_none() {
            *g = Some(r);
        }
        self.done.notify_all();
    }

    /// Waits up to `timeout` for the result.
    pub(super) fn wait(&self, timeout: Option<Duration>) -> Option<BatchResult> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.result.lock();
        loop {
            if let Some(r) = g.as_ref() {
                return Some(r.clone());
            }
            match deadline {
                None => self.done.wait(&mut g),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    self.done.wait_for(&mut g, d - now);
                }
            }
        }
    }
}

/// Records for one partition, sent (and retried) as a unit.
#[derive(Debug)]
pub(super) struct Batch {
    /// Where it goes.
    pub tp: TopicPartition,
    /// The records, still open for appends until first drained.
    pub builder: BatchBuilder,
    /// Completed when the broker answers.
    pub outcome: Arc<BatchOutcome>,
    /// When the first record arrived (for linger and delivery timeout).
    pub created: Instant,
    /// Encoded bytes and base sequence, fixed at the first send so retries are identical.
    pub sealed: Option<(Bytes, i32)>,
    /// Sends so far.
    pub attempts: u32,
    /// Not before this instant (retry backoff).
    pub retry_at: Option<Instant>,
    /// Buffer memory this batch holds.
    pub bytes: usize,
}

impl Batch {
    /// Base sequence, if sealed.
    pub(super) fn seq(&self) -> Option<i32> {
        self.sealed.as_ref().map(|(_, s)| *s)
    }
}

/// Per-partition state.
#[derive(Debug, Default)]
pub(super) struct PartQueue {
    /// Batches waiting to be sent: retries first (by sequence), then new ones.
    pub queue: VecDeque<Batch>,
    /// Sequence of the next new batch.
    pub next_seq: i32,
    /// Batches of this partition in flight.
    pub inflight: usize,
}

/// The whole accumulator, guarded by the producer's mutex.
#[derive(Debug, Default)]
pub(super) struct Accumulator {
    /// Queues by partition.
    pub parts: HashMap<TopicPartition, PartQueue>,
    /// Bytes held by queued and in-flight batches.
    pub buffered: usize,
    /// Batches in flight, all partitions.
    pub inflight_total: usize,
    /// Flushes in progress (every batch is ready while > 0).
    pub flushing: usize,
    /// Set by close: drain everything, accept nothing.
    pub closing: bool,
    /// After this instant a closing producer gives up on what is still queued.
    pub abandon_at: Option<Instant>,
    /// Idempotent producer id and epoch (-1 until InitProducerId answered).
    pub producer_id: i64,
    /// Producer epoch.
    pub producer_epoch: i16,
    /// A sequence gap happened: get a new producer id once nothing is in flight.
    pub need_new_pid: bool,
    /// The keyless-record partition choice.
    pub sticky: Sticky,
    /// Outcomes of batches in flight (pruned as they complete), for flush.
    pub inflight_outcomes: Vec<Arc<BatchOutcome>>,
    /// A sender thread is running (it runs only while something waits to be sent).
    pub sender_running: bool,
}

impl Accumulator {
    /// An empty accumulator.
    pub(super) fn new() -> Self {
        Accumulator {
            producer_id: -1,
            producer_epoch: -1,
            ..Default::default()
        }
    }

    /// True when nothing waits to be sent (batches may be in flight).
    pub(super) fn nothing_queued(&self) -> bool {
        self.parts.values().all(|p| p.queue.is_empty())
    }

    /// True when nothing is queued or in flight.
    pub(super) fn is_idle(&self) -> bool {
        self.inflight_total == 0 && self.parts.values().all(|p| p.queue.is_empty())
    }

    /// Appends a record to `tp`'s open batch (or a new one). Returns the outcome handle,
    /// the record's index in the batch and whether a new batch was started.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn append(
        &mut self,
        tp: &TopicPartition,
        ts: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Bytes>)],
        size: usize,
        batch_size: usize,
    ) -> (Arc<BatchOutcome>, usize, bool) {
        let pq = self.parts.entry(tp.clone()).or_default();
        let fits = pq.queue.back().is_some_and(|b| {
            b.sealed.is_none() && b.attempts == 0 && b.builder.size() + size <= batch_size
        });
        let new_batch = !fits;
        if new_batch {
            pq.queue.push_back(Batch {
                tp: tp.clone(),
                builder: BatchBuilder::new(batch_size.min(size.max(1024) * 4)),
                outcome: Arc::new(BatchOutcome::default()),
                created: Instant::now(),
                sealed: None,
                attempts: 0,
                retry_at: None,
                bytes: 0,
            });
        }
        let mut index = 0;
        let mut outcome = None;
        if let Some(b) = pq.queue.back_mut() {
            b.builder.append(ts, key, value, headers);
            b.bytes += size;
            index = b.builder.len() - 1;
            outcome = Some(b.outcome.clone());
        }
        self.buffered += size;
        (outcome.unwrap_or_default(), index, new_batch)
    }

    /// Takes the batches that are ready, grouped by leader, sealing new ones (assigning
    /// sequences when idempotent). Returns them and when to look again.
    pub(super) fn drain(
        &mut self,
        view: &ClusterView,
        config: &ProducerConfig,
        now: Instant,
    ) -> (HashMap<i32, Vec<Batch>>, Option<Instant>, bool) {
        let mut out: HashMap<i32, Vec<Batch>> = HashMap::new();
        self.inflight_outcomes.retain(|o| o.result.lock().is_none());
        let mut sizes: HashMap<i32, usize> = HashMap::new();
        let mut next_check: Option<Instant> = None;
        let mut unknown_leader = false;
        let mut failed: Vec<(Batch, Error)> = Vec::new();
        let hurry = self.flushing > 0 || self.closing;
        let pid = (self.producer_id, self.producer_epoch);
        if config.idempotence && (pid.0 < 0 || self.need_new_pid) {
            return (out, None, false);
        }
        for (tp, pq) in self.parts.iter_mut() {
            let Some(front) = pq.queue.front() else {
                continue;
            };
            let retrying = front.attempts > 0;
            if retrying {
                if pq.inflight > 0 {
                    continue;
                }
                if let Some(at) = front.retry_at {
                    if at > now {
                        next_check = Some(next_check.map_or(at, |n| n.min(at)));
                        continue;
                    }
                }
            } else {
                if pq.inflight >= config.max_in_flight {
                    continue;
                }
                let due = front.created + config.linger;
                let full = pq.queue.len() > 1 || front.builder.size() >= config.batch_size;
                if !(full || hurry || due <= now) {
                    next_check = Some(next_check.map_or(due, |n| n.min(due)));
                    continue;
                }
            }
            let Some(leader) = view.leader(&tp.topic, tp.partition) else {
                unknown_leader = true;
                continue;
            };
            let size = sizes.entry(leader).or_default();
            if *size > 0 && *size + front.builder.size() > config.max_request_size {
                next_check = Some(now);
                continue;
            }
            let Some(mut batch) = pq.queue.pop_front() else {
                continue;
            };
            if batch.sealed.is_none() {
                let (seq, (p, e)) = if config.idempotence {
                    (pq.next_seq, pid)
                } else {
                    (-1, (-1, -1))
                };
                let bytes = match batch.builder.seal(p, e, seq, config.compression) {
                    Ok(b) => b,
                    Err(err) => {
                        failed.push((batch, err));
                        continue;
                    }
                };
                if config.idempotence {
                    pq.next_seq = pq.next_seq.wrapping_add(batch.builder.len() as i32) & i32::MAX;
                }
                batch.sealed = Some((bytes, seq));
            }
            *size += batch.sealed.as_ref().map_or(0, |(b, _)| b.len());
            batch.attempts += 1;
            pq.inflight += 1;
            self.inflight_outcomes.push(batch.outcome.clone());
            self.inflight_total += 1;
            out.entry(leader).or_default().push(batch);
        }
        for b in failed {
            let e = b.1;
            self.complete(b.0, Err(Arc::new(e)), false);
        }
        (out, next_check, unknown_leader)
    }

    /// Puts a batch that failed retriably back at its place (sequence order), to be sent
    /// after `backoff`.
    pub(super) fn requeue(&mut self, mut batch: Batch, backoff: Duration) {
        self.finish_inflight(&batch.tp);
        batch.retry_at = Some(Instant::now() + backoff);
        let pq = self.parts.entry(batch.tp.clone()).or_default();
        let seq = batch.seq().unwrap_or(i32::MAX);
        let pos = pq
            .queue
            .iter()
            .position(|b| b.attempts == 0 || b.seq().is_some_and(|s| s > seq))
            .unwrap_or(pq.queue.len());
        pq.queue.insert(pos, batch);
    }

    /// Completes a batch (success or final failure) and releases its memory.
    pub(super) fn complete(&mut self, batch: Batch, result: BatchResult, was_inflight: bool) {
        if was_inflight {
            self.finish_inflight(&batch.tp);
        }
        self.buffered = self.buffered.saturating_sub(batch.bytes);
        batch.outcome.complete(result);
    }

    fn finish_inflight(&mut self, tp: &TopicPartition) {
        if let Some(pq) = self.parts.get_mut(tp) {
            pq.inflight = pq.inflight.saturating_sub(1);
        }
        self.inflight_total = self.inflight_total.saturating_sub(1);
    }

    /// True when `tp` has a batch waiting for retry with a sequence below `seq`.
    pub(super) fn has_earlier_retry(&self, tp: &TopicPartition, seq: i32) -> bool {
        self.parts.get(tp).is_some_and(|pq| {
            pq.queue
                .iter()
                .any(|b| b.attempts > 0 && b.seq().is_some_and(|s| s < seq))
        })
    }

    /// Fails queued batches older than `timeout` that were never sent.
    pub(super) fn expire(&mut self, timeout: Duration, now: Instant) {
        let mut expired = Vec::new();
        for pq in self.parts.values_mut() {
            while pq
                .queue
                .front()
                .is_some_and(|b| b.attempts == 0 && now.duration_since(b.created) > timeout)
            {
                if let Some(b) = pq.queue.pop_front() {
                    expired.push(b);
                }
            }
        }
        for b in expired {
            let err = Error::Timeout(format!("record not sent within {timeout:?}"));
            self.complete(b, Err(Arc::new(err)), false);
        }
    }

    /// Fails every queued batch with `err` (a close that ran out of time).
    pub(super) fn fail_queued(&mut self, err: Arc<Error>) {
        let batches: Vec<Batch> = self
            .parts
            .values_mut()
            .flat_map(|pq| pq.queue.drain(..))
            .collect();
        for b in batches {
            self.complete(b, Err(err.clone()), false);
        }
    }

    /// Installs a new producer id: sequences restart at 0 and queued batches are re-sealed.
    pub(super) fn reset_producer_id(&mut self, id: i64, epoch: i16) {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.need_new_pid = false;
        for pq in self.parts.values_mut() {
            pq.next_seq = 0;
            for b in pq.queue.iter_mut() {
                b.sealed = None;
            }
        }
    }

    /// The outcomes of every queued or open batch (what a flush waits for).
    pub(super) fn queued_outcomes(&self) -> Vec<Arc<BatchOutcome>> {
        self.parts
            .values()
            .flat_map(|pq| pq.queue.iter().map(|b| b.outcome.clone()))
            .chain(self.inflight_outcomes.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests;
