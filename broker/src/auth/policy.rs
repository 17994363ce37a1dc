//! The record policy hook: a host's [`RecordPolicy`] sees the decoded records of each
//! partition's produce, with the principal, before anything is written, and accepts them,
//! rejects them with a Kafka error and message, or replaces them (to stamp ids). Replaced
//! records are re-encoded here, keeping the producer id, epoch and sequences of the
//! original batches so idempotent producers still line up.
//!
//! [`PolicyRecord`] is this layer's own record type: key, value and headers as `Bytes`
//! (moved out of the decoded `kafka_protocol::records::Record`, not copied) and the
//! timestamp, without the batch fields (offsets, producer id, sequences) that the broker
//! keeps in [`Shape`] and restores itself. A host thus sees exactly what it may decide
//! on or replace, cannot break idempotence by editing batch fields, and does not depend
//! on kafka-protocol's types.

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
/// The Kafka error code a [`Verdict::Reject`] answers with (re-exported for hosts).
pub use wire::ErrorCode;

use super::Principal;
use crate::error::{Error, Result};
use crate::record::{self, BatchHeader};

/// One record as the policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value (None for a tombstone).
    pub value: Option<Bytes>,
    /// Headers in order; names are UTF-8 (lossily decoded), values raw.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The producer's timestamp (ms).
    pub timestamp: i64,
}

impl PolicyRecord {
    /// The first header called `name`, as UTF-8 when it is.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
            .and_then(|v| std::str::from_utf8(v).ok())
    }
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Write the records as sent.
    Accept,
    /// Write nothing; answer this code (44 or 87) and message.
    Reject {
        /// The Kafka error code.
        code: ErrorCode,
        /// Shown to clients speaking Produce v8+.
        message: String,
    },
    /// Write these records instead. With an idempotent producer the count must not change.
    Replace(Vec<PolicyRecord>),
}

/// A host's check of produced records.
pub trait RecordPolicy: Send + Sync {
    /// Decides on the records a `principal` produces to `topic`/`partition`.
    fn check(
        &self,
        principal: &Principal,
        topic: &str,
        partition: i32,
        records: &[PolicyRecord],
    ) -> Verdict;

    /// Whether records of `topic` need the policy at all; for other topics the broker
    /// neither decodes records nor serialises appends.
    fn applies_to(&self, _topic: &str) -> bool {
        true
    }

    /// A cheap check before anything is decompressed or locked: `Some(Reject)` refuses
    /// every record `principal` could send to `topic` (e.g. anonymous clients on a topic
    /// that needs a logged-in author), so a refused client costs no decompression.
    fn admits(&self, _principal: &Principal, _topic: &str) -> Option<Verdict> {
        None
    }

    /// Called after an accepted batch was appended, with the records as written and the
    /// offset of the first, so a host can fold them into the state its checks rely on.
    /// Check, append and this call happen under one lock, in log order.
    fn appended(
        &self,
        _topic: &str,
        _partition: i32,
        _base_offset: i64,
        _records: &[PolicyRecord],
    ) {
    }

    /// Topics that accepted records of `topic` imply (a new board's topic, a new user's
    /// mailbox): the broker creates those that do not exist yet, with the host's per-name
    /// settings and `server` as their creator, before it acknowledges the produce. Called
    /// after [`RecordPolicy::appended`] with the same records.
    fn implied_topics(&self, _topic: &str, _records: &[PolicyRecord]) -> Vec<String> {
        Vec::new()
    }

    /// Called after [`RecordPolicy::appended`], outside nothing the host must hold, with
    /// who wrote the records and from where (the real client address, also for
    /// proxied connections), so the host can log what happened in its own terms.
    fn audit(
        &self,
        _principal: &Principal,
        _peer: std::net::SocketAddr,
        _topic: &str,
        _records: &[PolicyRecord],
    ) {
    }

    /// Asked when `user` has just proved their password: `Some(message)` refuses the login
    /// all the same (the host disabled the account), with a message the client shows.
    /// Not counted as a failed login.
    fn login_refusal(&self, _user: &str) -> Option<String> {
        None
    }

