//! One partition's log: an ordered set of segments, the next offset to assign, the durable
//! high watermark and the idempotent-producer state. Appends validate and place batches;
//! reads return whole raw batches below the high watermark; retention drops old segments.

mod log_start;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use wire::ErrorCode;

use bytes::{Bytes, BytesMut};
use tokio::sync::{watch, Notify};

use super::producers::{Check, ProducerState};
use super::segment::{self, Segment};
use super::topic_config::TopicConfig;
use crate::error::{Error, IoContext, Result};
use crate::record::{self, BatchHeader};

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

/// The durable state that waiting producers and fetchers watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// High watermark: every offset below it is durable and visible.
    pub hw: i64,
    /// Incremented each time a failed flush cut the log back.
    pub failures: u64,
}

struct State {
    segments: BTreeMap<i64, Segment>,
    log_start: i64,
    producers: ProducerState,
    next_offset: i64,
}

/// A partition's log.
pub struct Partition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub index: i32,
    dir: PathBuf,
    state: Mutex<State>,
    durable: watch::Sender<Durable>,
    /// Offset below which data has been fsynced (differs from the high watermark only under
    /// a relaxed flush policy).
    synced: AtomicI64,
    /// Woken whenever any partition's high watermark moves (shared by the log manager).
    data_arrived: Arc<Notify>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Partition {
    /// Opens (recovering) or creates the partition in `dir`. Returns what was repaired.
    pub fn open(
        dir: &Path,
        topic: &str,
        index: i32,
        data_arrived: Arc<Notify>,
    ) -> Result<(Self, Vec<String>)> {
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
        let mut bases: Vec<i64> = Vec::new();
        for entry in std::fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
            let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".log") {
                if let Ok(base) = stem.parse::<i64>() {
                    bases.push(base);
                }
            } else if name.ends_with(".cleaned") || name.ends_with(".swap") {
                // Leftovers of an interrupted compaction: the originals are still in place.
                let _ = std::fs::remove_file(entry.path());
            }
        }
        bases.sort_unstable();
        let now = now_ms();
        let mut repairs = Vec::new();
        let mut segments = BTreeMap::new();
        let mut producers = ProducerState::default();
        let last = bases.last().copied();
        for base in bases {
            let path = dir.join(segment::file_name(base));
            let (seg, repair) = if Some(base) == last {
                Segment::open_active(&path, base, now)?
            } else {
                Segment::open(&path, base, false, now)?
            };
            if repair.truncated_bytes > 0 {
                repairs.push(format!(
                    "{}: cut {} bytes of torn or corrupt tail",
                    path.display(),
                    repair.truncated_bytes
                ));
            }
            if repair.rebuilt_index {
                repairs.push(format!(
                    "{}: rebuilt missing or stale index",
                    path.display()
                ));
            }
            for h in scan_headers(&seg)? {
                producers.record(&h);
            }
            segments.insert(base, seg);
        }
        if segments.is_empty() {
            segments.insert(0, Segment::create(dir, 0, now)?);
        }
        let next_offset = segments
            .values()
            .next_back()
            .map(|s| s.next_offset)
            .unwrap_or(0);
        // DeleteRecords may have moved the start past the first segment's base.
        let log_start = segments
            .values()
            .next()
            .map(|s| s.base)
            .unwrap_or(0)
            .max(log_start::stored(dir).min(next_offset));
        let (durable, _) = watch::channel(Durable {
            hw: next_offset,
            failures: 0,
        });
        Ok((
            Partition {
                topic: topic.to_string(),
                index,
                dir: dir.to_path_buf(),
                state: Mutex::new(State {
                    segments,
                    log_start,
                    producers,
                    next_offset,
                }),
                durable,
                synced: AtomicI64::new(next_offset),
                data_arrived,
            },
            repairs,
        ))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The high watermark (next offset visible to consumers).
    pub fn high_watermark(&self) -> i64 {
        self.durable.borrow().hw
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

    /// Validates and appends a produce's record set. Nothing is written unless every batch
    /// is valid. With `durable_now` the high watermark moves at once (relaxed flushing).
    pub fn append(
        &self,
        records: &[u8],
        cfg: &TopicConfig,
        durable_now: bool,
    ) -> Result<Appended, Rejected> {
        let batches = record::split_batches(records)
            .map_err(|e| Rejected::new(ErrorCode::CORRUPT_MESSAGE, e.to_string()))?;
        if batches.is_empty() {
            return Err(Rejected::new(ErrorCode::INVALID_RECORD, "empty record set"));
        }
        for (range, h) in &batches {
            if range.len() > cfg.max_message_bytes {
                return Err(Rejected::new(
                    ErrorCode::MESSAGE_TOO_LARGE,
                    format!(
                        "batch of {} bytes exceeds max.message.bytes {}",
                        range.len(),
                        cfg.max_message_bytes
                    ),
                ));
            }
            if h.record_count < 1 || i64::from(h.last_offset_delta) != i64::from(h.record_count) - 1
            {
                return Err(Rejected::new(
                    ErrorCode::INVALID_RECORD,
                    format!(
                        "batch of {} records claims last offset delta {}",
                        h.record_count, h.last_offset_delta
                    ),
                ));
            }
            if h.is_transactional() || h.is_control() {
                return Err(Rejected::new(
                    ErrorCode::INVALID_RECORD,
                    "transactions are not supported",
                ));
            }
            // Bounded and outside the partition lock: a compressed bomb costs at most the
            // limit's worth of decompression work and no memory, and is never stored.
            let limit = record::bounded::limit_for(cfg.max_message_bytes);
            record::bounded::check_batch(&records[range.clone()], h, limit).map_err(
                |e| match e {
                    Error::Refused { code, message } => Rejected::new(code, message),
                    e => Rejected::new(ErrorCode::CORRUPT_MESSAGE, e.to_string()),
                },
            )?;
        }
        let now = now_ms();
        let mut st = self.lock();
        // Idempotence: a single retried batch is answered with its original offset.
        let mut checks = Vec::with_capacity(batches.len());
        for (_, h) in &batches {
            match st.producers.check(h) {
                Check::Reject(code) => {
                    return Err(Rejected::new(
                        code,
                        format!(
                            "sequence {} rejected for producer {}",
                            h.base_sequence, h.producer_id
                        ),
                    ))
                }
                c => checks.push(c),
            }
        }
        if let [Check::Duplicate(base)] = checks[..] {
            let hw = self.high_watermark();
            return Ok(Appended {
                base_offset: base,
                end_offset: hw.min(st.next_offset),
                log_append_time: -1,
                duplicate: true,
            });
        }
        let mut data = BytesMut::from(records);
        let mut headers: Vec<BatchHeader> = Vec::with_capacity(batches.len());
        let mut offset = st.next_offset;
        let base_offset = offset;
        for (range, h) in &batches {
            let slice = &mut data[range.clone()];
            record::set_base_offset(slice, offset);
            record::set_leader_epoch(slice, 0);
            if cfg.log_append_time {
                record::set_log_append_time(slice, now);
            }
            let mut placed = *h;
            placed.base_offset = offset;
            if cfg.log_append_time {
                placed.max_timestamp = now;
                placed.base_timestamp = now;
            }
            offset = placed.next_offset();
            headers.push(placed);
        }
        let roll = {
            let active = st.segments.values().next_back();
            active.is_some_and(|s| {
                s.size > 0
                    && (s.size + data.len() as u64 > cfg.segment_bytes
                        || now - s.created_ms >= cfg.segment_ms)
            }) || (offset - active.map(|s| s.base).unwrap_or(0)) > segment::MAX_RELATIVE_OFFSET
        };
        if roll {
            self.roll(&mut st, now).map_err(storage_error)?;
        }
        let Some(active) = st.segments.values_mut().next_back() else {
            return Err(Rejected::new(
                ErrorCode::KAFKA_STORAGE_ERROR,
                "partition has no segment",
            ));
        };
        active.append(&data, &headers).map_err(storage_error)?;
        for h in &headers {
            st.producers.record(h);
        }
        st.next_offset = offset;
        drop(st);
        if durable_now {
            self.advance(offset);
        }
        Ok(Appended {
            base_offset,
            end_offset: offset,
            log_append_time: if cfg.log_append_time { now } else { -1 },
            duplicate: false,
        })
    }

    fn roll(&self, st: &mut State, now: i64) -> Result<()> {
        if let Some(active) = st.segments.values().next_back() {
            active.sync()?;
        }
        let base = st.next_offset;
        if st.segments.contains_key(&base) {
            return Ok(());
        }
        let seg = Segment::create(&self.dir, base, now)?;
        sync_dir(&self.dir)?;
        st.segments.insert(base, seg);
        Ok(())
    }

    /// What the flusher needs: the active file and the offset it covers once synced.
    pub fn flush_target(&self) -> Option<(Arc<std::fs::File>, i64)> {
        let st = self.lock();
        let end = st.next_offset;
        if end <= self.synced.load(Ordering::Acquire) {
            return None;
        }
        st.segments
            .values()
            .next_back()
            .map(|s| (Arc::clone(&s.file), end))
    }

    /// Records that everything below `offset` is on disk, and makes it visible.
    pub fn synced(&self, offset: i64) {
        self.synced.fetch_max(offset, Ordering::AcqRel);
        self.advance(offset);
    }

    /// Makes everything below `offset` visible and wakes waiters.
    pub fn advance(&self, offset: i64) {
        let moved = self.durable.send_if_modified(|d| {
            if offset > d.hw {
                d.hw = offset;
                true
            } else {
                false
            }
        });
        if moved {
            self.data_arrived.notify_waiters();
        }
    }

    /// A flush failed: cut the log back to the high watermark so it matches what was
    /// acknowledged, and fail the waiting producers.
    pub fn flush_failed(&self) {
        let mut st = self.lock();
        let hw = self.synced.load(Ordering::Acquire);
        if let Some(active) = st.segments.values_mut().next_back() {
            if let Ok(Some((pos, _))) = active.find(hw) {
                let _ = active.file.set_len(pos);
                active.size = pos;
                active.next_offset = hw.max(active.base);
            }
        }
        st.next_offset = hw;
        st.producers.clear();
        drop(st);
        self.durable.send_modify(|d| {
            d.failures += 1;
            d.hw = d.hw.min(hw);
        });
    }

    /// Waits until `end_offset` is durable. Errors if a flush failure cut it off.
    pub async fn wait_durable(
        &self,
        end_offset: i64,
        failures_before: u64,
    ) -> Result<(), Rejected> {
        let mut rx = self.durable.subscribe();
        let result = rx
            .wait_for(|d| d.hw >= end_offset || d.failures != failures_before)
            .await
            .map(|d| *d);
        match result {
            Ok(d) if d.hw >= end_offset => Ok(()),
            _ => Err(Rejected::new(
                ErrorCode::KAFKA_STORAGE_ERROR,
                "flush to disk failed",
            )),
        }
    }

    /// The flush-failure count to pass to [`Partition::wait_durable`].
    pub fn failures(&self) -> u64 {
        self.durable.borrow().failures
    }

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

    /// Deletes old segments by time and size (never the only one). Returns how many went.
    pub fn apply_retention(&self, cfg: &TopicConfig, now: i64) -> Result<usize> {
        if !cfg.cleanup_delete {
            return Ok(0);
        }
        let hw = self.high_watermark();
        let mut st = self.lock();
        // An active segment that has expired as a whole is rolled so it can go too.
        if cfg.retention_ms >= 0 {
            if let Some(active) = st.segments.values().next_back() {
                if active.size > 0
                    && active.max_timestamp < now - cfg.retention_ms
                    && st.next_offset <= hw
                {
                    self.roll(&mut st, now)?;
                }
            }
        }
        let mut total: u64 = st.segments.values().map(|s| s.size).sum();
        let mut doomed = Vec::new();
        let bases: Vec<i64> = st.segments.keys().copied().collect();
        for (i, base) in bases.iter().enumerate() {
            if i + 1 == bases.len() {
                break;
            }
            let Some(seg) = st.segments.get(base) else {
                break;
            };
            if seg.next_offset > hw {
                break;
            }
            let expired = cfg.retention_ms >= 0 && seg.max_timestamp < now - cfg.retention_ms;
            let too_big = cfg.retention_bytes >= 0 && total > cfg.retention_bytes as u64;
            if !(expired || too_big) {
                break;
            }
            total -= seg.size;
            doomed.push(*base);
        }
        for base in &doomed {
            if let Some(seg) = st.segments.remove(base) {
                seg.remove_files()?;
            }
        }
        if let Some(first) = st.segments.values().next() {
            st.log_start = st.log_start.max(first.base);
        }
        Ok(doomed.len())
    }

    /// Compacts the closed segments (see [`super::compact`]). Returns records removed.
    pub fn compact(&self, cfg: &TopicConfig, now: i64) -> Result<usize> {
        let mut st = self.lock();
        let removed = super::compact::compact_segments(&mut st.segments, cfg, now)?;
        if let Some(first) = st.segments.values().next() {
            st.log_start = st.log_start.max(first.base);
        }
        Ok(removed)
    }

    /// Scans every batch of every segment with its CRC. Returns (batches, records, problems).
    pub fn verify(&self) -> Result<(u64, u64, Vec<String>)> {
        let st = self.lock();
        let mut batches = 0;
        let mut records = 0;
        let mut problems = Vec::new();
        let mut expect = st.segments.values().next().map_or(st.log_start, |s| s.base);
        for seg in st.segments.values() {
            let mut pos = 0u64;
            while pos < seg.size {
                let head = seg.read_at(pos, record::LOG_OVERHEAD.min((seg.size - pos) as usize))?;
                let size = match record::peek_size(&head) {
                    Ok(Some(size)) if pos + size as u64 <= seg.size => size,
                    _ => {
                        problems.push(format!("{} at {pos}: bad batch length", seg.path.display()));
                        break;
                    }
                };
                let bytes = seg.read_at(pos, size)?;
                match record::validate(&bytes) {
                    Ok(h) => {
                        if h.base_offset < expect {
                            problems.push(format!(
                                "{} at {pos}: offset {} goes backwards",
                                seg.path.display(),
                                h.base_offset
                            ));
                        }
                        expect = h.next_offset();
                        batches += 1;
                        records += h.record_count as u64;
                    }
                    Err(e) => problems.push(format!("{} at {pos}: {e}", seg.path.display())),
                }
                pos += size as u64;
            }
        }
        Ok((batches, records, problems))
    }

    /// Deletes the partition's files.
    pub fn remove_files(&self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir).ctx(|| format!("deleting {}", self.dir.display()))
    }
}

fn storage_error(e: Error) -> Rejected {
    tracing::error!(error = %e, "storage failure");
    Rejected::new(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string())
}

/// Every batch header of a segment, in order.
pub(crate) fn scan_headers(seg: &Segment) -> Result<Vec<BatchHeader>> {
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos + record::HEADER_LEN as u64 <= seg.size {
        let head = seg.read_at(pos, record::HEADER_LEN)?;
        let h = record::parse_header(&head)?;
        pos += h.size as u64;
        out.push(h);
    }
    Ok(out)
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

/// Fsyncs a directory so a new or renamed file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("fsync directory {}", dir.display()))
}
