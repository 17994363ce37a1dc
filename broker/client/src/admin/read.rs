//! Reading records at chosen offsets without a consumer: one Fetch per leader, on the
//! cluster's shared connections, answered at once (no waiting for data). This is how a
//! reader takes one record of a compacted view by its offset (a page of a board's index,
//! the record of a post id) or reads a small topic to its end, without joining a group
//! or opening a consumer's own connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::time::Duration;

use super::Admin;
use crate::consumer::answer::PartitionFetch;
use crate::consumer::fetcher::{send_fetch, FetchConfig};
use crate::consumer::TopicPartition;
use crate::error::{Error, Result};
use crate::records::ConsumerRecord;

/// What one partition's read brought.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Records at or after the asked offset (whole batches: a few may precede it in a
    /// compacted topic's batch and are already dropped).
    pub records: Vec<ConsumerRecord>,
    /// Where the next read should start.
    pub next_offset: i64,
    /// The partition's high watermark (-1 when the broker did not say).
    pub high_watermark: i64,
}

/// Fetch sizes of a one-shot read: no wait, `max_bytes` per partition.
fn one_shot(max_bytes: i32) -> FetchConfig {
    FetchConfig {
        max_wait_ms: 0,
        min_bytes: 0,
        max_bytes: max_bytes.saturating_mul(16).max(max_bytes),
        partition_max_bytes: max_bytes,
    }
}

impl Admin {
    /// Reads what each partition holds from its offset on, up to about `max_bytes` per
    /// partition (at least one whole batch), in one Fetch per leader. A partition whose
    /// leader is unknown, or that answers with an error, fails the call.
    pub fn read_at(
        &self,
        parts: &[(TopicPartition, i64)],
        max_bytes: i32,
    ) -> Result<HashMap<TopicPartition, ReadOutcome>> {
        let mut out = HashMap::new();
        if parts.is_empty() {
            return Ok(out);
        }
        self.cluster
            .want_topics(parts.iter().map(|(tp, _)| tp.topic.as_str()));
        self.cluster.maybe_refresh()?;
        let view = self.cluster.view();
        let mut by_leader: BTreeMap<i32, Vec<(TopicPartition, i64)>> = BTreeMap::new();
        for (tp, offset) in parts {
            let leader = view.leader(&tp.topic, tp.partition).ok_or_else(|| {
                self.cluster.invalidate();
                Error::InvalidState(format!("no leader known for {tp}"))
            })?;
            by_leader
                .entry(leader)
                .or_default()
                .push((tp.clone(), *offset));
        }
        let config = one_shot(max_bytes);
        let (tx, rx) = mpsc::channel();
        let leaders = by_leader.len();
        for (leader, asked) in by_leader {
            let conn = self.cluster.conn(leader)?;
            send_fetch(&conn, leader, asked, &config, tx.clone());
        }
        let wait = self.cluster.config.request_timeout + Duration::from_secs(1);
        for _ in 0..leaders {
            let done = rx
                .recv_timeout(wait)
                .map_err(|_| Error::Timeout("reading records".into()))?;
            for p in done.partitions()? {
                out.insert(p.tp.clone(), outcome(p)?);
            }
        }
        Ok(out)
    }

    /// Every record of `tp` from `from` to the high watermark seen when the read began
    /// (for small topics: a compacted view's current state).
    pub fn read_to_end(&self, tp: &TopicPartition, from: i64) -> Result<Vec<ConsumerRecord>> {
        let mut records = Vec::new();
        let mut at = from;
        let mut end = None;
        loop {
            let mut got = self.read_at(&[(tp.clone(), at)], 1 << 20)?;
            let r = got.remove(tp).unwrap_or_default();
            let end = *end.get_or_insert(r.high_watermark);
            records.extend(r.records.into_iter().filter(|c| c.offset < end));
            if r.next_offset <= at || r.next_offset >= end {
                return Ok(records);
            }
            at = r.next_offset;
        }
    }
}

/// One partition's answer, or why it cannot be used.
fn outcome(p: PartitionFetch) -> Result<ReadOutcome> {
    let a = p.answer;
    if a.error.is_err() {
        return Err(Error::kafka(a.error, Some(p.tp.to_string())));
    }
    if let Some(why) = a.decode_error.or(a.unusable) {
        return Err(Error::InvalidState(format!("{}: {why}", p.tp)));
    }
    Ok(ReadOutcome {
        records: p.records,
        next_offset: a.next_offset,
        high_watermark: a.high_watermark,
    })
}
