//! The suite's W3 cells: one fan-out figure over repeated runs of ours or of the Redis
//! peer, as medians (one 10-second p99 moves by half from run to run on this machine), with
//! the fewest consumers any run completed and the rate a producer really offered when it
//! fell behind.

use crate::fanout::Fanout;
use crate::stats::{fmt_ms, median};

/// Median p50 and p99 over `runs`, and how many runs there were.
fn medians(runs: &mut [Fanout]) -> (f64, f64, String) {
    let p50 = median(runs.iter_mut().map(|r| r.latency.ms(0.5)).collect());
    let p99 = median(runs.iter_mut().map(|r| r.latency.ms(0.99)).collect());
    let of = if runs.len() > 1 {
        format!(", median of {}", runs.len())
    } else {
        String::new()
    };
    (p50, p99, of)
}

/// What rate the slowest run really offered, when a producer fell behind (see
/// [`Fanout::behind`]).
fn behind(runs: &[Fanout], rate: u32) -> String {
    runs.iter()
        .map(|r| r.behind(rate))
        .find(|b| !b.is_empty())
        .unwrap_or_default()
}

/// The suite's W3 cell for bbs over repeated runs: `p50 / p99 (complete/consumers)`, the
/// medians, with the fewest consumers any run completed.
pub(crate) fn cell(runs: &mut [Fanout], rate: u32) -> String {
    let (p50, p99, of) = medians(runs);
    let complete = runs.iter().map(|r| r.complete).min().unwrap_or(0);
    let consumers = runs.first().map_or(0, |r| r.consumers);
    format!(
        "{} / {} ({complete}/{consumers}){}{of}",
        fmt_ms(p50),
        fmt_ms(p99),
        behind(runs, rate)
    )
}

/// The suite's W3 cell splitting the latency per message over repeated runs (medians):
/// to the first consumer, and from the first consumer to the last, each p50 / p99.
pub(crate) fn split_cell(runs: &[Fanout]) -> String {
    let (mut f50, mut f99, mut s50, mut s99) = (vec![], vec![], vec![], vec![]);
    for r in runs {
        let (mut first, mut spread) = r.per_message.first_and_spread();
        f50.push(first.ms(0.5));
        f99.push(first.ms(0.99));
        s50.push(spread.ms(0.5));
        s99.push(spread.ms(0.99));
    }
    format!(
        "{} / {}, then {} / {}",
        fmt_ms(median(f50)),
        fmt_ms(median(f99)),
        fmt_ms(median(s50)),
        fmt_ms(median(s99))
    )
}

/// The suite's W3 cell for the Redis peer over repeated runs (medians).
pub(crate) fn peer_cell(runs: &mut [Fanout], rate: u32) -> String {
    let (p50, p99, of) = medians(runs);
    let missed = match runs.iter().find(|r| r.complete < r.consumers) {
        Some(r) => format!(" ({}/{} complete)", r.complete, r.consumers),
        None => String::new(),
    };
    format!(
        "Redis Streams p50 {} p99 {}{missed}{}{of}",
        fmt_ms(p50),
        fmt_ms(p99),
        behind(runs, rate)
    )
}
