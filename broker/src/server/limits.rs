//! Connection limits that keep one client address from starving the others: the count of
//! open connections per address (Kafka's `max.connections.per.ip` with per-address
//! overrides), and log throttles so a flood of refused or timed-out connections costs a
//! few log lines, not one per attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::BrokerConfig;

/// How often a throttled log says how many events it left out.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Open connections per client address, against the configured limits.
pub struct PerIp {
    default: usize,
    overrides: HashMap<IpAddr, usize>,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; dropping it frees the slot of its address.
pub struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// Limits from the broker settings (validated before the server starts, so a bad
    /// override address cannot occur here; it would only be ignored).
    pub fn new(config: &BrokerConfig) -> Arc<Self> {
        Arc::new(PerIp {
            default: config.max_connections_per_ip,
            overrides: config.connections_per_ip_overrides().unwrap_or_default(),
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// The limit for `ip`.
    pub fn limit(&self, ip: IpAddr) -> usize {
        self.overrides
            .get(&ip.to_canonical())
            .copied()
            .unwrap_or(self.default)
    }

    /// Counts a new connection from `ip`, or returns the limit it would exceed.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<IpSlot, usize> {
        let ip = ip.to_canonical();
        let limit = self.limit(ip);
        if limit == 0 {
            return Err(0);
        }
        let mut counts = self.counts.lock();
        let n = counts.entry(ip).or_insert(0);
        if *n >= limit {
            return Err(limit);
        }
        *n += 1;
        Ok(IpSlot {
            table: Arc::clone(self),
            ip,
        })
    }
}

impl std::fmt::Debug for IpSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpSlot").field("ip", &self.ip).finish()
    }
}

impl IpSlot {
    /// Moves this connection's count to `ip` (the real client address of a proxied
    /// connection), or returns the limit `ip` is already at; the old slot is freed
    /// either way.
    pub fn rebind(self, ip: IpAddr) -> Result<IpSlot, usize> {
        let table = Arc::clone(&self.table);
        drop(self);
        table.try_acquire(ip)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self.table.counts.lock();
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Logs one kind of event at info level at most once per [`LOG_EVERY`], saying how many
/// were left out since; every event is also logged at debug level by the caller.
#[derive(Default)]
pub struct Throttle {
    state: Mutex<Option<(Instant, u64)>>,
}

impl Throttle {
    /// Counts one event; returns `Some(left_out)` when this one should be logged at info
    /// level, where `left_out` is how many were not logged since the last one.
    pub fn hit(&self) -> Option<u64> {
        let now = Instant::now();
        let mut st = self.state.lock();
        match &mut *st {
            Some((last, skipped)) if now.duration_since(*last) < LOG_EVERY => {
                *skipped += 1;
                None
            }
            other => {
                let skipped = other.as_ref().map_or(0, |(_, s)| *s);
                *other = Some((now, 0));
                Some(skipped)
            }
        }
    }
}

/// The server's shared limit state, handed to every connection.
pub struct Limits {
    /// Connections per address.
    pub per_ip: Arc<PerIp>,
    /// Refusals because an address is at its limit.
    pub refused_per_ip: Throttle,
    /// Refusals because the server is full.
    pub refused_full: Throttle,
    /// Connections closed by a deadline, one throttle per kind (first request, request,
    /// SASL) so each kind shows up in the log.
    pub deadline: [Throttle; 3],
}

impl Limits {
    /// Limits from the broker settings.
    pub fn new(config: &BrokerConfig) -> Arc<Self> {
        Arc::new(Limits {
            per_ip: PerIp::new(config),
            refused_per_ip: Throttle::default(),
            refused_full: Throttle::default(),
            deadline: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_limit_and_override() {
        let mut c = BrokerConfig {
            max_connections_per_ip: 2,
            ..BrokerConfig::default()
        };
        c.max_connections_per_ip_overrides
            .insert("10.0.0.9".into(), 3);
        let t = PerIp::new(&c);
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [10, 0, 0, 9].into();
        let s1 = t.try_acquire(a).ok();
        let s2 = t.try_acquire(a).ok();
        assert!(s1.is_some() && s2.is_some());
        assert_eq!(t.try_acquire(a).err(), Some(2));
        drop(s1);
        assert!(t.try_acquire(a).is_ok());
        let held: Vec<_> = (0..3).filter_map(|_| t.try_acquire(b).ok()).collect();
        assert_eq!(held.len(), 3);
        assert_eq!(t.try_acquire(b).err(), Some(3));
        // An IPv4-mapped IPv6 peer counts as its IPv4 address.
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().unwrap_or(b);
        assert_eq!(t.try_acquire(mapped).err(), Some(3));
    }

    #[test]
    fn throttle_logs_first_then_counts() {
        let t = Throttle::default();
        assert_eq!(t.hit(), Some(0));
        assert_eq!(t.hit(), None);
        assert_eq!(t.hit(), None);
    }
}
