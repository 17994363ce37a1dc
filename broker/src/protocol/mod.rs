//! The server's protocol glue, free of I/O: the table of API versions this broker speaks,
//! request parsing against it, body decoding and response encoding. Framing and headers
//! are the wire crate's (`wire::frame`, `wire::header`); message bodies are kafka-protocol's.

pub use wire::frame;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::error::{Error, Result};

/// `(api key, min version, max version)` for every API we answer.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 3),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    // librdkafka needs 0 advertised to use SASL at all, but every client sends v1; a v0
    // handshake (raw SASL tokens outside Kafka framing) is refused with an error.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
];

/// The lowest version advertised in ApiVersions for `key` whose decodable range starts at
/// `lo`. Produce is advertised from v0 although v0-2 (magic 0/1 message sets) are refused:
/// librdkafka (kcat's 2.0.2) compresses with gzip, snappy or lz4 only when the broker's
/// Produce range includes v0, and without this it silently sends uncompressed batches.
/// Clients that write v2 batches never choose a version below 3.
pub fn advertised_min(key: ApiKey, lo: i16) -> i16 {
    if key == ApiKey::Produce {
        0
    } else {
        lo
    }
}

/// Our version range for an API, if we answer it at all.
pub fn supported(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, lo, hi)| (*lo, *hi))
}

/// A request frame split into its header and undecoded body.
#[derive(Debug)]
pub struct Request {
    /// Which API.
    pub api_key: ApiKey,
    /// Which version of it.
    pub version: i16,
    /// Decoded header (correlation id, client id).
    pub header: RequestHeader,
    /// The body, still encoded.
    pub body: Bytes,
}

/// How a frame's header parsed.
#[derive(Debug)]
pub enum Parsed {
    /// A request we can decode.
    Request(Request),
    /// ApiVersions at a version above ours: answer v0 with error 35 and our list.
    ApiVersionsTooNew {
        /// To echo back.
        correlation_id: i32,
    },
    /// An API or version we do not speak: close the connection.
    Unsupported {
        /// Raw api key.
        api_key: i16,
        /// Raw version.
        version: i16,
    },
}

/// Parses a request frame's header.
pub fn parse_request(mut frame: Bytes) -> Result<Parsed> {
    if frame.len() < 8 {
        return Err(Error::Malformed(format!(
            "{}-byte frame is too short for a header",
            frame.len()
        )));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Ok(Parsed::Unsupported {
            api_key: raw_key,
            version,
        });
    };
    let Some((lo, hi)) = supported(api_key) else {
        return Ok(Parsed::Unsupported {
            api_key: raw_key,
            version,
        });
    };
    if api_key == ApiKey::ApiVersions && version > hi {
        return Ok(Parsed::ApiVersionsTooNew { correlation_id });
    }
    if version < lo || version > hi {
        return Ok(Parsed::Unsupported {
            api_key: raw_key,
            version,
        });
    }
    let header = wire::header::decode_request_header(&mut frame, api_key, version)?;
    Ok(Parsed::Request(Request {
        api_key,
        version,
        header,
        body: frame,
    }))
}

/// Decodes a request body, requiring that every byte is used.
pub fn decode_body<T: Decodable>(req: &Request) -> Result<T> {
    let mut body = req.body.clone();
    let decoded = T::decode(&mut body, req.version)
        .map_err(|e| Error::Malformed(format!("{:?} v{}: {e}", req.api_key, req.version)))?;
    if body.has_remaining() {
        tracing::debug!(api = ?req.api_key, extra = body.remaining(), "request body has trailing bytes");
    }
    Ok(decoded)
}

/// Encodes a response (with its length prefix) for `api_key` at `version`.
pub fn encode_response<T: Encodable>(
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
    body: &T,
) -> Result<Bytes> {
    Ok(wire::header::response(
        correlation_id,
        api_key,
        version,
        body,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::ApiVersionsRequest;

    fn frame(key: i16, version: i16) -> Bytes {
        let mut b = BytesMut::new();
        let mut h = RequestHeader::default();
        h.request_api_key = key;
        h.request_api_version = version;
        h.correlation_id = 9;
        let hv = ApiKey::try_from(key)
            .map(|k| k.request_header_version(version))
            .unwrap_or(1);
        h.encode(&mut b, hv).expect("header");
        if key == 18 {
            ApiVersionsRequest::default()
                .encode(&mut b, version.min(3))
                .expect("body");
        }
        b.freeze()
    }

    #[test]
    fn api_versions_too_new_falls_back() {
        match parse_request(frame(18, 4)).expect("parses") {
            Parsed::ApiVersionsTooNew { correlation_id } => assert_eq!(correlation_id, 9),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_and_versions_are_unsupported() {
        assert!(matches!(
            parse_request(frame(0, 2)),
            Ok(Parsed::Unsupported { .. })
        ));
        let mut raw = BytesMut::new();
        raw.extend_from_slice(&[0x7f, 0x00, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(
            parse_request(raw.freeze()),
            Ok(Parsed::Unsupported { .. })
        ));
        assert!(parse_request(Bytes::from_static(b"abc")).is_err());
    }

    #[test]
    fn every_supported_api_is_within_the_crate_range() {
        for (key, lo, hi) in SUPPORTED {
            let r = key.valid_versions();
            assert!(r.min <= *lo && *hi <= r.max, "{key:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn header_parsing_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(Parsed::Request(req)) = parse_request(Bytes::from(data)) {
                let _ = decode_body::<kafka_protocol::messages::MetadataRequest>(&req);
            }
        }
    }
}
