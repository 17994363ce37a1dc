//! Waking a consumer from another thread: [`Consumer::waker`] hands out a
//! [`ConsumerWaker`] whose [`ConsumerWaker::wake`] makes the consumer's current `poll` (or
//! its next one) return at once, empty if no records came. What Kafka's Java consumer calls
//! `wakeup()`, except that `poll` returns instead of throwing.
//!
//! A consumer with a waker sleeps in `poll` until something happens: its poller gets a
//! bell (one eventfd, see [`crate::net`]) that the waker and the group's heartbeat answers
//! ring, so it hears of a wake-up or a rejoin at once, not at its next round of upkeep (a
//! second later at most). An application that polls with long timeouts (a screen's feed)
//! takes one; one that polls in a loop with short timeouts needs none. Without a bell
//! each answer costs one system call (the waiter sleeps in `recv`), with one two.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use super::fetcher::FetchDone;
use super::Consumer;
use crate::error::Result;
use crate::net::Net;

/// Ends a consumer's `poll` from another thread (see the module docs).
#[derive(Clone)]
pub struct ConsumerWaker {
    /// The consumer's channel: a message ends its wait.
    tx: mpsc::Sender<FetchDone>,
    /// Its poller, whose bell ends the `poll(2)` under the wait.
    net: Arc<Net>,
    /// Tells `poll` to return rather than wait on.
    woken: Arc<AtomicBool>,
}

impl std::fmt::Debug for ConsumerWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerWaker")
            .field("woken", &self.woken.load(Ordering::Relaxed))
            .finish()
    }
}

impl ConsumerWaker {
    /// Makes the consumer's current or next `poll` return as soon as it sees this.
    pub fn wake(&self) {
        self.woken.store(true, Ordering::SeqCst);
        let _ = self.tx.send(FetchDone::wake());
        self.net.wake();
    }
}

impl Consumer {
    /// A waker for this consumer (see [`ConsumerWaker`]). The first call gives the
    /// consumer's poller its bell and lets `poll` sleep until something happens.
    pub fn waker(&mut self) -> Result<ConsumerWaker> {
        let net = self.pool.net().clone();
        net.add_bell()?;
        if let Some(group) = &self.group {
            let (tx, net) = (self.tx.clone(), net.clone());
            group.set_nudge(Box::new(move || {
                let _ = tx.send(FetchDone::wake());
                net.wake();
            }));
        }
        Ok(ConsumerWaker {
            tx: self.tx.clone(),
            net,
            woken: self.woken.clone(),
        })
    }

    /// True once, after a [`ConsumerWaker::wake`].
    pub(super) fn take_wake(&self) -> bool {
        self.woken.swap(false, Ordering::SeqCst)
    }
}
