//! Percentiles and figure formatting shared by the workloads.

use std::time::Duration;

/// Latency samples in microseconds, sorted on demand.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples(Vec<u64>);

impl Samples {
    /// An empty set with room for `n` samples.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Samples(Vec::with_capacity(n))
    }

    /// Adds one sample.
    pub(crate) fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros() as u64);
    }

    /// Adds one sample given in microseconds.
    pub(crate) fn push_us(&mut self, us: u64) {
        self.0.push(us);
    }

    /// The samples in microseconds, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.iter().copied()
    }

    /// How many samples.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p` quantile (0..=1) in milliseconds, by the nearest-rank rule; NaN when empty.
    pub(crate) fn ms(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        self.0.sort_unstable();
        let i = ((self.0.len() as f64 * p).ceil() as usize).clamp(1, self.0.len()) - 1;
        self.0[i] as f64 / 1000.0
    }
}

/// The median of a few measurements (the suite repeats noisy figures and quotes medians).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Milliseconds, with the precision a reader needs at that size.
pub(crate) fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "-".into()
    } else if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// A count per second.
pub(crate) fn fmt_rate(per_s: f64, unit: &str) -> String {
    if !per_s.is_finite() {
        "-".into()
    } else if per_s >= 1e6 {
        format!("{:.2} M {unit}/s", per_s / 1e6)
    } else if per_s >= 1e3 {
        format!("{:.1} k {unit}/s", per_s / 1e3)
    } else {
        format!("{per_s:.0} {unit}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Samples::default();
        for us in 1..=100 {
            s.push_us(us * 1000);
        }
        assert_eq!(s.ms(0.5), 50.0);
        assert_eq!(s.ms(0.99), 99.0);
        assert_eq!(s.ms(1.0), 100.0);
        assert!(Samples::default().ms(0.5).is_nan());
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    }
}
