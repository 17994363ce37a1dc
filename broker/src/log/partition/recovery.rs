//! Opening a partition after a restart or crash: its segments are listed, the last one is
//! fully re-checked and a torn tail cut (see [`crate::log::segment`]), producer state is
//! rebuilt from the batch headers, and the log start is restored; plus [`Partition::verify`],
//! a CRC scan of the open partition. (The read-only check of a stopped data directory is
//! [`crate::log::check`].)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::log::tail::{TailBudget, TailCache};

use super::{log_start, Durable, Partition, State};
use crate::error::{IoContext, Result};
use crate::log::producers::ProducerState;
use crate::log::segment::{self, Segment};
use crate::now_ms;
use crate::record::{self, BatchHeader};

impl Partition {
    /// Opens (recovering) or creates the partition in `dir`, its tail cache drawing on
    /// `budget`. Returns what was repaired.
    pub fn open(
        dir: &Path,
        topic: &str,
        index: i32,
        budget: Arc<TailBudget>,
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
            synced: next_offset,
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
                    tail: TailCache::new(budget),
                    cleaned_upto: 0,
                }),
                hw: AtomicI64::new(next_offset),
                durable,
                synced: AtomicI64::new(next_offset),
                arrived: Notify::new(),
            },
            repairs,
        ))
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
