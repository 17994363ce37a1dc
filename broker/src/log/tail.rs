//! The tail cache: a bounded in-memory copy of each partition's newest batches, so a fetch
//! at or near the log end (every caught-up consumer's long poll) is answered without a
//! system call and with zero-copy clones of the appended buffer.
//!
//! The disk is the truth and the cache only a copy of its newest bytes: it is filled by
//! appends only (after the segment write succeeded, with the offsets and leader epoch the
//! segment holds), always ends exactly at the partition's log end, and is cleared by every
//! other change to the log (a flush failure cutting the tail, DeleteRecords, retention,
//! compaction). A partition opened after a restart starts with an empty cache. Reads are
//! bounded by the high watermark exactly like segment reads.
//!
//! Memory is bounded twice: per partition (`tail_cache_partition_bytes`) and for the whole
//! broker (`tail_cache_total_bytes`, a [`TailBudget`] shared by all partitions). When the
//! broker-wide budget is spent, a partition first evicts its own oldest batches; if that is
//! not enough the new batches are simply not cached (and the partition's cache is emptied
//! so it stays contiguous); reads then go to disk as before.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::record::BatchHeader;

/// Default bytes cached per partition.
pub const DEFAULT_PARTITION_BYTES: usize = 1 << 20;
/// Default bytes cached over all partitions.
pub const DEFAULT_TOTAL_BYTES: usize = 64 << 20;

/// The broker-wide byte budget of the tail caches and the per-partition limit.
#[derive(Debug)]
pub struct TailBudget {
    per_partition: AtomicUsize,
    total: AtomicUsize,
    used: AtomicUsize,
}

impl Default for TailBudget {
    fn default() -> Self {
        TailBudget::new(DEFAULT_PARTITION_BYTES, DEFAULT_TOTAL_BYTES)
    }
}

impl TailBudget {
    /// A budget of `per_partition` bytes per partition and `total` over all of them
    /// (0 turns the cache off).
    pub fn new(per_partition: usize, total: usize) -> Self {
        TailBudget {
            per_partition: AtomicUsize::new(per_partition),
            total: AtomicUsize::new(total),
            used: AtomicUsize::new(0),
        }
    }

    /// Changes the limits (from the broker config); applies to batches cached from now on.
    pub fn set_limits(&self, per_partition: usize, total: usize) {
        self.per_partition.store(per_partition, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
    }

    /// Bytes cached now over all partitions.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes of the broker-wide budget if they fit.
    fn try_take(&self, n: usize) -> bool {
        let total = self.total.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|v| *v <= total)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// One cached batch: a slice `start..end` of the buffer its append wrote.
struct Entry {
    base: i64,
    next: i64,
    chunk: Bytes,
    start: usize,
    end: usize,
}

impl Entry {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// A partition's cache of its newest batches (see the module doc).
pub(crate) struct TailCache {
    entries: VecDeque<Entry>,
    bytes: usize,
    budget: Arc<TailBudget>,
}

impl TailCache {
    pub(crate) fn new(budget: Arc<TailBudget>) -> Self {
        TailCache {
            entries: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Bytes this partition has cached.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets everything (the log changed other than by an append).
    pub(crate) fn clear(&mut self) {
        self.budget.give_back(self.bytes);
        self.bytes = 0;
        self.entries.clear();
    }

    fn evict_oldest(&mut self) -> bool {
        match self.entries.pop_front() {
            Some(e) => {
                self.bytes -= e.len();
                self.budget.give_back(e.len());
                true
            }
            None => false,
        }
    }

    /// Caches the batches of one append: `chunk` is exactly what was written to the
    /// segment, `batches` the byte range and placed header of each batch in it.
    pub(crate) fn push(&mut self, chunk: &Bytes, batches: &[(Range<usize>, BatchHeader)]) {
        let Some((_, first)) = batches.first() else {
            return;
        };
        let size: usize = batches.iter().map(|(r, _)| r.len()).sum();
        let contiguous = self
            .entries
            .back()
            .is_none_or(|e| e.next == first.base_offset);
        let in_chunk = batches
            .iter()
            .all(|(r, _)| r.start <= r.end && r.end <= chunk.len());
        let per_partition = self.budget.per_partition.load(Ordering::Relaxed);
        if !contiguous || !in_chunk || size > per_partition {
            self.clear();
            return;
        }
        while self.bytes + size > per_partition && self.evict_oldest() {}
        while !self.budget.try_take(size) {
            if !self.evict_oldest() {
                // The broker-wide budget is spent by other partitions: do not cache, and
                // keep the (now empty) cache contiguous with the log end.
                return;
            }
        }
        for (range, h) in batches {
            self.entries.push_back(Entry {
                base: h.base_offset,
                next: h.next_offset(),
                chunk: chunk.clone(),
                start: range.start,
                end: range.end,
            });
        }
        self.bytes += size;
    }

    /// Whole batches from the one holding `offset`, stopping before a batch that reaches
    /// `limit_offset` or would pass `max_bytes` (the first batch is always whole), as
    /// [`crate::log::segment::Segment::read`] would return them; `None` when `offset` is
    /// below what is cached (the caller reads the segments).
    pub(crate) fn read(&self, offset: i64, max_bytes: usize, limit_offset: i64) -> Option<Bytes> {
        let front = self.entries.front()?;
        if offset < front.base {
            return None;
        }
        let i = self.entries.partition_point(|e| e.next <= offset);
        let first = self.entries.get(i)?;
        if first.next > limit_offset {
            return Some(Bytes::new());
        }
        let want = max_bytes.max(first.len());
        let mut taken = 0usize;
        let mut last = i;
        for (j, e) in self.entries.iter().enumerate().skip(i) {
            if e.next > limit_offset || taken + e.len() > want {
                break;
            }
            taken += e.len();
            last = j;
        }
        let run = || self.entries.range(i..=last);
        let same_chunk = run().zip(run().skip(1)).all(|(a, b)| {
            a.chunk.as_ptr() == b.chunk.as_ptr()
                && a.chunk.len() == b.chunk.len()
                && a.end == b.start
        });
        if same_chunk {
            let end = self.entries.get(last).map_or(first.end, |e| e.end);
            return Some(first.chunk.slice(first.start..end));
        }
        let mut out = BytesMut::with_capacity(taken);
        for e in run() {
            out.extend_from_slice(&e.chunk[e.start..e.end]);
        }
        Some(out.freeze())
    }
}

impl Drop for TailCache {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
#[path = "tail_tests.rs"]
mod tests;
