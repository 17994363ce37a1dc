//! Auto-commit without waiting: every `auto_commit_interval` the consumer sends its
//! positions to the group's coordinator and `poll` goes on, as the Java client's
//! auto-commit does (`commitAsync`). The answer comes after the broker's fsync; a `poll`
//! that waited for it held back the records it had already fetched, and under load that
//! wait was a large share of a fan-out's tail latency (docs/performance.md).
//!
//! One auto-commit is in flight at a time. A commit that waits (close, rebalance,
//! [`Consumer::commit_offsets`]) first waits for it, so an older commit is never answered
//! after a newer one from the same consumer. An answer that never comes (the connection
//! neither answers nor fails) is given up after the client's request timeout, so
//! auto-commit does not stop for good.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Consumer, TopicPartition};
use crate::error::Result;
use crate::util::jittered;

/// Which auto-commit it was, what it sent and how it ended.
type Outcome = (u64, BTreeMap<TopicPartition, i64>, Result<()>);

/// The consumer's auto-commit in flight, if any.
pub(super) struct AutoCommit {
    tx: mpsc::Sender<Outcome>,
    rx: mpsc::Receiver<Outcome>,
    /// When the one in flight was sent.
    sent: Option<Instant>,
    /// Its number: an answer to one given up on is not taken for the next one's.
    seq: u64,
}

impl AutoCommit {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        AutoCommit {
            tx,
            rx,
            sent: None,
            seq: 0,
        }
    }
}

impl Consumer {
    /// Called by `poll`: applies a finished auto-commit and, when one is due and none is in
    /// flight, sends the positions that changed.
    pub(super) fn auto_commit(&mut self) {
        if !self.config.auto_commit || self.config.group_id.is_none() {
            return;
        }
        self.finish_auto_commit(Duration::ZERO);
        let now = Instant::now();
        if self.autocommit.sent.is_some() || now < self.next_auto_commit {
            return;
        }
        self.next_auto_commit = now + jittered(self.config.auto_commit_interval);
        let changed = self.changed_positions();
        if changed.is_empty() {
            return;
        }
        let Some(group) = &self.group else {
            // Assigned partitions with a group id but no membership: the coordinator is
            // looked up for each commit, which waits.
            if let Err(e) = self.commit_offsets(changed) {
                tracing::warn!(error = %e, "auto-commit failed");
            }
            return;
        };
        let tx = self.autocommit.tx.clone();
        self.autocommit.sent = Some(now);
        self.autocommit.seq += 1;
        let (seq, sent) = (self.autocommit.seq, changed.clone());
        group.commit_async(&changed, move |outcome| {
            let _ = tx.send((seq, sent, outcome));
        });
    }

    /// Applies the auto-commit in flight once it is answered, waiting up to `wait` for
    /// that (and forgetting it when it has been unanswered past the request timeout).
    pub(super) fn finish_auto_commit(&mut self, wait: Duration) {
        let Some(sent) = self.autocommit.sent else {
            return;
        };
        let deadline = Instant::now() + wait;
        let outcome = loop {
            let got = match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => self.autocommit.rx.recv_timeout(left).ok(),
                _ => self.autocommit.rx.try_recv().ok(),
            };
            match got {
                Some((seq, offsets, result)) if seq == self.autocommit.seq => {
                    break Some((offsets, result))
                }
                Some(_) => continue, // the answer to one given up on
                None => break None,
            }
        };
        let Some((offsets, result)) = outcome else {
            if sent.elapsed() > self.cluster.config.request_timeout {
                tracing::warn!("auto-commit unanswered: sending the next one anyway");
                self.autocommit.sent = None;
            }
            return;
        };
        self.autocommit.sent = None;
        match result {
            Ok(()) => self.committed.extend(offsets),
            Err(e) => {
                tracing::warn!(error = %e, "auto-commit failed");
                if let Some(g) = &self.group {
                    g.commit_failed(&e);
                }
            }
        }
    }

    /// Positions that differ from what was last committed.
    pub(super) fn changed_positions(&self) -> BTreeMap<TopicPartition, i64> {
        self.parts
            .iter()
            .filter_map(|(tp, p)| p.position.map(|o| (tp.clone(), o)))
            .filter(|(tp, o)| self.committed.get(tp) != Some(o))
            .collect()
    }
}
