//! Every handler fed real request bodies, whole and damaged. For each API the broker
//! advertises in ApiVersions and each version it advertises, a valid body (kafka-protocol's
//! default message, encoded at that version) must get a well-formed answer of that API and
//! version (or no answer for acks=0, or an error that closes the connection); the same
//! bodies truncated, with bytes flipped, with a length field turned huge or with garbage
//! appended must never panic.
use super::*;
use crate::broker::Session;
use crate::protocol::SUPPORTED;
use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use proptest::prelude::*;
use std::time::Duration;

/// Runs `$body` with `$req`/`$resp` bound to the request and response types of `$key`.
macro_rules! with_types {
    ($key:expr, $req:ident, $resp:ident, $body:block) => {
        with_types!(@pairs $key, $req, $resp, $body,
            Produce(ProduceRequest, ProduceResponse),
            Fetch(FetchRequest, FetchResponse),
            ListOffsets(ListOffsetsRequest, ListOffsetsResponse),
            Metadata(MetadataRequest, MetadataResponse),
            ApiVersions(ApiVersionsRequest, ApiVersionsResponse),
            CreateTopics(CreateTopicsRequest, CreateTopicsResponse),
            DeleteTopics(DeleteTopicsRequest, DeleteTopicsResponse),
            InitProducerId(InitProducerIdRequest, InitProducerIdResponse),
            OffsetForLeaderEpoch(OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse),
            DescribeConfigs(DescribeConfigsRequest, DescribeConfigsResponse),
            AlterConfigs(AlterConfigsRequest, AlterConfigsResponse),
            IncrementalAlterConfigs(IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse),
            CreatePartitions(CreatePartitionsRequest, CreatePartitionsResponse),
            DeleteRecords(DeleteRecordsRequest, DeleteRecordsResponse),
            OffsetCommit(OffsetCommitRequest, OffsetCommitResponse),
            OffsetFetch(OffsetFetchRequest, OffsetFetchResponse),
            FindCoordinator(FindCoordinatorRequest, FindCoordinatorResponse),
            JoinGroup(JoinGroupRequest, JoinGroupResponse),
            Heartbeat(HeartbeatRequest, HeartbeatResponse),
            LeaveGroup(LeaveGroupRequest, LeaveGroupResponse),
            SyncGroup(SyncGroupRequest, SyncGroupResponse),
            DescribeGroups(DescribeGroupsRequest, DescribeGroupsResponse),
            ListGroups(ListGroupsRequest, ListGroupsResponse),
            DeleteGroups(DeleteGroupsRequest, DeleteGroupsResponse),
            SaslHandshake(SaslHandshakeRequest, SaslHandshakeResponse),
            SaslAuthenticate(SaslAuthenticateRequest, SaslAuthenticateResponse),
            DescribeUserScramCredentials(DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse),
            AlterUserScramCredentials(AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse),
            DescribeClientQuotas(DescribeClientQuotasRequest, DescribeClientQuotasResponse),
            AlterClientQuotas(AlterClientQuotasRequest, AlterClientQuotasResponse)
        )
    };
    (@pairs $key:expr, $req:ident, $resp:ident, $body:block, $($api:ident($r:ty, $s:ty)),*) => {
        match $key {
            $(ApiKey::$api => {
                #[allow(dead_code)]
                type $req = $r;
                #[allow(dead_code)]
                type $resp = $s;
                $body
            })*
            other => panic!("{other:?} is advertised but has no request type in this test"),
        }
    };
}

/// Every `(api, version)` the broker advertises in ApiVersions.
fn advertised() -> Vec<(ApiKey, i16)> {
    SUPPORTED
        .iter()
        .flat_map(|&(key, lo, hi)| {
            (crate::protocol::advertised_min(key, lo)..=hi).map(move |v| (key, v))
        })
        .collect()
}

/// A valid body of `key`'s request at `version`: its default message (a Produce with
/// acks=all, so that it is answered), encoded; `None` for a version kafka-protocol cannot
/// encode (Produce v0-2, advertised only for librdkafka and refused by the broker).
fn valid_body(key: ApiKey, version: i16) -> Option<Vec<u8>> {
    let mut buf = bytes::BytesMut::new();
    let encoded = if key == ApiKey::Produce {
        let mut produce = ProduceRequest::default();
        produce.acks = -1;
        produce.timeout_ms = 1000;
        produce.encode(&mut buf, version)
    } else {
        with_types!(key, Req, Resp, { Req::default().encode(&mut buf, version) })
    };
    encoded.ok().map(|_| buf.to_vec())
}

/// True when `frame` (with its length prefix) is a response of `key` at `version` that
/// decodes to the end.
fn well_formed(key: ApiKey, version: i16, frame: &Bytes) -> bool {
    let Some(mut rest) = frame.get(4..).map(Bytes::copy_from_slice) else {
        return false;
    };
    if wire::header::decode_response_header(&mut rest, key, version).is_err() {
        return false;
    }
    with_types!(key, Req, Resp, {
        Resp::decode(&mut rest, version).is_ok() && rest.is_empty()
    })
}

