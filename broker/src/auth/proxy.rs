//! The in-process proxy mechanism: how the classic port (which runs inside `bbs-server`
//! and reaches the broker as an ordinary client over loopback) tells the broker the real
//! address of the person behind each of its connections, so login slow-down, registration
//! limits and logs apply to that address and not to 127.0.0.1, which all classic users
//! share.
//!
//! A connection sends SaslHandshake(`BBS-PROXY`) then one SaslAuthenticate whose token is
//! `<secret>\0<ip:port>`. The secret is random per run, known only inside the process
//! (`AuthConfig::proxy_token`), and the mechanism is only accepted from loopback peers and
//! never advertised; a remote client cannot forge an address, and a wrong secret is a
//! failed login counted against the connection's own address. On success the session's
//! peer becomes the named address and the session stays anonymous: a normal SASL login
//! (SCRAM) or registration may follow on the same connection.

use std::net::SocketAddr;

use super::scram::ct_eq;

pub use wire::proxy::{token, MECHANISM};

/// Checks a proxy token against `secret`; the vouched-for address when it matches.
pub fn verify(secret: &str, token: &[u8]) -> Result<SocketAddr, &'static str> {
    let split = token
        .iter()
        .position(|b| *b == 0)
        .ok_or("malformed proxy token")?;
    let (given, rest) = token.split_at(split);
    if !ct_eq(given, secret.as_bytes()) {
        return Err("wrong proxy secret");
    }
    std::str::from_utf8(&rest[1..])
        .ok()
        .and_then(|a| a.parse().ok())
        .ok_or("malformed proxied address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_vouches_for_an_address() {
        let peer: SocketAddr = "203.0.113.7:4242".parse().expect("addr");
        assert_eq!(verify("s3cret", &token("s3cret", peer)), Ok(peer));
        assert!(verify("s3cret", &token("guess", peer)).is_err());
        assert!(verify("s3cret", b"s3cret").is_err());
        assert!(verify("s3cret", b"s3cret\0not an address").is_err());
    }
}
