//! Idempotent-producer state of one partition: for each producer id, its epoch and the
//! sequence ranges of its last few batches, so a retried batch is recognised and answered
//! with its original offset instead of being written twice. Rebuilt from batch headers when
//! a partition is opened, so deduplication survives a restart.

use std::collections::{HashMap, VecDeque};
use wire::ErrorCode;

use crate::record::BatchHeader;

/// How many recent batches per producer are remembered (Kafka's max in-flight is 5).
const RECENT: usize = 5;

#[derive(Debug, Clone, Copy)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Default)]
struct Entry {
    epoch: i16,
    recent: VecDeque<BatchMeta>,
}

/// What to do with an incoming idempotent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Write it.
    Append,
    /// It was written before at this base offset: answer success, write nothing.
    Duplicate(i64),
    /// Kafka error code to return (out of order, duplicate too old, fenced epoch).
    Reject(ErrorCode),
}

/// Producer state for one partition.
#[derive(Debug, Default)]
pub struct ProducerState {
    producers: HashMap<i64, Entry>,
}

impl ProducerState {
    /// Checks a batch against what the producer wrote before.
    pub fn check(&self, h: &BatchHeader) -> Check {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return Check::Append;
        }
        let Some(entry) = self.producers.get(&h.producer_id) else {
            return Check::Append;
        };
        if h.producer_epoch < entry.epoch {
            return Check::Reject(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if h.producer_epoch > entry.epoch {
            return if h.base_sequence == 0 {
                Check::Append
            } else {
                Check::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        if let Some(dup) = entry
            .recent
            .iter()
            .find(|b| b.first_seq == h.base_sequence && b.last_seq == h.last_sequence())
        {
            return Check::Duplicate(dup.base_offset);
        }
        let Some(last) = entry.recent.back() else {
            return Check::Append;
        };
        let expected = if last.last_seq == i32::MAX {
            0
        } else {
            last.last_seq + 1
        };
        if h.base_sequence == expected {
            Check::Append
        } else if h.base_sequence < expected
            && entry
                .recent
                .front()
                .is_some_and(|f| h.base_sequence < f.first_seq)
        {
            Check::Reject(ErrorCode::DUPLICATE_SEQUENCE_NUMBER)
        } else {
            Check::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Records a batch that was written (or found in the log on recovery).
    pub fn record(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 || h.base_sequence < 0 {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_default();
        if h.producer_epoch != entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.recent.clear();
        }
        entry.recent.push_back(BatchMeta {
            first_seq: h.base_sequence,
            last_seq: h.last_sequence(),
            base_offset: h.base_offset,
        });
        while entry.recent.len() > RECENT {
            entry.recent.pop_front();
        }
    }

    /// Forgets everything (after the log was truncated below what we remember).
    pub fn clear(&mut self) {
        self.producers.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pid: i64, epoch: i16, seq: i32, n: i32, base: i64) -> BatchHeader {
        BatchHeader {
            base_offset: base,
            size: 61,
            attributes: 0,
            last_offset_delta: n - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: n,
        }
    }

    #[test]
    fn duplicates_are_recognised_and_gaps_rejected() {
        let mut s = ProducerState::default();
        assert_eq!(s.check(&h(7, 0, 0, 3, 0)), Check::Append);
        s.record(&h(7, 0, 0, 3, 0));
        assert_eq!(s.check(&h(7, 0, 0, 3, 99)), Check::Duplicate(0));
        assert_eq!(s.check(&h(7, 0, 3, 2, 3)), Check::Append);
        s.record(&h(7, 0, 3, 2, 3));
        assert_eq!(
            s.check(&h(7, 0, 9, 1, 5)),
            Check::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            s.check(&h(7, -1, 5, 1, 5)),
            Check::Reject(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(s.check(&h(7, 1, 0, 1, 5)), Check::Append);
        assert_eq!(s.check(&h(-1, -1, -1, 1, 5)), Check::Append);
    }

    #[test]
    fn old_duplicates_get_46() {
        let mut s = ProducerState::default();
        for i in 0..10 {
            s.record(&h(1, 0, i, 1, i64::from(i)));
        }
        assert_eq!(
            s.check(&h(1, 0, 2, 1, 0)),
            Check::Reject(ErrorCode::DUPLICATE_SEQUENCE_NUMBER)
        );
    }
}
