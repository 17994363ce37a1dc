//! Per-address limits on login failures and registrations. A failed login is answered
//! after a delay that doubles with each recent failure from the same address (capped);
//! past `max_login_failures` in the window the address is refused outright until the
//! window ends. Registrations are counted the same way.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;
/// The longest delay put on a failed login.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Counts events per address within a fixed window.
#[derive(Debug, Default)]
struct Counter {
    /// Address → (window start, events in the window).
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Counter {
    fn count(&self, ip: IpAddr, window: Duration) -> u32 {
        let Ok(map) = self.seen.lock() else { return 0 };
        match map.get(&ip) {
            Some((start, n)) if start.elapsed() < window => *n,
            _ => 0,
        }
    }

    fn add(&self, ip: IpAddr, window: Duration) -> u32 {
        let Ok(mut map) = self.seen.lock() else {
            return 0;
        };
        if map.len() >= SWEEP_AT {
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = map.entry(ip).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= window {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    fn clear(&self, ip: IpAddr) {
        if let Ok(mut map) = self.seen.lock() {
            map.remove(&ip);
        }
    }
}

/// The login and registration limiter shared by all connections.
#[derive(Debug)]
pub struct Limiter {
    /// Recent login failures per address.
    failures: Counter,
    /// Recent registrations per address.
    registrations: Counter,
    /// Delay after the first failure; doubles per further failure.
    base_delay: Duration,
    /// Failures allowed in a window before the address is refused.
    max_failures: u32,
    /// Registrations allowed per address in a window.
    max_registrations: u32,
    /// The counting window.
    window: Duration,
    /// Whether loopback addresses are counted (see `AuthConfig::limit_loopback`).
    limit_loopback: bool,
}

impl Limiter {
    /// A limiter with these settings.
    pub fn new(
        base_delay: Duration,
        max_failures: u32,
        max_registrations: u32,
        window: Duration,
    ) -> Self {
        Limiter {
            failures: Counter::default(),
            registrations: Counter::default(),
            base_delay,
            max_failures,
            max_registrations,
            window,
            limit_loopback: true,
        }
    }

    /// Sets whether loopback clients are counted like any other address.
    pub fn limit_loopback(mut self, on: bool) -> Self {
        self.limit_loopback = on;
        self
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        !self.limit_loopback && ip.is_loopback()
    }

    /// True when `ip` has failed too often recently and must not even try.
    pub fn login_blocked(&self, ip: IpAddr) -> bool {
        !self.exempt(ip) && self.failures.count(ip, self.window) >= self.max_failures
    }

    /// Records a failed login; returns how long to wait before answering.
    pub fn login_failed(&self, ip: IpAddr) -> Duration {
        if self.exempt(ip) {
            return self.base_delay;
        }
        let n = self.failures.add(ip, self.window);
        let factor = 1u32 << n.saturating_sub(1).min(10);
        self.base_delay.saturating_mul(factor).min(MAX_DELAY)
    }

    /// A successful login clears the address's failures.
    pub fn login_succeeded(&self, ip: IpAddr) {
        self.failures.clear(ip);
    }

    /// Counts a registration attempt; false when the address is over its limit.
    pub fn allow_registration(&self, ip: IpAddr) -> bool {
        if self.exempt(ip) {
            return true;
        }
        if self.registrations.count(ip, self.window) >= self.max_registrations {
            return false;
        }
        self.registrations.add(ip, self.window);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_slow_down_then_block_and_success_clears() {
        let l = Limiter::new(Duration::from_millis(100), 3, 2, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(l.login_failed(ip), Duration::from_millis(100));
        assert_eq!(l.login_failed(ip), Duration::from_millis(200));
        assert!(!l.login_blocked(ip));
        assert_eq!(l.login_failed(ip), Duration::from_millis(400));
        assert!(l.login_blocked(ip));
        assert!(!l.login_blocked(other));
        l.login_succeeded(ip);
        assert!(!l.login_blocked(ip));
        for _ in 0..40 {
            l.login_failed(other);
        }
        assert_eq!(l.login_failed(other), MAX_DELAY);
    }

    #[test]
    fn registrations_are_limited_per_address() {
        let l = Limiter::new(Duration::ZERO, 3, 2, Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        assert!(l.allow_registration(ip));
        assert!(l.allow_registration(ip));
        assert!(!l.allow_registration(ip));
        assert!(l.allow_registration([10, 0, 0, 3].into()));
        let short = Limiter::new(Duration::ZERO, 3, 1, Duration::from_millis(0));
        assert!(short.allow_registration(ip));
        assert!(short.allow_registration(ip));
    }

    #[test]
    fn loopback_is_exempt_unless_asked() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let l = Limiter::new(Duration::from_millis(100), 2, 1, Duration::from_secs(60))
            .limit_loopback(false);
        for _ in 0..5 {
            assert_eq!(l.login_failed(ip), Duration::from_millis(100));
            assert!(l.allow_registration(ip));
        }
        assert!(!l.login_blocked(ip));
        let strict = Limiter::new(Duration::from_millis(100), 2, 1, Duration::from_secs(60))
            .limit_loopback(true);
        strict.login_failed(ip);
        strict.login_failed(ip);
        assert!(strict.login_blocked(ip));
        assert!(strict.allow_registration(ip));
        assert!(!strict.allow_registration(ip));
    }
}
