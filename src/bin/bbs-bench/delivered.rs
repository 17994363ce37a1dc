//! What a fan-out run records per message, so that its latency can be split in two: how
//! long a message took to reach its *first* consumer (the produce path: the producer, the
//! broker making it visible, one answer and one read) and how long from there to its
//! *last* (the fan-out proper: every other consumer's answer and read, which on a machine
//! with fewer cores than consumers is the CPU all of them cost, one after another). A
//! consumer keeps each message's latency by its sequence number ([`Delivered`]); the run
//! folds them into the first and last delivery of each message ([`PerMessage`]). Every
//! producer of the fan-out (ours, Redis's `XADD`) sends `"<send time in µs> <seq>"`.

use crate::stats::Samples;

/// No delivery of this message yet.
const MISSING: u32 = u32::MAX;

/// One consumer's deliveries: the latency of each message it got, by sequence number.
#[derive(Debug)]
pub(crate) struct Delivered {
    by_seq: Vec<u32>,
    count: usize,
}

impl Delivered {
    /// Room for the `total` messages of a run.
    pub(crate) fn new(total: usize) -> Self {
        Delivered {
            by_seq: vec![MISSING; total],
            count: 0,
        }
    }

    /// Records the message whose payload this is, at `now_us` (µs since the epoch, the
    /// producer's clock): its first delivery counts, a repeat does not. False when the
    /// payload is not one of the run's messages.
    pub(crate) fn note(&mut self, payload: &str, now_us: u64) -> bool {
        let mut fields = payload.split(' ');
        let sent = fields.next().and_then(|s| s.parse::<u64>().ok());
        let seq = fields.next().and_then(|s| s.parse::<usize>().ok());
        let (Some(sent), Some(seq)) = (sent, seq) else {
            return false;
        };
        let Some(slot) = self.by_seq.get_mut(seq) else {
            return false;
        };
        if *slot == MISSING {
            // Latencies past an hour are clamped: no run is that long.
            *slot = now_us.saturating_sub(sent).min(u64::from(MISSING - 1)) as u32;
            self.count += 1;
        }
        true
    }

    /// Distinct messages delivered.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// `(seq, latency µs)` of every message delivered.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.by_seq
            .iter()
            .enumerate()
            .filter(|(_, us)| **us != MISSING)
            .map(|(seq, us)| (seq, u64::from(*us)))
    }
}

/// Over all consumers: each message's first and last delivery.
#[derive(Debug, Default)]
pub(crate) struct PerMessage {
    /// By sequence number: the smallest and the largest latency seen (µs); `u64::MAX` and
    /// 0 until the message reached someone.
    first: Vec<u64>,
    last: Vec<u64>,
}

impl PerMessage {
    /// Counts one delivery of message `seq` after `us` microseconds.
    pub(crate) fn add(&mut self, seq: usize, us: u64) {
        if seq >= self.first.len() {
            self.first.resize(seq + 1, u64::MAX);
            self.last.resize(seq + 1, 0);
        }
        self.first[seq] = self.first[seq].min(us);
        self.last[seq] = self.last[seq].max(us);
    }

    /// `(seq, first µs, last µs)` of every message that reached anyone.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
        self.first
            .iter()
            .zip(&self.last)
            .enumerate()
            .filter(|(_, (f, _))| **f != u64::MAX)
            .map(|(seq, (f, l))| (seq, *f, *l))
    }

    /// Over the messages that reached anyone: the latency to their first consumer, and
    /// the time from the first consumer to the last (the spread).
    pub(crate) fn first_and_spread(&self) -> (Samples, Samples) {
        let mut first = Samples::with_capacity(self.first.len());
        let mut spread = Samples::with_capacity(self.first.len());
        for (_, f, l) in self.iter() {
            first.push_us(f);
            spread.push_us(l - f);
        }
        (first, spread)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_counts_each_message_once_and_ignores_strangers() {
        let mut d = Delivered::new(3);
        assert!(d.note("1000 0", 1_500));
        assert!(d.note("1000 0", 9_000), "a repeat is the run's message");
        assert!(d.note("2000 2", 2_250));
        assert!(!d.note("3000 3", 3_100), "past the run's messages");
        assert!(!d.note("hello", 1), "not a fan-out payload");
        assert_eq!(d.len(), 2);
        // The first delivery's latency stays.
        assert_eq!(d.iter().collect::<Vec<_>>(), vec![(0, 500), (2, 250)]);
    }

    #[test]
    fn first_and_spread_are_per_message_over_all_consumers() {
        let mut per = PerMessage::default();
        // Message 0 reaches three consumers after 400, 900 and 1,400 µs; message 2 one
        // consumer after 300 µs; message 1 nobody.
        for us in [900, 400, 1_400] {
            per.add(0, us);
        }
        per.add(2, 300);
        assert_eq!(
            per.iter().collect::<Vec<_>>(),
            vec![(0, 400, 1_400), (2, 300, 300)]
        );
        let (mut first, mut spread) = per.first_and_spread();
        assert_eq!(first.len(), 2, "only messages that reached someone");
        assert_eq!(first.ms(0.0), 0.3);
        assert_eq!(first.ms(1.0), 0.4);
        assert_eq!(spread.ms(0.0), 0.0);
        assert_eq!(spread.ms(1.0), 1.0);
    }
}
