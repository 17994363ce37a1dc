//! The group coordinator: the table of groups, each behind its own lock, a timer task per
//! group while it has deadlines (sessions, rebalance timeouts), persistence of offsets and
//! group metadata, and periodic expiry and compaction. Handlers call it; it knows nothing
//! of the wire format.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use super::member::{JoinRequest, JoinResult, SyncResult};
use super::offsets::{Committer, OffsetEntry, StoreKey, StoreValue};
use super::persist::{entry, Store};
use super::state::{Group, GroupState};
use super::GroupConfig;
use crate::error::Result;
use crate::log::Flusher;
use wire::ErrorCode;

/// Largest group metadata record written with members' subscriptions.
const MAX_SNAPSHOT_BYTES: usize = 512 * 1024;

/// An empty group without offsets is forgotten this long after it emptied.
const FORGET_AFTER_MS: i64 = 10_000;

/// A group and the means to wake its timer task.
pub(super) struct Slot {
    group: Mutex<Group>,
    /// Wakes the timer task when a deadline may have moved earlier.
    wake: Notify,
}

impl Slot {
    pub(super) fn lock(&self) -> MutexGuard<'_, Group> {
        self.group.lock()
    }
}

/// Resolves when a commit is durable.
pub struct CommitWait(Option<oneshot::Receiver<bool>>);

impl CommitWait {
    /// Waits for durability; a failed write is COORDINATOR_NOT_AVAILABLE (retriable).
    pub async fn durable(self) -> std::result::Result<(), ErrorCode> {
        match self.0 {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(true) => Ok(()),
                _ => Err(ErrorCode::COORDINATOR_NOT_AVAILABLE),
            },
        }
    }
}

/// The broker's group coordinator.
pub struct GroupCoordinator {
    /// Settings.
    pub config: GroupConfig,
    groups: Mutex<HashMap<String, Arc<Slot>>>,
    /// Persistence (None: memory only, for unit tests).
    store: Option<Store>,
    /// Makes member ids unique within this run.
    next_member: AtomicU64,
    /// Makes member ids unique across runs.
    boot: u64,
}

impl GroupCoordinator {
    /// Opens `__consumer_offsets` under `dir` and restores its groups. Needs a runtime.
    pub fn open(config: GroupConfig, dir: &Path, flusher: Flusher) -> Result<Arc<Self>> {
        let (store, loaded) = Store::open(dir, flusher)?;
        let me = Arc::new(Self::build(config, Some(store)));
        for (id, g) in loaded {
            let slot = Arc::new(Slot {
                group: Mutex::new(g),
                wake: Notify::new(),
            });
            me.watch(&slot, &mut slot.lock());
            me.map().insert(id, slot);
        }
        Ok(me)
    }

    /// A coordinator that keeps everything in memory (tests).
    pub fn in_memory(config: GroupConfig) -> Arc<Self> {
        Arc::new(Self::build(config, None))
    }

