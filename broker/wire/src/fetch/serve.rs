//! The broker's side of the Fetch: its response written by hand, for the same versions
//! (4 to 12). A held fetch is answered once per record for every consumer waiting on a
//! partition, and the generated codec's response (a tree of `Vec`s and tagged-field maps,
//! sized in one pass and written in a second) was a sixth of the broker's work per answer.
//! Same bytes as kafka-protocol's encoding of the response the broker used to build
//! (tests compare them): no throttle, no session, no aborted transactions, no preferred
//! replica, no tagged fields.

use bytes::{Bytes, BytesMut};

use super::{Staged, FLEXIBLE, MAX_VERSION, MIN_VERSION};
use crate::{Error, Result};

/// One partition of a Fetch response, as the broker answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedPartition {
    /// Which of the request's topics it belongs to (partitions of one topic follow each
    /// other; each run becomes one topic entry).
    pub topic: usize,
    /// Partition index.
    pub partition: i32,
    /// Kafka error code.
    pub error_code: i16,
    /// High watermark (-1 when unknown).
    pub high_watermark: i64,
    /// Last stable offset (-1 when unknown).
    pub last_stable_offset: i64,
    /// Log start offset (-1 when unknown; sent from v5).
    pub log_start_offset: i64,
    /// The record batches, `None` for null.
    pub records: Option<Bytes>,
}

/// The whole response frame (length prefix, header, body) at `version`; `name` gives the
/// name of the request's topic at an index.
pub fn encode_response<'n>(
    correlation_id: i32,
    version: i16,
    parts: &[ServedPartition],
    name: impl Fn(usize) -> &'n str,
) -> Result<Bytes> {
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Encode(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let records: usize = parts
        .iter()
        .map(|p| p.records.as_ref().map_or(0, Bytes::len))
        .sum();
    let mut out = BytesMut::with_capacity(64 + parts.len() * 64 + records);
    let topics = parts.chunk_by(|a, b| a.topic == b.topic);
    let mut w = Staged::new(&mut out);
    w.i32(0); // the length, filled in at the end
    w.i32(correlation_id);
    if flexible {
        w.u8(0); // response header v1: no tagged fields
    }
    w.i32(0); // throttle time
    if version >= 7 {
        w.i16(0); // error code
        w.i32(0); // session id: none
    }
    w.len(topics.clone().count(), flexible)?;
    for run in topics {
        w.string(name(run[0].topic), flexible)?;
        w.len(run.len(), flexible)?;
        for p in run {
            w.i32(p.partition);
            w.i16(p.error_code);
            w.i64(p.high_watermark);
            w.i64(p.last_stable_offset);
            if version >= 5 {
                w.i64(p.log_start_offset);
            }
            w.len(0, flexible)?; // aborted transactions: none
            if version >= 11 {
                w.i32(-1); // preferred read replica: none
            }
            match &p.records {
                Some(data) => {
                    w.len(data.len(), flexible)?;
                    w.put(data);
                }
                None if flexible => w.u8(0),
                None => w.i32(-1),
            }
            if flexible {
                w.u8(0);
            }
        }
        if flexible {
            w.u8(0);
        }
    }
    if flexible {
        w.u8(0);
    }
    w.flush();
    let len = u32::try_from(out.len() - 4)
        .map_err(|_| Error::Encode("Fetch response over 4 GiB".into()))?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::{ApiKey, FetchResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;
    use proptest::prelude::*;

    /// The response the broker built before, through kafka-protocol's codec.
    fn generated(id: i32, version: i16, parts: &[ServedPartition], names: &[String]) -> Bytes {
        let mut resp = FetchResponse::default();
        for run in parts.chunk_by(|a, b| a.topic == b.topic) {
            let mut t = FetchableTopicResponse::default();
            t.topic = TopicName(StrBytes::from_string(names[run[0].topic].clone()));
            for p in run {
                let mut pd = PartitionData::default();
                pd.partition_index = p.partition;
                pd.error_code = p.error_code;
                pd.high_watermark = p.high_watermark;
                pd.last_stable_offset = p.last_stable_offset;
                pd.log_start_offset = p.log_start_offset;
                pd.records = p.records.clone();
                t.partitions.push(pd);
            }
            resp.responses.push(t);
        }
        crate::header::response(id, ApiKey::Fetch, version, &resp).expect("encodes")
    }

    fn part(topics: usize) -> impl Strategy<Value = ServedPartition> {
        let records = proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 250..600),
        ]);
        (
            0..topics,
            any::<i32>(),
            any::<i16>(),
            any::<i64>(),
            any::<i64>(),
            records,
        )
            .prop_map(|(topic, partition, error_code, hw, start, records)| {
                ServedPartition {
                    topic,
                    partition,
                    error_code,
                    high_watermark: hw,
                    last_stable_offset: hw.wrapping_sub(1),
                    log_start_offset: start,
                    records: records.map(Bytes::from),
                }
            })
    }

    proptest! {
        #[test]
        fn responses_are_byte_for_byte_kafka_protocols(
            version in MIN_VERSION..=MAX_VERSION,
            id in any::<i32>(),
            names in proptest::collection::vec("[a-z.é]{0,12}|[a-z]{250,300}", 3),
            mut parts in proptest::collection::vec(part(3), 0..8),
        ) {
            parts.sort_by_key(|p| p.topic);
            let ours = encode_response(id, version, &parts, |i| names[i].as_str())
                .expect("encodes");
            prop_assert_eq!(&ours[..], &generated(id, version, &parts, &names)[..]);
            // And our own reader gives the partitions back.
            let mut body = ours.slice(4..);
            crate::header::skip_response_header(&mut body, ApiKey::Fetch, version)
                .expect("header");
            let mut seen = Vec::new();
            super::super::read_response(&body, version, |p| {
                seen.push((p.partition, p.error_code, p.records));
            })
            .expect("reads");
            let want: Vec<_> =
                parts.iter().map(|p| (p.partition, p.error_code, p.records.clone())).collect();
            prop_assert_eq!(seen, want);
        }
    }

    #[test]
    fn versions_outside_the_range_are_refused() {
        assert!(encode_response(1, 13, &[], |_| "t").is_err());
        assert!(encode_response(1, 3, &[], |_| "t").is_err());
    }
}
