//! Small helpers shared by the client modules: protocol string constructors, the wall
//! clock and jittered periods.

use std::time::Duration;

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

/// A protocol string.
pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A topic name.
pub fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `period` shortened by a random 0-25%: for a consumer's periodic requests (heartbeats,
/// auto-commits). Consumers started together (a class logging in at once, a benchmark's
/// thousand) would otherwise send theirs in the same instant every period, a burst the
/// broker answers one after the other while every fetch waits behind it; drawn anew each
/// period, they spread out after the first. Never longer than `period`, so a heartbeat
/// still comes within the session timeout it was sized for.
pub fn jittered(period: Duration) -> Duration {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return period;
    }
    let cut = u32::from(u16::from_le_bytes(b)); // 0..65536
    period - period.mul_f64(f64::from(cut) / 65536.0 / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jittered_periods_stay_within_a_quarter_below_and_differ() {
        let period = Duration::from_secs(3);
        let draws: Vec<Duration> = (0..200).map(|_| jittered(period)).collect();
        assert!(draws.iter().all(|d| *d <= period && *d >= period * 3 / 4));
        let (lo, hi) = (draws.iter().min(), draws.iter().max());
        assert!(
            hi.zip(lo)
                .is_some_and(|(h, l)| *h - *l > Duration::from_millis(300)),
            "200 draws should spread over most of the quarter: {lo:?}..{hi:?}"
        );
    }
}
