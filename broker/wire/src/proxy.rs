//! The token of the in-process `BBS-PROXY` SASL mechanism, `<secret>\0<ip:port>`: the
//! classic port's client builds it, the broker's `auth::proxy` checks it.

use std::net::SocketAddr;

/// The mechanism's name (not a Kafka mechanism; never listed to clients).
pub const MECHANISM: &str = "BBS-PROXY";

/// The token a proxy sends for a client at `peer`.
pub fn token(secret: &str, peer: SocketAddr) -> Vec<u8> {
    format!("{secret}\0{peer}").into_bytes()
}
