//! A pumped poller's round ([`super::Net::pumped`]): the waiting thread polls the poller's
//! few sockets itself, reads or flushes the ready ones and runs the due timers. It runs
//! once per answer of every consumer, so it allocates nothing, and when there is only one
//! socket to watch (a consumer's connection to its broker), nothing to write and no bell,
//! it sleeps in `recv` on that socket instead of in `poll(2)`: one system call per answer
//! instead of two (`poll`, then `recv`), as a client that blocks in `read` makes.
//!
//! A wait that ends empty-handed wakes the thread about once: the socket's receive timeout
//! is the whole wait, in whole milliseconds (set again only when that changes, which a poll
//! loop with one timeout seldom does). The kernel counts it in clock ticks, so it ends
//! within a tick of the deadline; only when it ends before is the rest polled. (A timeout
//! kept a step short of the deadline, with the rest always polled, woke the thread twice
//! per wait.) Thousands of consumers waiting for late answers (a broker starved of CPU by
//! them) otherwise spend their wake-ups doing nothing, which starves the broker further.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Token;
use rustix::event::{PollFd, PollFlags, Timespec};

use super::{next_timer, run_timers, Inner};
use crate::conn::Shared;

/// What a pumped poller's waiters take turns with (holding it is being the one who polls).
#[derive(Default)]
pub(super) struct Pump {
    /// The sockets of the round being polled (kept, empty, between rounds).
    conns: Vec<(Token, Arc<Shared>)>,
}

/// Waits shorter than this are polled (`poll(2)` is precise; a receive timeout counts in
/// the kernel's clock ticks, which would make a short wait much longer).
const MIN_BLOCK: Duration = Duration::from_millis(10);

/// How many descriptors a pumped poller polls without allocating.
const STACK_FDS: usize = 4;

impl Pump {
    /// One round of a pumped poller: waits up to `timeout` (less when a timer is due) for
    /// its sockets, reads or flushes the ready ones, forgets dead ones, runs due timers.
    /// False when there was nothing to poll (no socket, or stopped).
    ///
    /// This runs once per fetch answer of every consumer, so it allocates nothing: the
    /// socket list is kept between rounds and a poller's few descriptors (its sockets to
    /// one or two brokers and the bell) are polled from an array on the stack.
    pub(super) fn run(&mut self, net: &Inner, timeout: Duration) -> bool {
        if net.stop.load(Ordering::SeqCst) {
            return false;
        }
        let timeout = match next_timer(net) {
            Some(at) => timeout.min(at.saturating_duration_since(Instant::now())),
            None => timeout,
        };
        let mut conns = std::mem::take(&mut self.conns);
        conns.extend(net.socks.lock().iter().map(|(t, c)| (*t, Arc::clone(c))));
        if conns.is_empty() {
            self.conns = conns;
            run_timers(net);
            return false;
        }
        let bell = net.bell.get();
        // One socket, nothing to write, no bell: sleep in `recv` on it.
        let in_recv = match (bell, conns.as_slice()) {
            (None, [(token, conn)]) if !conn.has_queued() => {
                blocking_wait(timeout).map(|wait| (token, conn, wait))
            }
            _ => None,
        };
        match in_recv {
            Some((token, conn, wait)) => {
                conn.read_blocking(wait);
                if !conn.is_alive() {
                    net.socks.lock().remove(token);
                }
            }
            None => poll_sockets(net, &conns, bell, timeout),
        }
        conns.clear();
        self.conns = conns;
        run_timers(net);
        true
    }
}

/// Polls `conns` (and the bell) up to `timeout` with `poll(2)`, from an array on the stack
/// when they fit, and reads or flushes the ready ones; forgets dead ones.
fn poll_sockets(
    net: &Inner,
    conns: &[(Token, Arc<Shared>)],
    bell: Option<&std::os::fd::OwnedFd>,
    timeout: Duration,
) {
    let want = |c: &Shared| {
        if c.has_queued() {
            PollFlags::IN | PollFlags::OUT
        } else {
            PollFlags::IN
        }
    };
    let ts = Timespec::try_from(timeout).ok();
    let count = conns.len() + usize::from(bell.is_some());
    let first = PollFd::new(&conns[0].1.stream, want(&conns[0].1));
    let mut stack: [PollFd<'_>; STACK_FDS] = std::array::from_fn(|_| first.clone());
    let mut heap = Vec::new();
    let fds: &mut [PollFd<'_>] = if count <= STACK_FDS {
        &mut stack[..count]
    } else {
        heap.resize(count, first);
        &mut heap
    };
    for (slot, (_, c)) in fds.iter_mut().zip(conns) {
        *slot = PollFd::new(&c.stream, want(c));
    }
    if let Some(bell) = bell {
        fds[conns.len()] = PollFd::new(bell, PollFlags::IN);
    }
    match rustix::event::poll(fds, ts.as_ref()) {
        Ok(_) => {
            if let Some(bell) = bell {
                if fds[conns.len()].revents().contains(PollFlags::IN) {
                    // Reset the counter; the waiter looks at its channel next.
                    let mut count = [0u8; 8];
                    let _ = rustix::io::read(bell, &mut count);
                }
            }
            for ((token, conn), fd) in conns.iter().zip(fds.iter()) {
                let got = fd.revents();
                if got.contains(PollFlags::OUT) {
                    conn.flush_queued(|_| {});
                }
                let closing = got.intersects(PollFlags::HUP | PollFlags::ERR);
                if closing || got.contains(PollFlags::IN) {
                    conn.read_ready(closing);
                }
                if got.contains(PollFlags::NVAL) {
                    conn.fail("poller: invalid socket".into());
                }
                if !conn.is_alive() {
                    net.socks.lock().remove(token);
                }
            }
        }
        Err(rustix::io::Errno::INTR) => {}
        Err(e) => tracing::error!(error = %e, "network poll failed"),
    }
}

/// How long a pumped poller's waiter sleeps in `recv` for a wait of `timeout`: all of it,
/// in whole milliseconds rounded up (the kernel ends it within a clock tick of that; the
/// caller polls what is left if it ends early); `None` when the wait is too short for a
/// receive timeout (it is polled instead).
fn blocking_wait(timeout: Duration) -> Option<Duration> {
    if timeout < MIN_BLOCK {
        return None;
    }
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocking_wait_is_the_whole_wait_in_whole_milliseconds() {
        let ms = Duration::from_millis;
        assert_eq!(blocking_wait(ms(100)), Some(ms(100)));
        // A poll loop's waits (its timeout, less what each round took) keep one value,
        // so the socket's timeout is seldom set again.
        assert_eq!(
            blocking_wait(ms(99) + Duration::from_micros(990)),
            Some(ms(100))
        );
        assert_eq!(
            blocking_wait(ms(99) + Duration::from_micros(1)),
            Some(ms(100))
        );
        assert_eq!(blocking_wait(ms(10)), Some(ms(10)));
        // Too short for the kernel's ticks: `poll(2)` waits it out.
        assert_eq!(blocking_wait(ms(9)), None);
        assert_eq!(blocking_wait(Duration::ZERO), None);
        assert_eq!(
            blocking_wait(Duration::from_secs(3600)),
            Some(Duration::from_secs(3600))
        );
    }
}
