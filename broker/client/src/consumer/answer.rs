//! Reading a Fetch answer and applying it. The consumer reads the answer's bytes on its
//! poll thread (`wire::fetch`, which hands each partition over as a slice of the frame)
//! into two lists it keeps between answers: one entry per partition, and one list of all
//! the records, which then move straight into the partitions' buffers. In the steady
//! state (a fetch per answer of every consumer) that allocates nothing but the records'
//! own fields. An admin read gets the same answers as [`PartitionFetch`]es.

use wire::fetch;
use wire::ErrorCode;

use bytes::Bytes;

use super::fetcher::{Ask, FetchDone};
use super::{Consumer, TopicPartition};
use crate::error::{Error, Result};
use crate::records::{decode_batches, ConsumerRecord};

/// Unusable fetch answers in a row (for one partition, or whole responses) before `poll`
/// returns an error instead of retrying.
const UNUSABLE_LIMIT: u32 = 3;

/// One partition's answer; its records are in the list shared by the whole response,
/// after those of the answers before it.
#[derive(Debug)]
pub struct PartAnswer {
    /// Where the partition is in what was asked.
    pub asked: usize,
    /// Kafka error code for the partition.
    pub error: ErrorCode,
    /// High watermark.
    pub high_watermark: i64,
    /// How many records it added to the shared list.
    pub records: usize,
    /// Where to fetch next.
    pub next_offset: i64,
    /// A decode failure (corrupt batch), if any.
    pub decode_error: Option<String>,
    /// Why an answer without an error code cannot be used (the partition is missing from
    /// the response, or its bytes hold no whole batch), so the consumer can say so instead
    /// of fetching the same offset for ever.
    pub unusable: Option<String>,
}

/// One partition's part of a finished fetch, records included (for one-shot reads).
#[derive(Debug)]
pub struct PartitionFetch {
    /// Which partition.
    pub tp: TopicPartition,
    /// Its answer.
    pub answer: PartAnswer,
    /// Its records (`answer.records` of them).
    pub records: Vec<ConsumerRecord>,
}

impl FetchDone {
    /// The answer, one entry per partition asked for, or why the whole request failed.
    pub fn partitions(self) -> Result<Vec<PartitionFetch>> {
        let body = self.result?;
        let (mut answers, mut records) = (Vec::new(), Vec::new());
        read(
            &self.addr,
            self.version,
            &body,
            &self.asked,
            &mut answers,
            &mut records,
        )?;
        let mut records = records.into_iter();
        Ok(answers
            .into_iter()
            .map(|answer| PartitionFetch {
                tp: self.asked[answer.asked].0.clone(),
                records: records.by_ref().take(answer.records).collect(),
                answer,
            })
            .collect())
    }
}

/// Reads a Fetch response body into `answers` (one per partition asked for, in the
/// response's order, then the ones it left out) and `records`; both are cleared first.
pub fn read(
    addr: &str,
    version: i16,
    body: &Bytes,
    asked: &[Ask],
    answers: &mut Vec<PartAnswer>,
    records: &mut Vec<ConsumerRecord>,
) -> Result<()> {
    answers.clear();
    records.clear();
    let top = fetch::read_response(body, version, |p| {
        let Some(index) = asked
            .iter()
            .position(|(a, _)| a.partition == p.partition && a.topic == p.topic)
        else {
            return;
        };
        let requested = asked[index].1;
        let before = records.len();
        let mut next_offset = requested;
        let mut decode_error = None;
        let mut unusable = None;
        if p.error_code == 0 {
            if let Some(data) = p.records {
                let len = data.len();
                match decode_batches(p.topic, p.partition, data, requested, records) {
                    Ok(n) => next_offset = n.max(requested),
                    Err(e) => decode_error = Some(e.to_string()),
                }
                if len > 0 && next_offset == requested && decode_error.is_none() {
                    unusable = Some(format!(
                        "{len} bytes of records at offset {requested} hold no whole batch (a \
                         batch larger than the fetch size, or bad framing)"
                    ));
                }
            }
        }
        answers.push(PartAnswer {
            asked: index,
            error: p.error_code.into(),
            high_watermark: p.high_watermark,
            records: records.len() - before,
            next_offset,
            decode_error,
            unusable,
        });
    })
    .map_err(|e| Error::BadResponse {
        addr: addr.to_string(),
        reason: format!("Fetch v{version}: {e}"),
    })?;
    if top != 0 {
        return Err(Error::kafka(top, Some("fetch".into())));
    }
    for (index, (_, requested)) in asked.iter().enumerate() {
        if !answers.iter().any(|a| a.asked == index) {
            answers.push(PartAnswer {
                asked: index,
                error: ErrorCode::NONE,
                high_watermark: -1,
                records: 0,
                next_offset: *requested,
                decode_error: None,
                unusable: Some("the broker's fetch response left this partition out".into()),
            });
        }
    }
    Ok(())
}

