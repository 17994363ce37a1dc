//! Raw Kafka frames for tests that talk to a server (or play one) byte by byte: the one
//! builder every integration test uses instead of writing header fields by hand. Requests
//! get the header version kafka-protocol gives their API and version (flexible or not), so
//! a test only picks what it is testing: the key, the version, the correlation id, the
//! client id and the body (a kafka-protocol message, or hand-made bytes to attack the
//! decoder). Built on the wire crate's header and frame functions, like the server.

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};

/// The correlation id [`encode`] uses.
pub(crate) const CORRELATION_ID: i32 = 7;
/// The client id [`encode`] uses.
pub(crate) const CLIENT_ID: &str = "raw-test";

/// One whole request frame (length prefix, header, body) around hand-made `body` bytes.
/// The header version is kafka-protocol's for `api_key`/`version`; an API key it does not
/// know (to test the server's refusal) gets the classic v1 header.
pub(crate) fn request(
    api_key: i16,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let header_version = ApiKey::try_from(api_key)
        .map(|k| k.request_header_version(version))
        .unwrap_or(1);
    let mut header = RequestHeader::default();
    header.request_api_key = api_key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = client_id.map(|c| StrBytes::from_string(c.to_string()));
    let mut out = bytes::BytesMut::new();
    header
        .encode(&mut out, header_version)
        .expect("encode request header");
    out.extend_from_slice(body);
    wire::frame::frame(&out)
}

/// One whole request frame for a kafka-protocol message at `version` (its API key from the
/// message type), with [`CORRELATION_ID`] and [`CLIENT_ID`].
pub(crate) fn encode<T: Request + Encodable>(msg: &T, version: i16) -> Vec<u8> {
    let api = ApiKey::try_from(T::KEY).expect("a known API key");
    encode_with(api, version, CORRELATION_ID, Some(CLIENT_ID), msg)
}

/// One whole request frame for a kafka-protocol message, with the caller's correlation id
/// and client id.
pub(crate) fn encode_with<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    msg: &T,
) -> Vec<u8> {
    wire::header::request(api, version, correlation_id, client_id, msg)
        .expect("encode request")
        .to_vec()
}

/// One whole response frame with a v0 header (just the correlation id) around hand-made
/// `body` bytes, for a test that plays a broker answering badly.
pub(crate) fn response(correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = correlation_id.to_be_bytes().to_vec();
    out.extend_from_slice(body);
    wire::frame::frame(&out)
}

/// Rewrites the length prefix of `frame` after the test edited the bytes behind it.
pub(crate) fn refix_len(frame: &mut [u8]) {
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_be_bytes());
}

/// A Fetch v4 of `topic` partition 0 from `offset`, waiting up to `max_wait_ms`.
pub(crate) fn fetch_request(topic: &'static str, offset: i64, max_wait_ms: i32) -> Vec<u8> {
    fetch_request_with(topic, offset, max_wait_ms, CORRELATION_ID)
}

/// [`fetch_request`] with the caller's correlation id.
pub(crate) fn fetch_request_with(
    topic: &'static str,
    offset: i64,
    max_wait_ms: i32,
    correlation_id: i32,
) -> Vec<u8> {
    let mut fetch = FetchRequest::default();
    fetch.replica_id = BrokerId(-1);
    fetch.max_wait_ms = max_wait_ms;
    fetch.min_bytes = 1;
    fetch.max_bytes = 1 << 20;
    let mut ft = FetchTopic::default();
    ft.topic = TopicName(StrBytes::from_static_str(topic));
    let mut fp = FetchPartition::default();
    fp.partition = 0;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = 1 << 20;
    ft.partitions = vec![fp];
    fetch.topics = vec![ft];
    encode_with(ApiKey::Fetch, 4, correlation_id, Some(CLIENT_ID), &fetch)
}

/// One Fetch v12 (flexible) of partition 0 of each of `topics`, in order (a name may
/// repeat), from offset 0, answered at once.
pub(crate) fn fetch_request_topics(topics: &[&'static str]) -> Vec<u8> {
    let mut fetch = FetchRequest::default();
    fetch.replica_id = BrokerId(-1);
    fetch.max_bytes = 1 << 20;
    for topic in topics {
        let mut ft = FetchTopic::default();
        ft.topic = TopicName(StrBytes::from_static_str(topic));
        let mut fp = FetchPartition::default();
        fp.partition_max_bytes = 1 << 20;
        ft.partitions = vec![fp];
        fetch.topics.push(ft);
    }
    encode_with(ApiKey::Fetch, 12, CORRELATION_ID, Some(CLIENT_ID), &fetch)
}

/// Reads the answer to a [`fetch_request_topics`]: (topic, error code, bytes of records)
/// of every partition, in the answer's order.
pub(crate) fn fetch_answers_v12(c: &mut impl std::io::Read) -> Vec<(String, i16, usize)> {
    let body = super::read_frame(c).expect("fetch answered");
    let (_, resp): (_, FetchResponse) =
        wire::header::decode_response(bytes::Bytes::from(body), ApiKey::Fetch, 12)
            .expect("fetch response");
    resp.responses
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    t.topic.0.to_string(),
                    p.error_code,
                    p.records.as_ref().map_or(0, |r| r.len()),
                )
            })
        })
        .collect()
}

/// Reads the answer to a [`fetch_request`]: (error code, bytes of records) of its one partition.
pub(crate) fn fetch_answer(c: &mut impl std::io::Read) -> (i16, usize) {
    let (_, code, bytes) = fetch_answer_with(c);
    (code, bytes)
}

/// [`fetch_answer`] with the answer's correlation id first.
pub(crate) fn fetch_answer_with(c: &mut impl std::io::Read) -> (i32, i16, usize) {
    let body = super::read_frame(c).expect("fetch answered");
    let correlation_id = i32::from_be_bytes(body[..4].try_into().expect("a correlation id"));
    let (_, resp): (_, FetchResponse) =
        wire::header::decode_response(bytes::Bytes::from(body), ApiKey::Fetch, 4)
            .expect("fetch response");
    let p = &resp.responses[0].partitions[0];
    (
        correlation_id,
        p.error_code,
        p.records.as_ref().map_or(0, |r| r.len()),
    )
}