    fn build(config: GroupConfig, store: Option<Store>) -> Self {
        let boot = crate::now_ms() as u64 ^ u64::from(std::process::id()) << 40;
        GroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
            store,
            next_member: AtomicU64::new(1),
            boot,
        }
    }

    pub(super) fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.groups.lock()
    }

    pub(super) fn slot(&self, id: &str) -> Option<Arc<Slot>> {
        self.map().get(id).cloned()
    }

    fn slot_or_create(&self, id: &str) -> Arc<Slot> {
        Arc::clone(self.map().entry(id.to_string()).or_insert_with(|| {
            Arc::new(Slot {
                group: Mutex::new(Group::new(id)),
                wake: Notify::new(),
            })
        }))
    }

    fn new_member_id(&self, client_id: &str) -> String {
        let n = self.next_member.fetch_add(1, Ordering::Relaxed);
        let prefix: String = client_id.chars().take(64).collect();
        let prefix = if prefix.is_empty() { "member" } else { &prefix };
        format!("{prefix}-{:x}-{n}", self.boot)
    }

    /// After a change: persist metadata if it changed, and make sure a timer watches the
    /// group's deadlines.
    fn watch(&self, slot: &Arc<Slot>, g: &mut Group) {
        persist_if_dirty(self.store.as_ref(), g);
        if g.timer_running {
            slot.wake.notify_one();
        } else if g.next_deadline(Instant::now()).is_some() {
            g.timer_running = true;
            tokio::spawn(timer(Arc::clone(slot), self.store.clone()));
        }
    }

    /// JoinGroup: the answer comes on the receiver when the join phase completes.
    pub fn join(&self, req: JoinRequest) -> oneshot::Receiver<JoinResult> {
        let slot = if req.member_id.is_empty() {
            self.slot_or_create(&req.group_id)
        } else {
            match self.slot(&req.group_id) {
                Some(s) => s,
                None => {
                    let (tx, rx) = oneshot::channel();
                    let _ = tx.send(JoinResult::error(
                        ErrorCode::UNKNOWN_MEMBER_ID,
                        &req.member_id,
                    ));
                    return rx;
                }
            }
        };
        let mut g = slot.lock();
        let rx = g.join(req, Instant::now(), &self.config, |c| self.new_member_id(c));
        self.watch(&slot, &mut g);
        rx
    }

    /// SyncGroup: the answer comes on the receiver once the leader has sent assignments.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> oneshot::Receiver<SyncResult> {
        let Some(slot) = self.slot(group_id) else {
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID));
            return rx;
        };
        let mut g = slot.lock();
        let rx = g.sync(
            member_id,
            instance_id,
            generation,
            protocol_type,
            protocol_name,
            assignments,
            Instant::now(),
        );
        self.watch(&slot, &mut g);
        rx
    }

    /// Heartbeat: the Kafka error code to answer.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> ErrorCode {
        match self.slot(group_id) {
            None => ErrorCode::UNKNOWN_MEMBER_ID,
            Some(slot) => slot
                .lock()
                .heartbeat(member_id, instance_id, generation, Instant::now()),
        }
    }

    /// LeaveGroup for several members: one error code per member.
    pub fn leave(&self, group_id: &str, members: &[(String, Option<String>)]) -> Vec<ErrorCode> {
        let Some(slot) = self.slot(group_id) else {
            return vec![ErrorCode::UNKNOWN_MEMBER_ID; members.len()];
        };
        let codes = {
            let mut g = slot.lock();
            let now = Instant::now();
            let codes = members
                .iter()
                .map(|(m, i)| g.leave(m, i.as_deref(), now))
                .collect();
            self.watch(&slot, &mut g);
            codes
        };
        self.forget_if_unused(group_id, &slot);
        codes
    }

    /// Forgets a group at once when its last member has left and it holds no offsets
    /// (its metadata tombstoned in the store), instead of [`FORGET_AFTER_MS`] later: a
    /// consumer that never commits (each BBS session's feed, one fresh group per login)
    /// leaves nothing in ListGroups or in what a restart replays. Groups emptied by
    /// session expiry are still forgotten by [`GroupCoordinator::maintain`].
    fn forget_if_unused(&self, group_id: &str, slot: &Arc<Slot>) {
        let mut map = self.map();
        if !map.get(group_id).is_some_and(|s| Arc::ptr_eq(s, slot)) {
            return;
        }
        let mut g = slot.lock();
        if g.state != GroupState::Empty || !g.offsets.is_empty() {
            return;
        }
        let entries = tombstones(&g, Vec::new(), true);
        g.kill();
        drop(g);
        map.remove(group_id);
        drop(map);
        tracing::debug!(
            group = group_id,
            "the last member left a group without offsets: forgotten"
        );
        if let Some(store) = &self.store {
            store.write_detached(entries);
        }
    }

    /// OffsetCommit of already validated partitions. The offsets are visible at once (so a
    /// later request on the connection sees them); the returned wait resolves when they
    /// are durable.
    pub fn commit(
        &self,
        group_id: &str,
        who: Committer<'_>,
        offsets: Vec<(String, i32, OffsetEntry)>,
    ) -> std::result::Result<CommitWait, ErrorCode> {
        let slot = if who.generation < 0 && who.member_id.is_empty() {
            self.slot_or_create(group_id)
        } else {
            self.slot(group_id).ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?
        };
        let mut g = slot.lock();
        g.check_commit(who, Instant::now())?;
        let mut entries = Vec::with_capacity(offsets.len());
        for (topic, partition, e) in offsets {
            if self.store.is_some() {
                let key = StoreKey::Offset {
                    group: group_id.to_string(),
                    topic: topic.clone(),
                    partition,
                };
                entries.push(
                    entry(&key, Some(&StoreValue::Offset(e.clone())))
                        .map_err(|_| ErrorCode::UNKNOWN_SERVER_ERROR)?,
                );
            }
            g.offsets.insert((topic, partition), e);
        }
        Ok(CommitWait(self.store.as_ref().map(|s| s.write(entries))))
    }

    /// OffsetFetch: committed offsets of the given partitions (None: every committed one).
    pub fn fetch(
        &self,
        group_id: &str,
        wanted: Option<Vec<(String, i32)>>,
    ) -> Vec<(String, i32, Option<OffsetEntry>)> {
        let slot = self.slot(group_id);
        let g = slot.as_ref().map(|s| s.lock());
        match wanted {
            Some(list) => list
                .into_iter()
                .map(|(t, p)| {
                    let e = g.as_ref().and_then(|g| g.committed(&t, p).cloned());
                    (t, p, e)
                })
                .collect(),
            None => g
                .map(|g| {
                    g.offsets
                        .iter()
                        .map(|((t, p), e)| (t.clone(), *p, Some(e.clone())))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// DeleteGroups for one group: only empty groups may go; their offsets go with them.
    /// The group is gone at once; the wait resolves when the deletion is durable.
    pub fn delete(&self, group_id: &str) -> std::result::Result<CommitWait, ErrorCode> {
        let mut map = self.map();
        let slot = map
            .get(group_id)
            .cloned()
            .ok_or(ErrorCode::GROUP_ID_NOT_FOUND)?;
        let mut g = slot.lock();
        match g.state {
            GroupState::Dead => return Err(ErrorCode::GROUP_ID_NOT_FOUND),
            GroupState::Empty => {}
            _ => return Err(ErrorCode::NON_EMPTY_GROUP),
        }
        let entries = tombstones(&g, g.offsets.keys().cloned().collect(), true);
        g.kill();
        map.remove(group_id);
        tracing::debug!(group = group_id, "group deleted");
        Ok(CommitWait(self.store.as_ref().map(|s| s.write(entries))))
    }

    /// Expires offsets of groups empty for longer than the retention, forgets empty groups
    /// with no offsets, and compacts the log.
    pub fn maintain(&self, now_ms: i64) {
        let mut map = self.map();
        let mut writes = Vec::new();
        map.retain(|_, slot| {
            let mut g = slot.lock();
            let expired = g.expired_offsets(self.config.offsets_retention_ms, now_ms);
            for k in &expired {
                g.offsets.remove(k);
            }
            let forget = g.state == GroupState::Empty
                && g.offsets.is_empty()
                && now_ms - g.state_since_ms >= FORGET_AFTER_MS;
            if !expired.is_empty() || forget {
                tracing::info!(group = %g.id, expired = expired.len(), forget, "expiring group offsets");
                writes.extend(tombstones(&g, expired, forget));
            }
            if forget {
                g.kill();
            }
            !forget
        });
        drop(map);
        if let Some(store) = &self.store {
            if !writes.is_empty() {
                store.write_detached(writes);
            }
            if let Err(e) = store.log.partition.compact(store.log.config(), now_ms) {
                tracing::warn!(error = %e, "compaction of __consumer_offsets failed");
            }
        }
    }

    /// Runs [`GroupCoordinator::maintain`] every `interval`.
    pub async fn maintenance_loop(self: Arc<Self>, interval: std::time::Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            let _ = tokio::task::spawn_blocking(move || me.maintain(crate::now_ms())).await;
        }
    }
}

/// Tombstones for some of a group's offsets, and for its metadata when `group_too`.
fn tombstones(
    g: &Group,
    offsets: Vec<(String, i32)>,
    group_too: bool,
) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let mut keys: Vec<StoreKey> = offsets
        .into_iter()
        .map(|(topic, partition)| StoreKey::Offset {
            group: g.id.clone(),
            topic,
            partition,
        })
        .collect();
    if group_too {
        keys.push(StoreKey::Group {
            group: g.id.clone(),
        });
    }
    keys.iter().filter_map(|k| entry(k, None).ok()).collect()
}

fn persist_if_dirty(store: Option<&Store>, g: &mut Group) {
    if !std::mem::take(&mut g.dirty) {
        return;
    }
    let Some(store) = store else { return };
    let key = StoreKey::Group {
        group: g.id.clone(),
    };
    let mut snap = g.snapshot();
    let mut encoded = entry(&key, Some(&StoreValue::Group(snap.clone())));
    if encoded
        .as_ref()
        .is_ok_and(|(_, v)| v.as_ref().map_or(0, Bytes::len) > MAX_SNAPSHOT_BYTES)
    {
        // Subscriptions are the bulky part and clients resend them on rejoin.
        for m in &mut snap.members {
            m.metadata.clear();
        }
        encoded = entry(&key, Some(&StoreValue::Group(snap)));
    }
    match encoded {
        Ok(e) => store.write_detached(vec![e]),
        Err(err) => tracing::warn!(group = %g.id, error = %err, "could not encode group metadata"),
    }
}

/// Sleeps until the group's next deadline, then lets it expire members and end join
/// phases; exits when the group has no deadlines left.
async fn timer(slot: Arc<Slot>, store: Option<Store>) {
    loop {
        let next = {
            let mut g = slot.lock();
            match g.next_deadline(Instant::now()) {
                Some(d) if g.state != GroupState::Dead => d,
                _ => {
                    g.timer_running = false;
                    return;
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                let mut g = slot.lock();
                g.tick(Instant::now());
                persist_if_dirty(store.as_ref(), &mut g);
            }
            _ = slot.wake.notified() => {}
        }
    }
}
