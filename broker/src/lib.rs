//! `broker`: a single-node broker that speaks the Apache Kafka wire protocol, with durable,
//! crash-safe storage. It knows nothing about bulletin boards; hosts install hooks.
//!
//! Layout: [`protocol`] (framing and codec glue, no I/O), [`handlers`] (one function per
//! API), [`log`] (storage), [`server`] (sockets and shutdown, and [`server::Handle`],
//! the running broker made by [`Broker::start`]), [`auth`] (SASL, accounts, authorizer,
//! record policy), [`broker`] (shared state, and the methods hosts use),
//! [`data_lock`] (one process per data directory), [`upstream`] (front mode: the
//! cluster this broker forwards to instead of keeping logs). The wire layer (framing,
//! headers, batch headers, error-code names) is the `kafka-wire` crate (`broker/wire`);
//! the Kafka client is the `kafka-client` crate (`broker/client`); the text and name rules
//! (escaping, look-alike names, account names) are the `safe-text` crate (`broker/text`).

pub mod auth;
pub mod broker;
pub mod config;
pub mod data_lock;
pub mod error;
pub mod group;
pub mod handlers;
pub mod log;
pub mod producer_ids;
pub mod protocol;
pub mod record;
pub mod server;
pub mod upstream;

pub use broker::Broker;
pub use config::BrokerConfig;
pub use error::{Error, Result};

/// Milliseconds since the Unix epoch (0 if the clock is before it): the one wall clock of
/// the broker crate (segment ages, retention, commit times, record timestamps it writes).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
