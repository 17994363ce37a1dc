//! A set of connections by node id with reconnect backoff. The cluster has one for metadata
//! and admin requests; every producer, consumer and group membership has its own, as in the
//! Java client, because a broker answers the requests of one connection in order: a
//! consumer's long-polling fetch or a JoinGroup held for a rebalance must never delay
//! another client's produce acknowledgement or join.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::backoff::Backoff;
use super::config::ClientConfig;
use super::conn::Connection;
use crate::error::{Error, Result};

/// When a failed address may be tried again.
#[derive(Debug, Clone, Copy)]
struct Failing {
    /// Consecutive failures.
    failures: u32,
    /// Not before this instant.
    until: Instant,
}

/// Connections by node id.
pub struct Pool {
    /// Settings (timeouts, SASL, backoff).
    config: ClientConfig,
    /// Live connections by node id (negative ids for bootstrap and coordinator slots).
    conns: Mutex<HashMap<i32, Arc<Connection>>>,
    /// Failing addresses and when to try them again.
    backoff: Mutex<HashMap<String, Failing>>,
}

impl Pool {
    /// An empty pool.
    pub fn new(config: ClientConfig) -> Self {
        Pool {
            config,
            conns: Mutex::new(HashMap::new()),
            backoff: Mutex::new(HashMap::new()),
        }
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

    /// A live connection to node `id` at `addr`, opened (respecting backoff) if needed.
    pub fn get(&self, id: i32, addr: &str) -> Result<Arc<Connection>> {
        if let Some(c) = self.conns.lock().get(&id) {
            if c.is_alive() && c.addr() == addr {
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
        match Connection::open(addr, id, &self.config) {
            Ok(conn) => {
                self.backoff.lock().remove(addr);
                if let Some(old) = self.conns.lock().insert(id, conn.clone()) {
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
        );
        assert!(matches!(pool.get(0, &addr), Err(Error::Connection { .. })));
        let Err(Error::Connection { reason, .. }) = pool.get(0, &addr) else {
            panic!("expected a backoff error");
        };
        assert!(reason.contains("backing off"), "{reason}");
    }
}
