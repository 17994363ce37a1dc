//! The broker's Fetch codec against kafka-protocol's: responses byte for byte, requests
//! read as the generated decoder reads them, cut or random bytes an error, never a panic.

use super::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable};
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
        .prop_map(
            |(topic, partition, error_code, hw, start, records)| ServedPartition {
                topic,
                partition,
                error_code,
                high_watermark: hw,
                last_stable_offset: hw.wrapping_sub(1),
                log_start_offset: start,
                records: records.map(Bytes::from),
            },
        )
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

/// What the broker reads from a request the generated codec decoded.
fn projected(req: &FetchRequest) -> FetchAsk {
    let mut ask = FetchAsk {
        max_wait_ms: req.max_wait_ms,
        min_bytes: req.min_bytes,
        max_bytes: req.max_bytes,
        isolation_level: req.isolation_level,
        topics: Vec::new(),
        partitions: Vec::new(),
    };
    for (topic, t) in req.topics.iter().enumerate() {
        ask.topics.push(t.topic.0.clone());
        for p in &t.partitions {
            ask.partitions.push(PartitionAsk {
                topic,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes,
            });
        }
    }
    ask
}

fn request() -> impl Strategy<Value = FetchRequest> {
    let part = (
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
    );
    let topic = ("[a-z.é]{0,12}", proptest::collection::vec(part, 0..4));
    let forgotten = ("[a-z]{0,8}", proptest::collection::vec(any::<i32>(), 0..3));
    (
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            0i8..2,
            any::<i32>(),
            any::<i32>(),
        ),
        proptest::collection::vec(topic, 0..4),
        proptest::collection::vec(forgotten, 0..3),
        "[a-z]{0,6}",
    )
        .prop_map(
            |((wait, min, max, iso, session, epoch), topics, forgotten, rack)| {
                let mut req = FetchRequest::default();
                req.max_wait_ms = wait;
                req.min_bytes = min;
                req.max_bytes = max;
                req.isolation_level = iso;
                req.session_id = session;
                req.session_epoch = epoch;
                for (name, parts) in topics {
                    let mut t = FetchTopic::default();
                    t.topic = TopicName(StrBytes::from_string(name));
                    for (partition, leader_epoch, offset, last_epoch, start, max) in parts {
                        let mut p = FetchPartition::default();
                        p.partition = partition;
                        p.current_leader_epoch = leader_epoch;
                        p.fetch_offset = offset;
                        p.last_fetched_epoch = last_epoch;
                        p.log_start_offset = start;
                        p.partition_max_bytes = max;
                        t.partitions.push(p);
                    }
                    req.topics.push(t);
                }
                for (name, partitions) in forgotten {
                    let mut f = ForgottenTopic::default();
                    f.topic = TopicName(StrBytes::from_string(name));
                    f.partitions = partitions;
                    req.forgotten_topics_data.push(f);
                }
                req.rack_id = StrBytes::from_string(rack);
                req
            },
        )
}

proptest! {
    #[test]
    fn requests_read_as_the_generated_decoder_reads_them(
        version in MIN_VERSION..=MAX_VERSION,
        mut req in request(),
    ) {
        if version < 7 {
            req.session_id = 0;
            req.session_epoch = -1;
            req.forgotten_topics_data.clear();
        }
        if version < 11 {
            req.rack_id = StrBytes::default();
        }
        if version >= 12 {
            // A tagged field the reader steps over.
            req.cluster_id = Some(StrBytes::from_static_str("cluster"));
        }
        // Fields a version does not have keep their defaults.
        for p in req.topics.iter_mut().flat_map(|t| t.partitions.iter_mut()) {
            if version < 5 {
                p.log_start_offset = -1;
            }
            if version < 9 {
                p.current_leader_epoch = -1;
            }
            if version < 12 {
                p.last_fetched_epoch = -1;
            }
        }
        let mut body = BytesMut::new();
        req.encode(&mut body, version).expect("encodes");
        let body = body.freeze();
        let theirs = FetchRequest::decode(&mut body.clone(), version).expect("decodes");
        prop_assert_eq!(read_request(&body, version).expect("reads"), projected(&theirs));
        // Cut anywhere, it is an error, never a panic.
        for cut in 0..body.len() {
            prop_assert!(read_request(&body.slice(..cut), version).is_err());
        }
    }

    #[test]
    fn any_bytes_are_a_request_or_an_error(
        version in MIN_VERSION..=MAX_VERSION,
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let body = Bytes::from(bytes);
        if let (Ok(ours), Ok(theirs)) = (
            read_request(&body, version),
            FetchRequest::decode(&mut body.clone(), version),
        ) {
            prop_assert_eq!(ours, projected(&theirs));
        }
    }
}

#[test]
fn versions_outside_the_range_are_refused() {
    assert!(read_request(&Bytes::new(), 13).is_err());
    assert!(encode_response(1, 13, &[], |_| "t").is_err());
    assert!(encode_response(1, 3, &[], |_| "t").is_err());
}