impl Consumer {
    /// Applies one finished fetch: its records go to their partitions' buffers, errors
    /// reset positions or refresh the metadata, and its list of what was asked is kept for
    /// the next fetch to that leader.
    pub(super) fn apply_fetch(&mut self, done: FetchDone) -> Result<()> {
        let Some(at) = self.inflight_leaders.iter().position(|l| *l == done.leader) else {
            return Ok(()); // a duplicate failure report, or a wake-up
        };
        self.inflight_leaders.swap_remove(at);
        for (tp, _) in &done.asked {
            if let Some(p) = self.parts.get_mut(tp) {
                p.inflight = false;
            }
        }
        let FetchDone {
            leader,
            asked,
            version,
            addr,
            result,
        } = done;
        let mut answers = std::mem::take(&mut self.reuse.answers);
        let mut records = std::mem::take(&mut self.reuse.records);
        let read =
            result.and_then(|body| read(&addr, version, &body, &asked, &mut answers, &mut records));
        let applied = match read {
            Ok(()) => {
                self.bad_responses = 0;
                self.apply_answers(leader, &asked, &answers, &mut records)
            }
            Err(e) => self.fetch_failed(leader, e),
        };
        answers.clear();
        records.clear();
        self.reuse.answers = answers;
        self.reuse.records = records;
        self.reuse.give_back(leader, asked);
        applied
    }

    /// A fetch that brought no usable answer at all.
    fn fetch_failed(&mut self, leader: i32, e: Error) -> Result<()> {
        if let Error::BadResponse { .. } = e {
            // Not a lost connection: the broker answers, and we cannot read it. Say so,
            // and give up after a few in a row rather than fetch nothing for ever.
            self.bad_responses += 1;
            tracing::warn!(leader, error = %e, "unusable fetch response");
            if self.bad_responses >= UNUSABLE_LIMIT {
                return Err(e);
            }
        } else {
            tracing::debug!(leader, error = %e, "fetch failed");
        }
        self.cluster.invalidate();
        Ok(())
    }

    /// Applies each partition's answer; `records` holds their records in order.
    fn apply_answers(
        &mut self,
        leader: i32,
        asked: &[Ask],
        answers: &[PartAnswer],
        records: &mut Vec<ConsumerRecord>,
    ) -> Result<()> {
        let mut records = records.drain(..);
        let mut out_of_range = Vec::new();
        for a in answers {
            let batch = records.by_ref().take(a.records);
            let (tp, requested) = &asked[a.asked];
            let Some(p) = self.parts.get_mut(tp) else {
                batch.for_each(drop); // no longer ours
                continue;
            };
            if p.fetch_offset != *requested || p.position.is_none() {
                batch.for_each(drop); // made stale by a seek or reset
                continue;
            }
            match a.error {
                ErrorCode::NONE if a.unusable.is_some() => {
                    batch.for_each(drop);
                    p.unusable += 1;
                    let reason = a.unusable.as_deref().unwrap_or_default();
                    if p.unusable == 1 {
                        tracing::warn!(%tp, leader, %reason, "unusable fetch answer");
                    }
                    if p.unusable >= UNUSABLE_LIMIT {
                        return Err(Error::BadResponse {
                            addr: format!("node {leader}"),
                            reason: format!("fetch of {tp}: {reason}"),
                        });
                    }
                }
                ErrorCode::NONE => {
                    p.high_watermark = a.high_watermark;
                    p.unusable = 0;
                    if let Some(e) = &a.decode_error {
                        return Err(Error::CorruptBatch(format!("{tp}: {e}")));
                    }
                    p.fetch_offset = a.next_offset;
                    p.buffer.extend(batch);
                }
                ErrorCode::OFFSET_OUT_OF_RANGE => {
                    batch.for_each(drop);
                    out_of_range.push(tp.clone());
                }
                code => {
                    batch.for_each(drop);
                    if code.is_stale_metadata() {
                        self.cluster.invalidate();
                    } else {
                        tracing::warn!(%tp, code = code.code(), "fetch error");
                    }
                }
            }
        }
        drop(records);
        if !out_of_range.is_empty() {
            tracing::info!(?out_of_range, "offset out of range: resetting");
            self.reset_positions(&out_of_range)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
