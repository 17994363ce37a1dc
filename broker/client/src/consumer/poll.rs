//! The consumer's poll loop: group upkeep, pattern resolution, positions, fetching and
//! handing out records. Split from `mod.rs`, which holds the types and the simple calls.

use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ErrorCode;

use super::{offsets, ClusterView, Consumer, OffsetReset, PartState, Subscription, TopicPartition};
use crate::error::{Error, Result};
use crate::records::ConsumerRecord;

/// Longest wait in `poll` between two rounds of group upkeep (metadata age, rejoins,
/// the coordinator's connection, auto-commit). A consumer whose poller has a bell hears of
/// a rejoin at once (the heartbeat answer that asks for it rings); one without hears of it
/// within this, as the Java consumer does at its next `poll`. The timed chores run every
/// few seconds, so this is short enough for them, and long enough that thousands of
/// consumers waiting for late answers do not spend the broker's CPU waking up to look.
const UPKEEP: Duration = Duration::from_secs(1);

impl Consumer {
    /// Returns the next records, waiting up to `timeout` for some to arrive (less when a
    /// [`super::ConsumerWaker`] wakes it). Also where the consumer joins its group,
    /// resolves positions and commits automatically.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>> {
        if self.closed {
            return Err(Error::Closed("consumer"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            self.maintain()?;
            self.drain_fetches(Duration::ZERO)?;
            let out = self.take_records();
            if !out.is_empty() {
                self.send_fetches();
                return Ok(out);
            }
            self.send_fetches();
            let now = Instant::now();
            if now >= deadline {
                // No time to wait: take what the sockets already hold.
                self.pool.net().pump_now();
                self.drain_fetches(Duration::ZERO)?;
                let out = self.take_records();
                if !out.is_empty() {
                    self.send_fetches();
                }
                return Ok(out);
            }
            self.drain_fetches((deadline - now).min(UPKEEP))?;
            let out = self.take_records();
            if !out.is_empty() {
                self.send_fetches();
                return Ok(out);
            }
            if Instant::now() >= deadline || self.take_wake() {
                return Ok(Vec::new());
            }
        }
    }

    /// Metadata refresh, pattern resolution, rebalances, positions, auto-commit.
    fn maintain(&mut self) -> Result<()> {
        if let Err(e) = self.cluster.maybe_refresh() {
            tracing::debug!(error = %e, "metadata refresh failed");
        }
        // What depends on the metadata alone is redone only when it changed.
        let view = self.cluster.view();
        let changed = !self
            .resolved_from
            .as_ref()
            .is_some_and(|seen| Arc::ptr_eq(seen, &view));
        if changed {
            self.warn_missing_topics(&view);
        }
        if self.group.is_some() {
            if changed {
                let topics = self.subscribed_topics(&view);
                if topics != self.topics {
                    self.topics = topics;
                    if let Some(g) = &self.group {
                        g.request_rejoin();
                    }
                }
            }
            if self.group.as_ref().is_some_and(|g| g.needs_join()) {
                self.rebalance()?;
            }
            if let Some(g) = &self.group {
                g.keep_alive();
            }
        }
        if changed {
            self.resolved_from = Some(view);
        }
        self.update_positions()?;
        self.auto_commit();
        Ok(())
    }

    /// Says once per topic when a named topic does not exist: a broker that does not create
    /// topics on first use (Tansu, Kafka with auto-create off) would otherwise leave the
    /// consumer waiting in silence.
    fn warn_missing_topics(&mut self, view: &ClusterView) {
        let named: Vec<String> = match &self.config.subscription {
            Subscription::Topics(t) => t.clone(),
            Subscription::Manual(ps) => ps.iter().map(|p| p.topic.clone()).collect(),
            _ => return,
        };
        for topic in named {
            let missing = view
                .topics
                .get(&topic)
                .is_some_and(|t| t.error == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
            if missing && self.warned_missing.insert(topic.clone()) {
                tracing::warn!(
                    %topic,
                    "topic does not exist on the cluster: the consumer waits for it (create it \
                     first if the broker does not create topics on first use)"
                );
            } else if !missing {
                self.warned_missing.remove(&topic);
            }
        }
    }

    /// The topics the subscription stands for now.
    fn subscribed_topics(&self, view: &ClusterView) -> Vec<String> {
        match &self.config.subscription {
            Subscription::Topics(t) => {
                let mut t = t.clone();
                t.sort();
                t.dedup();
                t
            }
            Subscription::Pattern(_) => {
                let Some(re) = &self.pattern else {
                    return Vec::new();
                };
                let mut t: Vec<String> = view
                    .topics
                    .iter()
                    .filter(|(name, info)| {
                        !info.internal && info.error.is_ok() && re.is_match(name)
                    })
                    .map(|(name, _)| name.clone())
                    .collect();
                t.sort();
                t
            }
            _ => Vec::new(),
        }
    }

    /// Revokes the current assignment, rejoins and installs the new one.
    fn rebalance(&mut self) -> Result<()> {
        let old: Vec<TopicPartition> = self.parts.keys().cloned().collect();
        if !old.is_empty() {
            if self.config.auto_commit {
                if let Err(e) = self.commit_changed() {
                    tracing::warn!(error = %e, "commit before rebalance failed");
                }
            }
            if let Some(l) = self.listener.as_mut() {
                l.on_revoked(&old);
            }
        }
        let topics = self.topics.clone();
        let Some(group) = &self.group else {
            return Ok(());
        };
        let assigned = group.join(&topics)?;
        self.cluster
            .want_topics(assigned.iter().map(|tp| tp.topic.as_str()));
        self.parts = assigned
            .iter()
            .map(|tp| (tp.clone(), PartState::default()))
            .collect();
        self.committed.clear();
        tracing::info!(group = %group.group_id, partitions = assigned.len(), "assignment received");
        if let Some(l) = self.listener.as_mut() {
            l.on_assigned(&assigned);
        }
        Ok(())
    }

    /// Resolves positions: committed offsets first, then the reset policy.
    fn update_positions(&mut self) -> Result<()> {
        let missing: Vec<TopicPartition> = self
            .parts
            .iter()
            .filter(|(_, p)| p.position.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut need_reset = missing.clone();
        if self.config.group_id.is_some() {
            match self.committed(&missing) {
                Ok(found) => {
                    need_reset.clear();
                    for tp in missing {
                        match found.get(&tp).copied().flatten() {
                            Some(off) => self.set_position(&tp, off),
                            None => need_reset.push(tp),
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "fetching committed offsets failed");
                    return Ok(());
                }
            }
        }
        need_reset.retain(|tp| match self.start_offsets.get(tp).copied() {
            Some(off) => {
                self.set_position(tp, off);
                false
            }
            None => true,
        });
        self.reset_positions(&need_reset)
    }

    /// Applies the reset policy to `parts`.
    pub(super) fn reset_positions(&mut self, parts: &[TopicPartition]) -> Result<()> {
        if parts.is_empty() {
            return Ok(());
        }
        let ts = match self.config.offset_reset {
            OffsetReset::Earliest => -2,
            OffsetReset::Latest => -1,
            OffsetReset::None => {
                return Err(Error::InvalidState(format!(
                    "no committed offset for {} and the reset policy is None",
                    parts[0]
                )))
            }
        };
        match offsets::list_offsets(&self.cluster, parts, ts) {
            Ok(found) => {
                for (tp, off) in found {
                    self.set_position(&tp, off);
                }
            }
            Err(e) => tracing::debug!(error = %e, "listing offsets failed"),
        }
        Ok(())
    }

    fn set_position(&mut self, tp: &TopicPartition, off: i64) {
        if let Some(p) = self.parts.get_mut(tp) {
            p.position = Some(off);
            p.fetch_offset = off;
            p.buffer.clear();
        }
    }

    /// Applies finished fetches, waiting up to `wait` for the first one. The consumer's
    /// connections are read here, by this thread, while it waits (a pumped poller); with
    /// no wait, only what was already read is applied.
    fn drain_fetches(&mut self, wait: Duration) -> Result<()> {
        let first = if wait.is_zero() {
            self.rx.try_recv().ok()
        } else {
            self.pool.net().wait_for(&self.rx, Instant::now() + wait)
        };
        let Some(first) = first else { return Ok(()) };
        self.apply_fetch(first)?;
        while let Ok(done) = self.rx.try_recv() {
            self.apply_fetch(done)?;
        }
        Ok(())
    }

    /// Takes up to `max_poll_records` buffered records, fairly across partitions: each
    /// call starts at the next partition that has records.
    fn take_records(&mut self) -> Vec<ConsumerRecord> {
        let max = self.config.max_poll_records;
        let ready = |p: &PartState| !p.paused && !p.buffer.is_empty();
        // The ready partitions and their records, in one pass: the list is sized once (a
        // consumer behind the stream takes hundreds of records per call).
        let (count, buffered) = self
            .parts
            .values()
            .filter(|p| ready(p))
            .fold((0, 0), |(n, r), p| (n + 1, r + p.buffer.len()));
        if count == 0 {
            return Vec::new();
        }
        let start = self.rr_cursor % count;
        self.rr_cursor = self.rr_cursor.wrapping_add(1);
        let mut out = Vec::with_capacity(buffered.min(max));
        // The ready partitions from `start` on, then the ones before it.
        for pass in [start..count, 0..start] {
            let mut ready_index = 0;
            for p in self.parts.values_mut() {
                if !ready(p) {
                    continue;
                }
                let this = ready_index;
                ready_index += 1;
                if !pass.contains(&this) {
                    continue;
                }
                while out.len() < max {
                    let Some(r) = p.buffer.pop_front() else { break };
                    p.position = Some(r.offset + 1);
                    out.push(r);
                }
                if out.len() >= max {
                    return out;
                }
            }
        }
        out
    }
}