    /// Called once an account was created over the Kafka protocol (registration or the
    /// operator's `users add`), before the creation is answered, so the host can make
    /// what its own notion of a user needs (the BBS: a profile and private topics) and a
    /// client sees a complete user as soon as it hears "created". Failures are the
    /// host's to log; the account stays created.
    fn account_created<'a>(&'a self, _broker: &'a crate::Broker, _name: &'a str) -> HookFuture<'a> {
        Box::pin(async {})
    }

    /// Asked before an account is created over the Kafka protocol, after the local
    /// credential checks: `Err(message)` refuses the name as taken. Servers that share
    /// accounts through a cluster (front mode) claim the name there, so two of them
    /// registering one name at the same moment cannot both succeed.
    fn claim_account<'a>(&'a self, _name: &'a str) -> ClaimFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    /// Front mode (`bbs-server --kafka`): the host decides on and writes one partition's
    /// records itself, instead of the broker forwarding them to the cluster, so that
    /// several front servers apply one policy in one order (the BBS serialises its writes
    /// through the cluster). The future answers the offset of the first record written,
    /// or the code and message to refuse with. `None`: the host does not write in front
    /// mode, and the broker refuses records of topics the policy applies to. The host
    /// audits what it wrote itself (`peer` is the real client address).
    fn forward(
        &self,
        _principal: &Principal,
        _peer: std::net::SocketAddr,
        _topic: &str,
        _partition: i32,
        _records: Vec<PolicyRecord>,
    ) -> Option<ForwardFuture> {
        None
    }
}

/// What [`RecordPolicy::claim_account`] returns: `Err` with the refusal's message.
pub type ClaimFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::result::Result<(), String>> + Send + 'a>,
>;

/// What [`RecordPolicy::forward`] returns: the base offset written, or why not.
pub type ForwardFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = std::result::Result<i64, (ErrorCode, String)>> + Send>,
>;

/// What [`RecordPolicy::account_created`] returns: work the broker awaits.
pub type HookFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// One original batch's header and record count, kept to re-encode replacements alike.
pub type Shape = (BatchHeader, usize);

/// Most headers one record of a policy-checked topic may carry (BBS records use a few).
pub const MAX_HEADERS: usize = 32;
/// Longest header key of a policy-checked record, in bytes.
pub const MAX_HEADER_KEY_BYTES: usize = 256;
/// Longest header value of a policy-checked record, in bytes.
pub const MAX_HEADER_VALUE_BYTES: usize = 4096;

fn check_headers(r: &kafka_protocol::records::Record) -> Result<()> {
    let refuse = |message: String| Error::Refused {
        code: ErrorCode::INVALID_RECORD,
        message,
    };
    if r.headers.len() > MAX_HEADERS {
        return Err(refuse(format!(
            "a record has {} headers; at most {MAX_HEADERS} are allowed",
            r.headers.len()
        )));
    }
    for (k, v) in &r.headers {
        if k.len() > MAX_HEADER_KEY_BYTES {
            return Err(refuse(format!(
                "header key of {} bytes; at most {MAX_HEADER_KEY_BYTES} are allowed",
                k.len()
            )));
        }
        if v.as_ref().is_some_and(|v| v.len() > MAX_HEADER_VALUE_BYTES) {
            return Err(refuse(format!(
                "header {:?} has a value over {MAX_HEADER_VALUE_BYTES} bytes",
                k.as_str()
            )));
        }
    }
    Ok(())
}

/// Decodes a produce's record set (one or more v2 batches) for the policy, with each
/// batch's header and record count. Each batch's records are decompressed to at most
/// `limit` bytes (MESSAGE_TOO_LARGE past it), and header count and sizes are bounded
/// ([`MAX_HEADERS`], [`MAX_HEADER_KEY_BYTES`], [`MAX_HEADER_VALUE_BYTES`]).
pub fn decode(records: &[u8], limit: usize) -> Result<(Vec<PolicyRecord>, Vec<Shape>)> {
    let batches = record::split_batches(records)?;
    // Every batch is measured before any is kept, so the total stays within the limit
    // per batch and nothing is allocated for a request that will be refused.
    for (range, header) in &batches {
        record::bounded::check_batch(&records[range.clone()], header, limit)?;
    }
    let mut out = Vec::new();
    let mut shapes = Vec::new();
    for (range, header) in batches {
        if header.is_control() || header.is_transactional() {
            return Err(Error::CorruptBatch(
                "transactional batches are not supported".into(),
            ));
        }
        let recs = record::bounded::decode_records(Bytes::copy_from_slice(&records[range]), limit)?;
        for r in &recs {
            check_headers(r)?;
        }
        shapes.push((header, recs.len()));
        out.extend(recs.into_iter().map(|r| {
            PolicyRecord {
                key: r.key,
                value: r.value,
                headers: r
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                timestamp: r.timestamp,
            }
        }));
    }
    Ok((out, shapes))
}

