//! Exponential backoff between retries: the one rule the client's connection pool (a
//! broker that refused a connection) and the BBS worker (reconnecting to the server) wait
//! by. Pure arithmetic: the caller counts failures and does the waiting.

use std::time::Duration;

/// How long to wait after a run of failures: `first`, then doubling, never more than
/// `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// The cap: past it the wait stops growing, so a long outage is still retried often.
    pub max: Duration,
}

impl Backoff {
    /// A backoff starting at `first` and capped at `max`.
    pub const fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { first, max }
    }

    /// The wait after `failures` consecutive failures (1 for the first):
    /// `first * 2^(failures-1)`, capped at `max`. Zero failures waits like one.
    pub fn delay(&self, failures: u32) -> Duration {
        let shift = failures.saturating_sub(1).min(16);
        self.first.saturating_mul(1 << shift).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let f = Duration::from_millis(50);
        let m = Duration::from_secs(1);
        let b = Backoff::new(f, m);
        assert_eq!(b.delay(1), f);
        assert_eq!(b.delay(2), Duration::from_millis(100));
        assert_eq!(b.delay(10), m);
        assert_eq!(b.delay(1000), m);
        // Zero failures waits like one; the shift never overflows.
        assert_eq!(b.delay(0), f);
        assert_eq!(b.delay(5), Duration::from_millis(800));
        assert_eq!(b.delay(u32::MAX), m);
    }

    #[test]
    fn a_huge_first_wait_saturates_instead_of_overflowing() {
        let b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.delay(40), Duration::MAX);
    }
}
