//! What moves a partition's start: DeleteRecords, whose durable log start offset is kept
//! in the partition directory's `log-start-offset` file (written to a temporary file,
//! synced, renamed), read back at open so deleted records stay deleted across restarts,
//! and enforced by [`Partition::read`]; retention, which drops old segments; and
//! compaction of closed segments (see [`crate::log::compact`]).

use std::io::Write;
use std::path::Path;
use wire::ErrorCode;

use super::{storage_error, Partition, Rejected};
use crate::error::{IoContext, Result};
use crate::log::segment::sync_dir;
use crate::log::topic_config::TopicConfig;

/// The file holding the offset.
const FILE: &str = "log-start-offset";

/// The stored log start offset of the partition in `dir` (0 when none or unreadable).
pub(super) fn stored(dir: &Path) -> i64 {
    std::fs::read_to_string(dir.join(FILE))
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .filter(|v| *v >= 0)
        .unwrap_or(0)
}

fn store(dir: &Path, offset: i64) -> Result<()> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
    f.write_all(offset.to_string().as_bytes())
        .ctx(|| format!("writing {}", tmp.display()))?;
    f.sync_all().ctx(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(FILE)).ctx(|| format!("renaming {}", tmp.display()))?;
    sync_dir(dir)
}

impl Partition {
    /// DeleteRecords: makes every record below `offset` (-1: the high watermark)
    /// unreadable, durably, and removes the segments wholly below it. Returns the new
    /// log start offset (the low watermark).
    pub fn delete_records_before(&self, offset: i64) -> std::result::Result<i64, Rejected> {
        let hw = self.high_watermark();
        let target = if offset == -1 { hw } else { offset };
        let mut st = self.lock();
        if target < 0 || target > hw {
            return Err(Rejected {
                code: ErrorCode::OFFSET_OUT_OF_RANGE,
                message: format!(
                    "offset {offset} is outside [{}, {hw}] of {}-{}",
                    st.log_start, self.topic, self.index
                ),
            });
        }
        if target <= st.log_start {
            return Ok(st.log_start);
        }
        store(&self.dir, target).map_err(storage_error)?;
        st.log_start = target;
        st.tail.clear();
        let bases: Vec<i64> = st.segments.keys().copied().collect();
        for pair in bases.windows(2) {
            if pair[1] > target {
                break;
            }
            if let Some(seg) = st.segments.remove(&pair[0]) {
                seg.remove_files().map_err(storage_error)?;
            }
        }
        tracing::info!(topic = %self.topic, partition = self.index, log_start = target, "deleted records");
        Ok(target)
    }
}

impl Partition {
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
        if !doomed.is_empty() {
            st.tail.clear();
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

    /// Whether enough was appended since the last compaction to make another worth it: at
    /// least half of the log (Kafka's `min.cleanable.dirty.ratio` default). A pass reads
    /// the whole log, so running it only then keeps its cost proportional to what is
    /// appended, not to the log's size on every maintenance tick.
    pub fn compaction_due(&self) -> bool {
        let st = self.lock();
        let size = st.next_offset - st.log_start;
        size > 0 && (st.next_offset - st.cleaned_upto) * 2 >= size
    }

    /// Compacts the closed segments (see [`super::compact`]). Returns records removed.
    pub fn compact(&self, cfg: &TopicConfig, now: i64) -> Result<usize> {
        let mut st = self.lock();
        st.cleaned_upto = st.next_offset;
        // The disk is the truth: whatever compaction rewrites, the copy goes.
        st.tail.clear();
        let removed = crate::log::compact::compact_segments(&mut st.segments, cfg, now)?;
        if let Some(first) = st.segments.values().next() {
            st.log_start = st.log_start.max(first.base);
        }
        Ok(removed)
    }
}