/// Re-encodes replacement records. With the same count as the original, records are cut
/// into batches of the original sizes, each keeping its producer id, epoch and sequences;
/// otherwise (only allowed without idempotence) they become one batch. The producer
/// fields come from `shapes`, the request's own batch headers, which Produce has already
/// checked against the connection's identity (a producer id is only written by its owner),
/// so a re-stamped batch never carries a producer identity the client does not own.
pub fn encode(replacement: &[PolicyRecord], shapes: &[Shape]) -> Result<BytesMut> {
    let original: usize = shapes.iter().map(|(_, n)| n).sum();
    let idempotent = shapes.iter().any(|(h, _)| h.producer_id >= 0);
    let groups: Vec<(Option<&BatchHeader>, &[PolicyRecord])> = if replacement.len() == original {
        let mut at = 0;
        shapes
            .iter()
            .map(|(h, n)| {
                let g = (Some(h), &replacement[at..at + n]);
                at += n;
                g
            })
            .collect()
    } else if idempotent {
        return Err(Error::Refused {
            code: ErrorCode::POLICY_VIOLATION,
            message: format!(
                "policy replaced {original} records with {} in an idempotent produce",
                replacement.len()
            ),
        });
    } else {
        vec![(None, replacement)]
    };
    let mut out = BytesMut::new();
    for (header, recs) in groups {
        if recs.is_empty() {
            continue;
        }
        let (pid, epoch, seq) = header
            .map(|h| (h.producer_id, h.producer_epoch, h.base_sequence))
            .unwrap_or((-1, -1, -1));
        let records: Vec<Record> = recs
            .iter()
            .enumerate()
            .map(|(i, r)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: pid,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                // offset - sequence must stay constant or the encoder splits the batch.
                sequence: if seq >= 0 {
                    seq.wrapping_add(i as i32)
                } else {
                    i as i32
                },
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            kafka_protocol::protocol::StrBytes::from_string(k.clone()),
                            v.clone(),
                        )
                    })
                    .collect(),
            })
            .collect();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut out, &records, &options)
            .map_err(|e| Error::Encode(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: &str, author: &str) -> PolicyRecord {
        PolicyRecord {
            key: None,
            value: Some(Bytes::from(v.to_string())),
            headers: vec![("author".into(), Some(Bytes::from(author.to_string())))],
            timestamp: 1000,
        }
    }

    fn batch(recs: &[PolicyRecord], pid: i64, seq: i32) -> BytesMut {
        let shape = BatchHeader {
            base_offset: 0,
            size: 0,
            attributes: 0,
            last_offset_delta: 0,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: if pid >= 0 { 3 } else { -1 },
            base_sequence: seq,
            record_count: 0,
        };
        encode(recs, &[(shape, recs.len())]).expect("encode")
    }

    #[test]
    fn decode_then_replace_keeps_producer_fields() {
        let original = vec![rec("a", "alice"), rec("b", "alice")];
        let bytes = batch(&original, 42, 7);
        let (decoded, shapes) = decode(&bytes, 1 << 20).expect("decode");
        assert_eq!(decoded, original);
        assert_eq!(decoded[0].header("author"), Some("alice"));
        let mut stamped = decoded.clone();
        for (i, r) in stamped.iter_mut().enumerate() {
            r.headers
                .push(("id".into(), Some(Bytes::from(format!("{i}")))));
        }
        let out = encode(&stamped, &shapes).expect("re-encode");
        let (again, shapes2) = decode(&out, 1 << 20).expect("decode again");
        assert_eq!(again, stamped);
        let h = shapes2[0].0;
        assert_eq!(
            (
                h.producer_id,
                h.producer_epoch,
                h.base_sequence,
                h.last_offset_delta
            ),
            (42, 3, 7, 1)
        );
        // An idempotent batch may not change its record count.
        assert!(encode(&stamped[..1], &shapes).is_err());
    }

    #[test]
    fn non_idempotent_count_may_change() {
        let bytes = batch(&[rec("a", "x")], -1, -1);
        let (_, shapes) = decode(&bytes, 1 << 20).expect("decode");
        let out = encode(&[rec("a", "x"), rec("b", "x")], &shapes).expect("encode");
        assert_eq!(decode(&out, 1 << 20).expect("decode").0.len(), 2);
        assert!(decode(b"garbage that is not a batch", 1 << 20).is_err());
    }
}
