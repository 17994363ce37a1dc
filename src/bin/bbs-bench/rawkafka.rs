//! The few raw Kafka exchanges the suite makes without a client: one ApiVersions round trip
//! (is the server answering? and what an idle connection looks like after its first
//! request).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

/// Sends ApiVersions v0 on `stream` and reads the answer; true when it says NONE.
pub(crate) fn api_versions(stream: &mut TcpStream) -> bool {
    let Ok(frame) = wire::header::request(
        ApiKey::ApiVersions,
        0,
        1,
        Some("bbs-bench"),
        &ApiVersionsRequest::default(),
    ) else {
        return false;
    };
    if stream.write_all(&frame).is_err() {
        return false;
    }
    let mut len = [0u8; 4];
    if stream.read_exact(&mut len).is_err() {
        return false;
    }
    let Ok(n) = wire::frame::body_len(len, 1 << 20) else {
        return false;
    };
    let mut body = vec![0u8; n];
    if stream.read_exact(&mut body).is_err() {
        return false;
    }
    matches!(
        wire::header::decode_response::<ApiVersionsResponse>(Bytes::from(body), ApiKey::ApiVersions, 0),
        Ok((_, r)) if r.error_code == 0
    )
}

/// True when `addr` accepts a connection and answers ApiVersions.
pub(crate) fn api_versions_ok(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    api_versions(&mut s)
}
