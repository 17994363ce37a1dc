//! Log compaction for `cleanup.policy=compact`: in the closed segments keep only the latest
//! record of each key (looking at the whole log, active segment included), and drop
//! tombstones once they are older than `delete.retention.ms`. Offsets never change. A
//! segment is rewritten to `<name>.cleaned`, synced, then renamed over the original, so a
//! crash leaves either the old or the new file whole.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions};

use super::segment::{sync_dir, Segment};
use super::topic_config::TopicConfig;
use crate::error::{Error, IoContext, Result};
use crate::record;

fn segment_records(seg: &Segment) -> Result<Vec<Record>> {
    if seg.size == 0 {
        return Ok(Vec::new());
    }
    let bytes = seg.read_at(0, seg.size as usize)?;
    record::decode_records(bytes)
}

/// Compacts the closed segments of one partition's segment map; returns records removed.
pub fn compact_segments(
    segments: &mut BTreeMap<i64, Segment>,
    cfg: &TopicConfig,
    now: i64,
) -> Result<usize> {
    if segments.len() < 2 {
        return Ok(0);
    }
    // Latest offset of every key across the whole log.
    let mut latest: HashMap<Bytes, i64> = HashMap::new();
    for seg in segments.values() {
        for r in segment_records(seg)? {
            if let Some(k) = r.key {
                latest.insert(k, r.offset);
            }
        }
    }
    let closed: Vec<i64> = segments.keys().copied().take(segments.len() - 1).collect();
    let mut removed_total = 0;
    for base in closed {
        let Some(seg) = segments.get(&base) else {
            continue;
        };
        if cfg.min_compaction_lag_ms > 0 && seg.max_timestamp > now - cfg.min_compaction_lag_ms {
            continue;
        }
        let tombstones_expire = seg.max_timestamp < now - cfg.delete_retention_ms;
        let records = segment_records(seg)?;
        let before = records.len();
        let kept: Vec<Record> = records
            .into_iter()
            .filter(|r| match &r.key {
                None => true,
                Some(k) => {
                    latest.get(k) == Some(&r.offset) && !(r.value.is_none() && tombstones_expire)
                }
            })
            .collect();
        if kept.len() == before {
            continue;
        }
        removed_total += before - kept.len();
        let path = seg.path.clone();
        let cleaned = path.with_extension("log.cleaned");
        let mut data = BytesMut::new();
        if !kept.is_empty() {
            let options = RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            };
            RecordBatchEncoder::encode(&mut data, &kept, &options)
                .map_err(|e| Error::Encode(e.to_string()))?;
        }
        {
            let mut f = std::fs::File::create(&cleaned)
                .ctx(|| format!("creating {}", cleaned.display()))?;
            f.write_all(&data)
                .ctx(|| format!("writing {}", cleaned.display()))?;
            f.sync_all()
                .ctx(|| format!("syncing {}", cleaned.display()))?;
        }
        std::fs::rename(&cleaned, &path).ctx(|| format!("replacing {}", path.display()))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        let created = seg.created_ms;
        let (mut fresh, _) = Segment::open(&path, base, true, now)?;
        fresh.created_ms = created;
        if fresh.size == 0 {
            fresh.remove_files()?;
            segments.remove(&base);
        } else {
            segments.insert(base, fresh);
        }
    }
    Ok(removed_total)
}
