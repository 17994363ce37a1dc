//! Waiting for a condition in a test: poll it until it holds or a deadline passes, instead
//! of a fixed sleep before an assertion (too short on a loaded machine, wasted time on an
//! idle one). Dependency-free so both test trees include the same file: `tests/common`
//! as a module, `bbs/tests` with `#[path = "../../tests/common/eventually.rs"]`.
// Shared by several test crates, some of which re-export it.
#![allow(unreachable_pub)]

use std::time::{Duration, Instant};

/// First pause between polls; it doubles up to [`MAX_PAUSE`], so a quick condition is seen
/// at once and a slow one (a peer client started per poll) is not hammered.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Longest pause between polls.
const MAX_PAUSE: Duration = Duration::from_millis(200);

/// Polls `cond` until it returns true; panics with `what` once `timeout` has passed.
pub fn eventually(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    eventually_some(what, timeout, || cond().then_some(()))
}

/// Polls `probe` until it returns `Some`, and returns that value; panics with `what` once
/// `timeout` has passed.
pub fn eventually_some<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
