//! Limits on login failures and registrations. Failures are counted per address and per
//! (account, address): a failed login is answered after a delay that doubles with each
//! recent failure from the same address (capped); past `max_login_failures` in the window
//! the address (or that account from that address) is refused outright until the window
//! ends. Alternating accounts does not reset the address's count, a success clears only
//! its own (account, address) count, and nothing is counted per account alone, so a third
//! party can never lock a victim out of logins from the victim's own address. The address
//! is the real client's: for the classic port's proxied connections it is the address the
//! proxy vouched for (see `handlers::sasl`). Registrations are counted per address.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;
/// The longest delay put on a failed login.
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Counts events per key within a fixed window.
#[derive(Debug)]
struct Counter<K> {
    /// Key → (window start, events in the window).
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K> Default for Counter<K> {
    fn default() -> Self {
        Counter {
            seen: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Counter<K> {
    /// Events in the current window and the time left in it.
    fn count(&self, key: &K, window: Duration) -> (u32, Duration) {
        let map = self.seen.lock();
        match map.get(key) {
            Some((start, n)) if start.elapsed() < window => {
                (*n, window.saturating_sub(start.elapsed()))
            }
            _ => (0, Duration::ZERO),
        }
    }

    fn add(&self, key: K, window: Duration) -> u32 {
        let mut map = self.seen.lock();
        if map.len() >= SWEEP_AT {
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let e = map.entry(key).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= window {
            *e = (Instant::now(), 0);
        }
        e.1 = e.1.saturating_add(1);
        e.1
    }

    fn clear(&self, key: &K) {
        self.seen.lock().remove(key);
    }
}

/// The login and registration limiter shared by all connections.
#[derive(Debug)]
pub struct Limiter {
    /// Recent login failures per address, whatever the account.
    failures: Counter<IpAddr>,
    /// Recent login failures per (account, address).
    account_failures: Counter<(String, IpAddr)>,
    /// Recent registrations per address.
    registrations: Counter<IpAddr>,
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
            account_failures: Counter::default(),
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

    /// When `ip` (or `user` from `ip`, if known) has failed too often recently: how long
    /// until it may try again. `None` when it may try now.
    pub fn login_blocked(&self, ip: IpAddr, user: Option<&str>) -> Option<Duration> {
        if self.exempt(ip) {
            return None;
        }
        let (n, left) = self.failures.count(&ip, self.window);
        if n >= self.max_failures {
            return Some(left);
        }
        let (n, left) = self
            .account_failures
            .count(&(user?.to_string(), ip), self.window);
        (n >= self.max_failures).then_some(left)
    }

    /// Records a failed login of `user` (if known) from `ip`; returns how long to wait
    /// before answering.
    pub fn login_failed(&self, ip: IpAddr, user: Option<&str>) -> Duration {
        if self.exempt(ip) {
            return self.base_delay;
        }
        let n = self.failures.add(ip, self.window);
        if let Some(user) = user {
            self.account_failures
                .add((user.to_string(), ip), self.window);
        }
        let factor = 1u32 << n.saturating_sub(1).min(10);
        self.base_delay.saturating_mul(factor).min(MAX_DELAY)
    }

    /// A successful login clears that account's failures from that address; the
    /// address's own count stays until its window ends, so logging in to one's own
    /// account between guesses at another does not reset anything.
    pub fn login_succeeded(&self, ip: IpAddr, user: &str) {
        self.account_failures.clear(&(user.to_string(), ip));
    }

    /// Counts a registration attempt; false when the address is over its limit.
    pub fn allow_registration(&self, ip: IpAddr) -> bool {
        if self.exempt(ip) {
            return true;
        }
        if self.registrations.count(&ip, self.window).0 >= self.max_registrations {
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
        assert_eq!(l.login_failed(ip, Some("a")), Duration::from_millis(100));
        assert_eq!(l.login_failed(ip, Some("b")), Duration::from_millis(200));
        assert!(l.login_blocked(ip, None).is_none());
        // Alternating accounts keeps counting for the address.
        assert_eq!(l.login_failed(ip, Some("c")), Duration::from_millis(400));
        let left = l.login_blocked(ip, Some("d")).expect("blocked");
        assert!(left <= Duration::from_secs(60) && left > Duration::from_secs(50));
        assert!(l.login_blocked(other, Some("a")).is_none());
        // A success clears only its own (account, address) count.
        l.login_succeeded(ip, "a");
        assert!(l.login_blocked(ip, Some("a")).is_some());
        for _ in 0..40 {
            l.login_failed(other, None);
        }
        assert_eq!(l.login_failed(other, None), MAX_DELAY);
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
            assert_eq!(l.login_failed(ip, Some("u")), Duration::from_millis(100));
            assert!(l.allow_registration(ip));
        }
        assert!(l.login_blocked(ip, Some("u")).is_none());
        let strict = Limiter::new(Duration::from_millis(100), 2, 1, Duration::from_secs(60))
            .limit_loopback(true);
        strict.login_failed(ip, Some("u"));
        strict.login_failed(ip, None);
        assert!(strict.login_blocked(ip, None).is_some());
        assert!(strict.allow_registration(ip));
        assert!(!strict.allow_registration(ip));
    }
}
