//! Raw Produce and InitProducerId requests with chosen producer fields, for the tests
//! that attack producer-id ownership (tests/security_producers.rs on a single server,
//! tests/front_bbs.rs through front servers). Every request goes to partition 0 of
//! [`TOPIC`].
#![allow(dead_code)]

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use client::conn::Connection;
use client::ClientConfig;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse,
    ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use wire::ErrorCode;

/// The topic the raw requests write.
pub(crate) const TOPIC: &str = "ledger";

/// A raw connection: SCRAM as `user`, or anonymous with `None`.
pub(crate) fn connect(addr: &str, user: Option<(&str, &str)>) -> Arc<Connection> {
    let mut cfg = ClientConfig::new(addr).client_id("security-producers");
    if let Some((u, p)) = user {
        cfg = cfg.sasl_scram(u, p);
    }
    Connection::open(addr, 0, &cfg).expect("connect")
}

/// One v2 batch of one record with the given producer fields.
pub(crate) fn batch(pid: i64, epoch: i16, seq: i32, value: &str) -> Bytes {
    let rec = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: pid,
        producer_epoch: epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: seq,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        headers: Default::default(),
    };
    let mut out = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut out, &[rec], &options).expect("encode batch");
    out.freeze()
}

/// Produces one batch to partition 0 of [`TOPIC`] (acks=all, v8) and returns the
/// partition's answer.
pub(crate) fn produce(
    c: &Connection,
    pid: i64,
    epoch: i16,
    seq: i32,
    value: &str,
) -> PartitionProduceResponse {
    let mut part = PartitionProduceData::default();
    part.index = 0;
    part.records = Some(batch(pid, epoch, seq, value));
    let mut topic = TopicProduceData::default();
    topic.name = TopicName(StrBytes::from_static_str(TOPIC));
    topic.partition_data = vec![part];
    let mut req = ProduceRequest::default();
    req.transactional_id = None;
    req.acks = -1;
    req.timeout_ms = 10_000;
    req.topic_data = vec![topic];
    let resp: ProduceResponse = c.call(ApiKey::Produce, 8, &req).expect("produce");
    resp.responses
        .into_iter()
        .next()
        .and_then(|t| t.partition_responses.into_iter().next())
        .expect("a partition response")
}

/// InitProducerId v4 asking to bump `pid`/`epoch` (KIP-360).
pub(crate) fn bump(c: &Connection, pid: i64, epoch: i16) -> InitProducerIdResponse {
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = None;
    req.transaction_timeout_ms = 60_000;
    req.producer_id = ProducerId(pid);
    req.producer_epoch = epoch;
    c.call(ApiKey::InitProducerId, 4, &req)
        .expect("init producer id")
}

/// Asserts the answer is INVALID_PRODUCER_ID_MAPPING with a message saying why.
pub(crate) fn assert_refused(r: &PartitionProduceResponse, what: &str, says: &str) {
    assert_eq!(
        r.error_code,
        ErrorCode::INVALID_PRODUCER_ID_MAPPING,
        "{what}: {r:?}"
    );
    assert_eq!(r.base_offset, -1, "{what}");
    let msg = r
        .error_message
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert!(msg.contains(says), "{what}: message {msg:?} lacks {says:?}");
}
