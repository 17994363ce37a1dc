//! A set of connections by node id with reconnect backoff. The cluster has one for metadata
//! and admin requests; every producer, consumer and group membership has its own, as in the
//! Java client, because a broker answers the requests of one connection in order: a
//! consumer's long-polling fetch or a JoinGroup held for a rebalance must never delay
//! another client's produce acknowledgement or join.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::config::ClientConfig;
use super::conn::Connection;
use super::util::lock;
use crate::error::{Error, Result};

/// When a failed address may be tried again.
#[derive(Debug, Clone, Copy)]
struct Backoff {
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
    backoff: Mutex<HashMap<String, Backoff>>,
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
        lock(&self.conns)
            .values()
            .filter(|c| c.is_alive())
            .cloned()
            .collect()
    }

    /// A live connection to node `id` at `addr`, opened (respecting backoff) if needed.
    pub fn get(&self, id: i32, addr: &str) -> Result<Arc<Connection>> {
        if let Some(c) = lock(&self.conns).get(&id) {
            if c.is_alive() && c.addr() == addr {
                return Ok(c.clone());
            }
        }
        if let Some(b) = lock(&self.backoff).get(addr) {
            if Instant::now() < b.until {
                return Err(Error::Connection {
                    addr: addr.to_string(),
                    reason: format!("backing off after {} failures", b.failures),
                });
            }
        }
        match Connection::open(addr, id, &self.config) {
            Ok(conn) => {
                lock(&self.backoff).remove(addr);
                if let Some(old) = lock(&self.conns).insert(id, conn.clone()) {
                    old.close();
                }
                Ok(conn)
            }
            Err(e) => {
                let mut bo = lock(&self.backoff);
                let entry = bo.entry(addr.to_string()).or_insert(Backoff {
                    failures: 0,
                    until: Instant::now(),
                });
                entry.failures += 1;
                let wait = backoff_delay(
                    self.config.reconnect_backoff,
                    self.config.reconnect_backoff_max,
                    entry.failures,
                );
                entry.until = Instant::now() + wait;
                tracing::debug!(%addr, error = %e, ?wait, "connect failed");
                Err(e)
            }
        }
    }

    /// Closes every connection.
    pub fn close(&self) {
        for (_, c) in lock(&self.conns).drain() {
            c.close();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

/// `first * 2^(failures-1)`, capped at `max`.
pub fn backoff_delay(first: Duration, max: Duration, failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(16);
    first.saturating_mul(1 << shift).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let f = Duration::from_millis(50);
        let m = Duration::from_secs(1);
        assert_eq!(backoff_delay(f, m, 1), f);
        assert_eq!(backoff_delay(f, m, 2), Duration::from_millis(100));
        assert_eq!(backoff_delay(f, m, 10), m);
        assert_eq!(backoff_delay(f, m, 1000), m);
    }

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
