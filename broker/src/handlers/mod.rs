//! Request dispatch: one function per API, grouped by area. Each handler decodes its body,
//! does the work and returns a [`Reply`]: an encoded response now, one that completes later
//! (produce waiting for fsync, fetch long polls), or nothing (acks=0).

mod admin;
mod fetch;
mod meta;
mod produce;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{self, Request};

pub use meta::api_versions_fallback;

/// A response that is still being computed.
pub type Pending = Pin<Box<dyn Future<Output = Result<Option<Bytes>>> + Send>>;

/// What the connection should send for a request.
pub enum Reply {
    /// This encoded frame, in order.
    Now(Bytes),
    /// The frame this future produces, in order.
    Later(Pending),
    /// No response (acks=0 produce).
    Nothing,
}

/// Handles one request. Work that must happen in request order (appends) is done before
/// this returns; what waits (durability, long polls) is in the returned future.
pub async fn handle(broker: &Arc<Broker>, session: &mut Session, req: Request) -> Result<Reply> {
    if let Some(id) = &req.header.client_id {
        if session.client_id != id.as_str() {
            session.client_id = id.to_string();
        }
    }
    match req.api_key {
        ApiKey::ApiVersions => meta::api_versions(&req),
        ApiKey::Metadata => meta::metadata(broker, &req).await,
        ApiKey::Produce => produce::produce(broker, &req).await,
        ApiKey::Fetch => fetch::fetch(broker, req),
        ApiKey::ListOffsets => fetch::list_offsets(broker, &req),
        ApiKey::OffsetForLeaderEpoch => fetch::offset_for_leader_epoch(broker, &req),
        ApiKey::InitProducerId => admin::init_producer_id(broker, &req).await,
        ApiKey::CreateTopics => admin::create_topics(broker, &req).await,
        ApiKey::DeleteTopics => admin::delete_topics(broker, &req).await,
        ApiKey::DescribeConfigs => admin::describe_configs(broker, &req),
        other => Err(crate::error::Error::Malformed(format!(
            "{other:?} is not handled"
        ))),
    }
}

/// Encodes `body` as the response to `req`.
pub(crate) fn respond<T: Encodable>(req: &Request, body: &T) -> Result<Reply> {
    Ok(Reply::Now(protocol::encode_response(
        req.header.correlation_id,
        req.api_key,
        req.version,
        body,
    )?))
}

/// A `StrBytes` from a string.
pub(crate) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A `TopicName` from a string.
pub(crate) fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

#[cfg(test)]
mod fuzz {
    //! Every handler fed damaged request bodies (valid encodings of each supported request,
    //! truncated, with bytes flipped or garbage appended) returns a reply or an error, never
    //! a panic.
    use super::*;
    use crate::protocol::SUPPORTED;
    use kafka_protocol::messages::*;
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
                let mut session = Session { peer: "127.0.0.1:1".parse().expect("addr"), client_id: String::new() };
                if let Ok(Reply::Later(fut)) = handle(&broker, &mut session, req).await {
                    let _ = tokio::time::timeout(std::time::Duration::from_millis(50), fut).await;
                }
            });
        }
    }
}
