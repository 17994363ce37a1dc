//! Request and response headers around an encoded body, framed: what a client writes and
//! reads, and what a server reads and answers. The header version (flexible or not) comes
//! from kafka-protocol's `request_header_version` / `response_header_version`, so no caller
//! picks it by hand.

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::{Error, Result};

/// Appends one whole request frame (length prefix, header, body) to `out`.
pub fn put_request<T: Encodable>(
    out: &mut BytesMut,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<StrBytes>,
    body: &T,
) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    let mut header = RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = client_id;
    header
        .encode(out, api.request_header_version(version))
        .and_then(|_| body.encode(out, version))
        .map_err(|e| Error::Encode(format!("{api:?} v{version}: {e}")))?;
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// One whole request frame (length prefix, header, body).
pub fn request<T: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &T,
) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(64);
    let client_id = client_id.map(|c| StrBytes::from_string(c.to_string()));
    put_request(&mut out, api, version, correlation_id, client_id, body)?;
    Ok(out.freeze())
}

/// Decodes a request header off the front of `frame` (a frame without its length prefix),
/// leaving the body.
pub fn decode_request_header(
    frame: &mut Bytes,
    api: ApiKey,
    version: i16,
) -> Result<RequestHeader> {
    RequestHeader::decode(frame, api.request_header_version(version))
        .map_err(|e| Error::Malformed(format!("{api:?} v{version} header: {e}")))
}

/// One whole response frame (length prefix, header, body) for `api` at `version`.
pub fn response<T: Encodable>(
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    body: &T,
) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(64);
    out.extend_from_slice(&[0, 0, 0, 0]);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut out, api.response_header_version(version))
        .map_err(|e| Error::Encode(format!("{api:?} v{version} header: {e}")))?;
    body.encode(&mut out, version)
        .map_err(|e| Error::Encode(format!("{api:?} v{version}: {e}")))?;
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out.freeze())
}

/// The correlation id at the front of a response frame (without its length prefix).
pub fn correlation_id(frame: &[u8]) -> Option<i32> {
    let id: [u8; 4] = frame.get(..4)?.try_into().ok()?;
    Some(i32::from_be_bytes(id))
}

/// Decodes a response header off the front of `frame` (without its length prefix), leaving
/// the body.
pub fn decode_response_header(
    frame: &mut Bytes,
    api: ApiKey,
    version: i16,
) -> Result<ResponseHeader> {
    ResponseHeader::decode(frame, api.response_header_version(version))
        .map_err(|e| Error::Malformed(format!("{api:?} response header: {e}")))
}

/// Steps over the response header at the front of `frame` (without its length prefix),
/// leaving the body, and returns the correlation id: what a client routing answers by id
/// needs, without building the header's struct (tagged fields of a flexible header are
/// stepped over, whatever they hold).
pub fn skip_response_header(frame: &mut Bytes, api: ApiKey, version: i16) -> Result<i32> {
    let id = correlation_id(frame)
        .ok_or_else(|| Error::Malformed(format!("{api:?} response header cut short")))?;
    let mut len = 4;
    if api.response_header_version(version) >= 1 {
        len += tagged_fields_len(&frame[4..])
            .map_err(|e| Error::Malformed(format!("{api:?} response header: {e}")))?;
    }
    frame.advance(len);
    Ok(id)
}

/// The length of the tagged-field section at the front of `bytes` (a count, then each
/// field's tag, size and bytes), checked against what is there.
pub(crate) fn tagged_fields_len(bytes: &[u8]) -> Result<usize> {
    let mut at = 0;
    let count = uvarint(bytes, &mut at)?;
    for _ in 0..count {
        uvarint(bytes, &mut at)?; // the tag
        let size = uvarint(bytes, &mut at)?;
        at = usize::try_from(size)
            .ok()
            .and_then(|size| at.checked_add(size))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| Error::Malformed(format!("tagged field of {size} bytes cut short")))?;
    }
    Ok(at)
}

/// An unsigned varint at `bytes[*at..]`; moves `at` past it.
#[inline]
pub(crate) fn uvarint(bytes: &[u8], at: &mut usize) -> Result<u64> {
    // Most are one byte: a length or count under 128.
    if let Some(&b) = bytes.get(*at) {
        if b & 0x80 == 0 {
            *at += 1;
            return Ok(u64::from(b));
        }
    }
    uvarint_long(bytes, at)
}

fn uvarint_long(bytes: &[u8], at: &mut usize) -> Result<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes
            .get(*at)
            .ok_or_else(|| Error::Malformed("varint cut short".into()))?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(Error::Malformed("varint longer than 10 bytes".into()))
}

/// Decodes a whole response frame (without its length prefix): header and body.
pub fn decode_response<T: Decodable>(
    mut frame: Bytes,
    api: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, T)> {
    let header = decode_response_header(&mut frame, api, version)?;
    let body = T::decode(&mut frame, version)
        .map_err(|e| Error::Malformed(format!("{api:?} v{version} response: {e}")))?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ResponseHeader;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, FetchResponse};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn flexible_headers_are_stepped_over_whatever_they_tag(
            id in any::<i32>(),
            tags in proptest::collection::btree_map(0i32..300, proptest::collection::vec(any::<u8>(), 0..200), 0..4),
        ) {
            let mut header = ResponseHeader::default();
            header.correlation_id = id;
            header.unknown_tagged_fields = tags.into_iter().map(|(k, v)| (k, Bytes::from(v))).collect();
            let mut out = BytesMut::new();
            header.encode(&mut out, 1).expect("encodes");
            FetchResponse::default().encode(&mut out, 12).expect("encodes");
            let body_len = out.len() - header.compute_size(1).expect("sizes");
            let whole = out.freeze();
            let mut frame = whole.clone();
            prop_assert_eq!(skip_response_header(&mut frame, ApiKey::Fetch, 12), Ok(id));
            prop_assert_eq!(frame.len(), body_len);
            for cut in 0..whole.len() - body_len {
                let mut short = whole.slice(..cut);
                prop_assert!(skip_response_header(&mut short, ApiKey::Fetch, 12).is_err());
            }
        }
    }

    #[test]
    fn request_and_response_round_trip() {
        for version in [0, 3] {
            let req = request(
                ApiKey::ApiVersions,
                version,
                7,
                Some("t"),
                &ApiVersionsRequest::default(),
            )
            .expect("encodes");
            let mut frame = req.slice(4..);
            let h =
                decode_request_header(&mut frame, ApiKey::ApiVersions, version).expect("header");
            assert_eq!((h.correlation_id, h.client_id.as_deref()), (7, Some("t")));
            let mut resp = ApiVersionsResponse::default();
            resp.error_code = 35;
            let out = response(7, ApiKey::ApiVersions, version, &resp).expect("encodes");
            assert_eq!(correlation_id(&out[4..]), Some(7));
            let mut skipped = out.slice(4..);
            let id =
                skip_response_header(&mut skipped, ApiKey::ApiVersions, version).expect("skips");
            assert_eq!((id, skipped.len()), (7, out.len() - 8));
            let (h, r): (_, ApiVersionsResponse) =
                decode_response(out.slice(4..), ApiKey::ApiVersions, version).expect("decodes");
            assert_eq!((h.correlation_id, r.error_code), (7, 35));
        }
    }
}