/// What became of one request.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// A response frame that decodes as the request's API and version.
    Answered,
    /// A response frame that does not.
    Garbled,
    /// No answer (acks=0), or none within the wait (a long poll).
    Silent,
    /// An error: the connection is closed.
    Closed,
}

/// Feeds `body` to the handler of `key` at `version` on a fresh broker.
async fn run(key: ApiKey, version: i16, body: Vec<u8>) -> Outcome {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (broker, _) = Broker::open(crate::BrokerConfig::default(), tmp.path()).expect("broker");
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    let req = crate::protocol::Request {
        api_key: key,
        version,
        header,
        body: Bytes::from(body),
    };
    let mut session = Session::new("127.0.0.1:1".parse().expect("addr"));
    let frame = match handle(&broker, &mut session, req).await {
        Err(_) => return Outcome::Closed,
        Ok(Reply::Nothing) => return Outcome::Silent,
        Ok(Reply::Now(frame)) => frame,
        Ok(Reply::Held(mut fut, at)) => {
            // As a connection does: polled again at its deadline, it answers.
            let held = async {
                tokio::select! {
                    answer = &mut fut => answer,
                    () = tokio::time::sleep_until(at) => fut.await,
                }
            };
            match tokio::time::timeout(Duration::from_millis(50), held).await {
                Err(_) => return Outcome::Silent,
                Ok(Err(_)) => return Outcome::Closed,
                Ok(Ok(None)) => return Outcome::Silent,
                Ok(Ok(Some(frame))) => frame,
            }
        }
        Ok(Reply::Later(fut)) => match tokio::time::timeout(Duration::from_millis(50), fut).await {
            Err(_) => return Outcome::Silent,
            Ok(Err(_)) => return Outcome::Closed,
            Ok(Ok(None)) => return Outcome::Silent,
            Ok(Ok(Some(frame))) => frame,
        },
    };
    if well_formed(key, version, &frame) {
        Outcome::Answered
    } else {
        Outcome::Garbled
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Every advertised API at every advertised version answers its valid default body with a
/// well-formed response of that API and version (or, for acks=0 and refused versions, with
/// silence or a close), never with bytes a client cannot decode.
#[test]
fn every_advertised_api_and_version_answers_a_valid_body() {
    let rt = runtime();
    let all = advertised();
    let mut answered = Vec::new();
    let mut unencodable = 0;
    for &(key, version) in &all {
        let Some(body) = valid_body(key, version) else {
            unencodable += 1;
            assert_ne!(rt.block_on(run(key, version, Vec::new())), Outcome::Garbled);
            continue;
        };
        let outcome = rt.block_on(run(key, version, body));
        assert_ne!(outcome, Outcome::Garbled, "{key:?} v{version}");
        if outcome == Outcome::Answered {
            answered.push((key, version));
        }
    }
    eprintln!(
        "{} APIs, {} (api, version) pairs, {} answered with a decodable response, \
         {unencodable} not encodable by kafka-protocol",
        SUPPORTED.len(),
        all.len(),
        answered.len()
    );
    for &(key, _, _) in SUPPORTED {
        assert!(
            answered.iter().any(|(k, _)| *k == key),
            "{key:?}: no advertised version answered its valid body"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn damaged_bodies_never_panic(
        which in any::<prop::sample::Index>(),
        cut in any::<u8>(),
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..4),
        huge in proptest::option::of((any::<u16>(), prop::sample::select(vec![0x7fff_ffffu32, 0xffff_ffff, 0x8000_0000]))),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let all = advertised();
        let (key, version) = all[which.index(all.len())];
        let mut body = valid_body(key, version).unwrap_or_default();
        body.truncate(body.len().saturating_sub(usize::from(cut) % 4));
        let len = body.len();
        for (at, x) in flips {
            if len > 0 {
                body[usize::from(at) % len] ^= x;
            }
        }
        // A length or count field turned huge (4 bytes anywhere in the body).
        if let Some((at, value)) = huge {
            if len >= 4 {
                let at = usize::from(at) % (len - 3);
                body[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
        }
        body.extend_from_slice(&tail);
        let _ = runtime().block_on(run(key, version, body));
    }
}

/// A flexible (compact-array) request announcing 2^32-2 topics in five bytes is a decode
/// error, not an allocation of hundreds of gigabytes (the vendored kafka-protocol patch).
#[test]
fn huge_compact_array_count_is_an_error() {
    let mut body = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    assert!(MetadataRequest::decode(&mut body, 12).is_err());
    let mut body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0x00]);
    assert!(MetadataRequest::decode(&mut body, 4).is_err());
}
