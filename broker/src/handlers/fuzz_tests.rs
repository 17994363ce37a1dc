//! Every handler fed damaged request bodies (valid encodings of each supported request,
//! truncated, with bytes flipped or garbage appended) returns a reply or an error, never
//! a panic.
use super::*;
use crate::broker::Session;
use crate::protocol::SUPPORTED;
use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use proptest::prelude::*;

fn valid_body(key: ApiKey, version: i16) -> Vec<u8> {
    let mut buf = bytes::BytesMut::new();
    macro_rules! enc {
        ($t:ty) => {{
            let _ = <$t>::default().encode(&mut buf, version);
        }};
    }
    match key {
        ApiKey::Produce => enc!(ProduceRequest),
        ApiKey::Fetch => enc!(FetchRequest),
        ApiKey::ListOffsets => enc!(ListOffsetsRequest),
        ApiKey::Metadata => enc!(MetadataRequest),
        ApiKey::ApiVersions => enc!(ApiVersionsRequest),
        ApiKey::CreateTopics => enc!(CreateTopicsRequest),
        ApiKey::DeleteTopics => enc!(DeleteTopicsRequest),
        ApiKey::InitProducerId => enc!(InitProducerIdRequest),
        ApiKey::OffsetForLeaderEpoch => enc!(OffsetForLeaderEpochRequest),
        ApiKey::DescribeConfigs => enc!(DescribeConfigsRequest),
        _ => {}
    }
    buf.to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn damaged_bodies_never_panic(
        which in 0..SUPPORTED.len(),
        v in any::<u8>(),
        cut in any::<u8>(),
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..4),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let (key, lo, hi) = SUPPORTED[which];
        let version = lo + (i16::from(v) % (hi - lo + 1));
        let mut body = valid_body(key, version);
        body.truncate(body.len().saturating_sub(usize::from(cut) % 4));
        let len = body.len();
        for (at, x) in flips {
            if len > 0 {
                body[usize::from(at) % len] ^= x;
            }
        }
        body.extend_from_slice(&tail);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let tmp = tempfile::tempdir().expect("tempdir");
            let (broker, _) = Broker::open(crate::BrokerConfig::default(), tmp.path()).expect("broker");
            let mut header = kafka_protocol::messages::RequestHeader::default();
            header.request_api_key = key as i16;
            header.request_api_version = version;
            let req = crate::protocol::Request { api_key: key, version, header, body: Bytes::from(body) };
            let mut session = Session::new("127.0.0.1:1".parse().expect("addr"));
            if let Ok(Reply::Later(fut)) = handle(&broker, &mut session, req).await {
                let _ = tokio::time::timeout(std::time::Duration::from_millis(50), fut).await;
            }
        });
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
