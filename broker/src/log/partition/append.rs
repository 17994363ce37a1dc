//! Appending to a partition: validating a produce's batches (size, CRC, producer
//! sequences), assigning offsets, rolling segments, and the durability bookkeeping the
//! flusher drives (fsync targets, the synced offset, cutting back after a failed flush,
//! waiting until an append is durable). An appended batch is visible to fetches at once
//! (the high watermark is the log end, as in Kafka); its produce is answered once it is
//! synced (see `handlers::produce`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;

use super::{storage_error, Appended, Partition, Rejected, State};
use crate::error::{Error, Result};
use crate::log::producers::Check;
use crate::log::segment::{self, sync_dir, Segment};
use crate::log::topic_config::TopicConfig;
use crate::now_ms;
use crate::record::{self, BatchHeader};
use wire::ErrorCode;

impl Partition {
    /// Validates and appends a produce's record set, and makes it visible. Nothing is
    /// written unless every batch is valid.
    pub fn append(&self, records: &[u8], cfg: &TopicConfig) -> Result<Appended, Rejected> {
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
        let placed: Vec<_> = batches
            .iter()
            .map(|(range, _)| range.clone())
            .zip(headers.iter().copied())
            .collect();
        st.tail.push(&data.freeze(), &placed);
        st.next_offset = offset;
        // Visible under the lock, so a failed flush's cut-back (also under it) cannot be
        // undone by an append that wrote before it.
        self.advance(offset);
        drop(st);
        Ok(Appended {
            base_offset,
            end_offset: offset,
            log_append_time: if cfg.log_append_time { now } else { -1 },
            duplicate: false,
        })
    }

    pub(super) fn roll(&self, st: &mut State, now: i64) -> Result<()> {
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

    /// Records that everything below `offset` is on disk (waking the producers waiting
    /// for it), and makes it visible if it was not yet.
    pub fn synced(&self, offset: i64) {
        self.synced.fetch_max(offset, Ordering::AcqRel);
        self.durable.send_if_modified(|d| {
            let moved = offset > d.synced;
            d.synced = d.synced.max(offset);
            moved
        });
        self.advance(offset);
    }

    /// Makes everything below `offset` visible and wakes the fetches waiting on it.
    pub fn advance(&self, offset: i64) {
        if self.hw.fetch_max(offset, Ordering::AcqRel) < offset {
            self.arrived.notify_waiters();
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
        st.tail.clear();
        self.hw.fetch_min(hw, Ordering::AcqRel);
        drop(st);
        self.durable.send_modify(|d| {
            d.failures += 1;
            d.synced = d.synced.min(hw);
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
            .wait_for(|d| d.synced >= end_offset || d.failures != failures_before)
            .await
            .map(|d| *d);
        match result {
            Ok(d) if d.synced >= end_offset => Ok(()),
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
}
