//! One partition's log: an ordered set of segments, the next offset to assign, the durable
//! high watermark and the idempotent-producer state. This file holds the type, its state
//! and the reads (whole raw batches below the high watermark, time lookups); the other
//! concerns are split by kind of change: [`append`] (validating and placing batches,
//! rolling segments, durability), [`recovery`] (opening a partition after a crash, and
//! `verify`), [`log_start`] (DeleteRecords, retention, compaction: what moves the start).

mod append;
mod log_start;
mod recovery;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::futures::Notified;
use tokio::sync::{watch, Notify};

use super::producers::ProducerState;
use super::segment::Segment;
use super::tail::TailCache;
use crate::error::{Error, IoContext, Result};
use crate::record;
use wire::ErrorCode;

/// A produce that cannot be written, as a Kafka error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Kafka error code.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

impl Rejected {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Rejected {
            code,
            message: message.into(),
        }
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Offset of the first record written (or of the original, for a duplicate).
    pub base_offset: i64,
    /// Offset after the last record written; durable once the high watermark reaches it.
    pub end_offset: i64,
    /// The log-append timestamp, or -1 for create time.
    pub log_append_time: i64,
    /// The batch was a retry of one already written.
    pub duplicate: bool,
}

/// What waiting producers watch: how far the log is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Every offset below it is fsynced: a produce is answered when its batch is below it
    /// (under `flush = "always"`).
    pub synced: i64,
    /// Incremented each time a failed flush cut the log back.
    pub failures: u64,
}

struct State {
    segments: BTreeMap<i64, Segment>,
    log_start: i64,
    producers: ProducerState,
    next_offset: i64,
    /// Copy of the newest batches, for fetches at the log end.
    tail: TailCache,
    /// The log end when compaction last ran (0 after opening: the first pass runs).
    cleaned_upto: i64,
}

/// A partition's log.
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub index: i32,
    dir: PathBuf,
    state: Mutex<State>,
    /// High watermark: every offset below it is visible to fetches. As in Kafka, the log
    /// end: a batch is visible once written to the segment file (where a `kill -9` of the
    /// server cannot take it), before its fsync. Not in the `durable` watch, whose
    /// waiters (producers) only care about the fsync.
    hw: AtomicI64,
    durable: watch::Sender<Durable>,
    /// Offset below which data has been fsynced (what the flusher reads without waking
    /// anyone; [`Durable::synced`] is the same for waiters).
    synced: AtomicI64,
    /// Woken whenever this partition's high watermark moves (fetch long polls wait on
    /// the partitions they read, so an append wakes only those).
    arrived: Notify,
}

impl Partition {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The high watermark (next offset visible to consumers).
    pub fn high_watermark(&self) -> i64 {
        self.hw.load(Ordering::Acquire)
    }

    /// The first offset still in the log.
    pub fn log_start(&self) -> i64 {
        self.lock().log_start
    }

    /// The next offset to be assigned (log end offset).
    pub fn log_end(&self) -> i64 {
        self.lock().next_offset
    }

    /// Subscribes to durability changes.
    pub fn watch_durable(&self) -> watch::Receiver<Durable> {
        self.durable.subscribe()
    }

    /// Resolves the next time the high watermark moves; `enable` it before checking the
    /// log so a move in between is not missed.
    pub fn data_arrived(&self) -> Notified<'_> {
        self.arrived.notified()
    }

    /// Bytes of this partition's tail cache (see [`crate::log::tail`]).
    pub fn tail_cache_bytes(&self) -> usize {
        self.lock().tail.bytes()
    }

    /// Deletes the partition's files.
    pub fn remove_files(&self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).ctx(|| format!("deleting {}", self.dir.display()))
    }
}

impl Partition {
    /// Reads whole batches from `offset`, at most about `max_bytes` (at least one batch),
    /// below the high watermark.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Result<Bytes, Rejected> {
        let hw = self.high_watermark();
        let st = self.lock();
        if offset < st.log_start || offset > hw {
            return Err(Rejected::new(
                ErrorCode::OFFSET_OUT_OF_RANGE,
                format!("offset {offset} is outside [{}, {hw}]", st.log_start),
            ));
        }
        if offset == hw {
            return Ok(Bytes::new());
        }
        if let Some(bytes) = st.tail.read(offset, max_bytes, hw) {
            return Ok(bytes);
        }
        let start_base = st
            .segments
            .range(..=offset)
            .next_back()
            .map(|(b, _)| *b)
            .unwrap_or(st.log_start);
        for seg in st.segments.range(start_base..).map(|(_, s)| s) {
            match seg.read(offset, max_bytes, hw) {
                Ok(Some(bytes)) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => continue,
                Err(e) => return Err(storage_error(e)),
            }
        }
        Ok(Bytes::new())
    }

    /// The first offset whose timestamp is >= `ts`, with that timestamp; `None` if none.
    pub fn offset_for_time(&self, ts: i64) -> Result<Option<(i64, i64)>> {
        let hw = self.high_watermark();
        let st = self.lock();
        for seg in st.segments.values() {
            if seg.max_timestamp < ts {
                continue;
            }
            let rel = seg.indexes.rel_offset_for_time(ts).unwrap_or(0);
            let mut offset = seg.base + i64::from(rel);
            while let Some((pos, h)) = seg.find(offset)? {
                if h.base_offset >= hw {
                    return Ok(None);
                }
                if h.max_timestamp >= ts {
                    let bytes = seg.read_at(pos, h.size)?;
                    return Ok(first_record_at_or_after(bytes, ts)
                        .or(Some((h.base_offset, h.max_timestamp))));
                }
                offset = h.next_offset();
            }
        }
        Ok(None)
    }

    /// The largest timestamp in the log and the offset of the batch holding it.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        let st = self.lock();
        st.segments
            .values()
            .rev()
            .find(|s| s.max_timestamp >= 0)
            .and_then(|s| {
                s.indexes
                    .times
                    .last()
                    .map(|t| (s.base + i64::from(t.rel_offset), t.timestamp))
            })
    }
}

fn first_record_at_or_after(mut bytes: Bytes, ts: i64) -> Option<(i64, i64)> {
    let header = record::parse_header(&bytes).ok()?;
    let one = bytes.split_to(header.size.min(bytes.len()));
    let records = record::decode_records(one).ok()?;
    records
        .iter()
        .find(|r| r.timestamp >= ts)
        .map(|r| (r.offset, r.timestamp))
}

fn storage_error(e: Error) -> Rejected {
    tracing::error!(error = %e, "storage failure");
    Rejected::new(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string())
}
