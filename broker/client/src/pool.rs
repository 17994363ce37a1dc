//! A set of connections, one per broker address, with reconnect backoff.
//!
//! A Kafka broker answers one connection's requests in order: it mutes the channel while a
//! request is in flight and reads the next only after answering it. So a request the broker
//! holds on purpose (a Fetch waiting up to `max_wait`, a JoinGroup held until every member
//! rejoins) delays everything queued behind it on that connection, while requests that are
//! answered at once can share a connection freely (they are pipelined, and the reader
//! dispatches answers by correlation id). Hence two kinds of pool:
//! - the cluster's (one per [`crate::Client`]): per broker, one shared connection for
//!   metadata, produce, heartbeats, commits, offsets, find-coordinator and admin requests;
//! - each consumer's own: per broker, one connection for its blocking calls (fetch, and the
//!   group's join and sync), so they never sit in front of another's produce or heartbeat.
//!   Its poller is pumped ([`Net::pumped`]): the consumer's poll thread reads these
//!   connections itself while it waits for them.
//!   (LeaveGroup is answered at once, so it goes on the shared connection: behind a held
//!   fetch it would make closing a consumer wait up to the fetch's max_wait.)
//!
//! A producer plus one consumer on a one-broker cluster therefore hold two connections.
//! The pool is keyed by address, so the bootstrap connection (node id unknown when opened)
//! is the same one later used for that broker's node id.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::backoff::Backoff;
use super::config::ClientConfig;
use super::conn::Connection;
use super::net::Net;
use crate::error::{Error, Result};

/// When a failed address may be tried again.
#[derive(Debug, Clone, Copy)]
struct Failing {
    /// Consecutive failures.
    failures: u32,
    /// Not before this instant.
    until: Instant,
}

/// Connections by broker address.
pub struct Pool {
    /// Settings (timeouts, SASL, backoff).
    config: ClientConfig,
    /// What reads these connections: the client's network thread, or a pumped poller.
    net: Arc<Net>,
    /// Live connections by `host:port`.
    conns: Mutex<HashMap<String, Arc<Connection>>>,
    /// Failing addresses and when to try them again.
    backoff: Mutex<HashMap<String, Failing>>,
}

impl Pool {
    /// An empty pool whose connections `net` reads.
    pub fn new(config: ClientConfig, net: Arc<Net>) -> Self {
        Pool {
            config,
            net,
            conns: Mutex::new(HashMap::new()),
            backoff: Mutex::new(HashMap::new()),
        }
    }

    /// The poller that reads these connections.
    pub fn net(&self) -> &Arc<Net> {
        &self.net
    }

    /// The live connections.
    pub fn alive(&self) -> Vec<Arc<Connection>> {
        self.conns
            .lock()
            .values()
            .filter(|c| c.is_alive())
            .cloned()
            .collect()
    }

    /// The live connection to `addr`, if there is one (never connects: for the network
    /// thread, which must not block).
    pub fn live(&self, addr: &str) -> Option<Arc<Connection>> {
        self.conns
            .lock()
            .get(addr)
            .filter(|c| c.is_alive())
            .cloned()
    }

    /// True when there is a live connection to `addr` (never connects).
    pub fn has_live(&self, addr: &str) -> bool {
        self.conns.lock().get(addr).is_some_and(|c| c.is_alive())
    }

    /// A live connection to node `id` at `addr`, opened (respecting backoff) if needed.
    pub fn get(&self, id: i32, addr: &str) -> Result<Arc<Connection>> {
        if let Some(c) = self.conns.lock().get(addr) {
            if c.is_alive() {
                return Ok(c.clone());
            }
        }
        if let Some(b) = self.backoff.lock().get(addr) {
            if Instant::now() < b.until {
                return Err(Error::Connection {
                    addr: addr.to_string(),
                    reason: format!("backing off after {} failures", b.failures),
                });
            }
        }
        match Connection::open_in(addr, id, &self.config, &self.net) {
            Ok(conn) => {
                self.backoff.lock().remove(addr);
                let mut conns = self.conns.lock();
                // Another thread may have connected meanwhile: keep one connection.
                if let Some(c) = conns.get(addr).filter(|c| c.is_alive()) {
                    let c = c.clone();
                    drop(conns);
                    conn.close();
                    return Ok(c);
                }
                if let Some(old) = conns.insert(addr.to_string(), conn.clone()) {
                    old.close();
                }
                Ok(conn)
            }
            Err(e) => {
                let mut bo = self.backoff.lock();
                let entry = bo.entry(addr.to_string()).or_insert(Failing {
                    failures: 0,
                    until: Instant::now(),
                });
                entry.failures += 1;
                let wait = Backoff::new(
                    self.config.reconnect_backoff,
                    self.config.reconnect_backoff_max,
                )
                .delay(entry.failures);
                entry.until = Instant::now() + wait;
                tracing::debug!(%addr, error = %e, ?wait, "connect failed");
                Err(e)
            }
        }
    }

    /// Closes every connection.
    pub fn close(&self) {
        for (_, c) in self.conns.lock().drain() {
            c.close();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn refused_connections_back_off() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let pool = Pool::new(
            ClientConfig::new(&addr)
                .reconnect_backoff(Duration::from_secs(10), Duration::from_secs(10)),
            Net::start().expect("network thread"),
        );
        assert!(matches!(pool.get(0, &addr), Err(Error::Connection { .. })));
        let Err(Error::Connection { reason, .. }) = pool.get(0, &addr) else {
            panic!("expected a backoff error");
        };
        assert!(reason.contains("backing off"), "{reason}");
    }
}
