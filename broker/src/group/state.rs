//! The classic rebalance protocol for one group, as a synchronous state machine: JoinGroup,
//! SyncGroup, Heartbeat and LeaveGroup move the group between Empty, PreparingRebalance,
//! CompletingRebalance and Stable; `tick` expires silent members and ends join phases whose
//! rebalance timeout ran out. Time is passed in (`tokio::time::Instant`), so tests run on
//! paused time. Parked answers are oneshot senders held by the members. This file holds
//! the group, JoinGroup and the join phase; `sync.rs` has SyncGroup, Heartbeat and
//! LeaveGroup.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};

use super::member::{select_protocol, JoinRequest, JoinResult, JoinedMember, Member, SyncResult};
use super::GroupConfig;
use wire::ErrorCode;

/// One committed offset (the group state holds them; [`super::offsets`] has the
/// rules of committing and persisting them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetEntry {
    /// The next offset the group will read.
    pub offset: i64,
    /// The leader epoch the client saw (-1 if it did not say).
    pub leader_epoch: i32,
    /// The client's metadata string, returned as given.
    pub metadata: String,
    /// Wall-clock ms of the commit: offsets of simple (member-less) groups expire from it.
    pub commit_ms: i64,
}

/// How often a rebalancing group checks for members whose open request died.
const REBALANCE_POLL: Duration = Duration::from_secs(1);

/// Where a group is in its rebalance cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    /// No members (committed offsets may remain).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Deleted; requests that still hold it must retry.
    Dead,
}

impl GroupState {
    /// The name Kafka uses in ListGroups and DescribeGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// One consumer group: members, generation, and committed offsets.
#[derive(Debug)]
pub struct Group {
    /// The group id.
    pub id: String,
    /// Current state.
    pub state: GroupState,
    /// "consumer" for consumer groups; None for groups that only commit offsets.
    pub protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    pub protocol: Option<String>,
    /// Increases with every completed join phase.
    pub generation: i32,
    /// The member that computes assignments.
    pub leader: Option<String>,
    /// Members in the order they joined (the first is the default leader).
    pub members: Vec<Member>,
    /// Committed offsets by (topic, partition).
    pub offsets: BTreeMap<(String, i32), OffsetEntry>,
    /// Wall-clock ms of the last state change: offsets of an empty group expire from it.
    pub state_since_ms: i64,
    /// Set when what is persisted about the group changed; the coordinator writes it out.
    pub dirty: bool,
    /// Whether a timer task is watching this group's deadlines.
    pub timer_running: bool,
    /// When the current join phase ends even if some members have not rejoined.
    rebalance_deadline: Option<Instant>,
    /// A new group's first join phase does not complete before this (initial delay).
    delay_until: Option<Instant>,
}

fn wall_ms() -> i64 {
    crate::now_ms()
}

impl Group {
    /// A new, empty group.
    pub fn new(id: &str) -> Self {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            protocol_type: None,
            protocol: None,
            generation: 0,
            leader: None,
            members: Vec::new(),
            offsets: BTreeMap::new(),
            state_since_ms: wall_ms(),
            dirty: false,
            timer_running: false,
            rebalance_deadline: None,
            delay_until: None,
        }
    }

    pub(super) fn set_state(&mut self, state: GroupState) {
        if self.state != state {
            tracing::debug!(group = %self.id, from = self.state.name(), to = state.name(), generation = self.generation, "group state");
            self.state = state;
            self.state_since_ms = wall_ms();
        }
    }

    fn index(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == member_id)
    }

    /// The member with this id.
    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == member_id)
    }

    /// A member's checks shared by sync, heartbeat, leave and commit: it exists and, if it
    /// is static, the instance id matches.
    pub fn check_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<usize, ErrorCode> {
        let idx = self.index(member_id).ok_or(ErrorCode::UNKNOWN_MEMBER_ID)?;
        match (&self.members[idx].instance_id, instance_id) {
            (Some(ours), Some(theirs)) if ours != theirs => Err(ErrorCode::FENCED_INSTANCE_ID),
            _ => Ok(idx),
        }
    }

    fn check_join(&self, req: &JoinRequest, cfg: &GroupConfig) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        }
        if req.session_timeout_ms < cfg.min_session_timeout_ms
            || req.session_timeout_ms > cfg.max_session_timeout_ms
        {
            return Err(ErrorCode::INVALID_SESSION_TIMEOUT);
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            return Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
        }
        let size: usize = req.protocols.iter().map(|(n, m)| n.len() + m.len()).sum();
        if size > cfg.max_member_metadata_bytes {
            return Err(ErrorCode::INVALID_REQUEST);
        }
        // Members other than the one rejoining decide what is acceptable.
        let others: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.id != req.member_id)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        if self.protocol_type.as_deref() != Some(req.protocol_type.as_str()) {
            return Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
        }
        let shared = req.protocols.iter().any(|(name, _)| {
            others
                .iter()
                .all(|m| m.protocols.iter().any(|(p, _)| p == name))
        });
        if !shared {
            return Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
        }
        Ok(())
    }

    /// Handles a JoinGroup. The answer arrives on the returned receiver: at once for errors
    /// and up-to-date members, when the join phase completes otherwise.
    pub fn join(
        &mut self,
        req: JoinRequest,
        now: Instant,
        cfg: &GroupConfig,
        new_member_id: impl FnOnce(&str) -> String,
    ) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Err(code) = self.check_join(&req, cfg) {
            let _ = tx.send(JoinResult::error(code, &req.member_id));
            return rx;
        }
        let session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        let rebalance_timeout = Duration::from_millis(
            req.rebalance_timeout_ms.max(req.session_timeout_ms).max(0) as u64,
        );
        let static_idx = match (&req.instance_id, req.member_id.is_empty()) {
            (Some(inst), true) => self
                .members
                .iter()
                .position(|m| m.instance_id.as_deref() == Some(inst.as_str())),
            _ => None,
        };
        let idx = if req.member_id.is_empty() {
            let id = new_member_id(&req.client_id);
            match static_idx {
                Some(i) => {
                    // A restarted static member takes its old place; the old id is fenced.
                    let old = &mut self.members[i];
                    old.answer_join(
                        JoinResult::error(ErrorCode::FENCED_INSTANCE_ID, &old.id),
                        now,
                    );
                    old.answer_sync(SyncResult::error(ErrorCode::FENCED_INSTANCE_ID), now);
                    if self.leader.as_deref() == Some(old.id.as_str()) {
                        self.leader = Some(id.clone());
                    }
                    old.id = id;
                    i
                }
                None => {
                    if self.members.len() >= cfg.max_size {
                        let _ = tx.send(JoinResult::error(ErrorCode::GROUP_MAX_SIZE_REACHED, ""));
                        return rx;
                    }
                    self.members.push(Member {
                        id,
                        instance_id: req.instance_id.clone(),
                        client_id: req.client_id.clone(),
                        client_host: req.client_host.clone(),
                        principal: req.principal.clone(),
                        session_timeout,
                        rebalance_timeout,
                        protocols: Vec::new(),
                        assignment: Bytes::new(),
                        last_seen: now,
                        join_waiter: None,
                        sync_waiter: None,
                    });
                    self.members.len() - 1
                }
            }
        } else {
            let i = match self.check_member(&req.member_id, req.instance_id.as_deref()) {
                Ok(i) => i,
                Err(code) => {
                    let _ = tx.send(JoinResult::error(code, &req.member_id));
                    return rx;
                }
            };
            if matches!(self.state, GroupState::Empty | GroupState::Dead) {
                let _ = tx.send(JoinResult::error(
                    ErrorCode::UNKNOWN_MEMBER_ID,
                    &req.member_id,
                ));
                return rx;
            }
            let up_to_date = self.members[i].same_protocols(&req.protocols)
                && match self.state {
                    GroupState::CompletingRebalance => true,
                    GroupState::Stable => self.leader.as_deref() != Some(req.member_id.as_str()),
                    _ => false,
                };
            if up_to_date {
                let m = &mut self.members[i];
                m.last_seen = now;
                let _ = tx.send(self.join_answer(i));
                return rx;
            }
            i
        };
        let m = &mut self.members[idx];
        m.protocols = req.protocols;
        m.session_timeout = session_timeout;
        m.rebalance_timeout = rebalance_timeout;
        m.client_id = req.client_id;
        m.client_host = req.client_host;
        m.principal = req.principal;
        m.last_seen = now;
        m.answer_join(
            JoinResult::error(ErrorCode::REBALANCE_IN_PROGRESS, &m.id),
            now,
        );
        m.join_waiter = Some(tx);
        self.protocol_type = Some(req.protocol_type);
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(now);
        } else {
            self.prepare_rebalance(now, cfg.initial_rebalance_delay);
        }
        rx
    }

    /// The JoinGroup answer for member `idx` in the current generation.
    fn join_answer(&self, idx: usize) -> JoinResult {
        let m = &self.members[idx];
        let is_leader = self.leader.as_deref() == Some(m.id.as_str());
        let protocol = self.protocol.clone().unwrap_or_default();
        JoinResult {
            error: ErrorCode::NONE,
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: m.id.clone(),
            members: if is_leader {
                self.members
                    .iter()
                    .map(|o| JoinedMember {
                        member_id: o.id.clone(),
                        instance_id: o.instance_id.clone(),
                        metadata: o.metadata(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Starts a rebalance: members must rejoin within the longest rebalance timeout.
    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        if self.state == GroupState::CompletingRebalance {
            for m in &mut self.members {
                m.answer_sync(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS), now);
            }
        }
        let timeout = self
            .members
            .iter()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        if self.state == GroupState::Empty && !initial_delay.is_zero() {
            self.delay_until = Some(now + initial_delay.min(timeout));
        }
        self.rebalance_deadline = Some(now + timeout);
        self.set_state(GroupState::PreparingRebalance);
        tracing::debug!(group = %self.id, members = self.members.len(), generation = self.generation, "rebalance started");
        self.try_complete_join(now);
    }

    /// Completes the join phase if every member has rejoined (and no initial delay runs).
    fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        if self.delay_until.is_some_and(|d| now < d) {
            return;
        }
        if self.members.iter().all(Member::awaiting_join) {
            self.complete_join(now);
        }
    }

    /// Ends the join phase: members that did not rejoin are removed, the generation moves
    /// on, a protocol and a leader are chosen, and every waiting member is answered.
    fn complete_join(&mut self, now: Instant) {
        self.rebalance_deadline = None;
        self.delay_until = None;
        let before = self.members.len();
        self.members.retain(Member::awaiting_join);
        if self.members.len() < before {
            tracing::debug!(group = %self.id, removed = before - self.members.len(), "members that did not rejoin were removed");
        }
        self.generation += 1;
        let protocol = select_protocol(&self.members);
        if self.members.is_empty() || protocol.is_none() {
            for m in &mut self.members {
                m.answer_join(
                    JoinResult::error(ErrorCode::INCONSISTENT_GROUP_PROTOCOL, &m.id),
                    now,
                );
            }
            self.become_empty();
            return;
        }
        self.protocol = protocol;
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| &m.id == l))
        {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        self.set_state(GroupState::CompletingRebalance);
        for i in 0..self.members.len() {
            let answer = self.join_answer(i);
            let m = &mut self.members[i];
            m.assignment = Bytes::new();
            m.last_seen = now;
            m.answer_join(answer, now);
        }
        tracing::debug!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol, leader = ?self.leader, "join phase complete");
    }

    fn become_empty(&mut self) {
        self.members.clear();
        self.protocol = None;
        self.leader = None;
        self.rebalance_deadline = None;
        self.delay_until = None;
        self.set_state(GroupState::Empty);
        self.dirty = true;
    }

    /// Reacts to members having gone: a settled group rebalances; a rebalancing one may
    /// now be complete.
    pub(super) fn members_removed(&mut self, now: Instant) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, Duration::ZERO)
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// The next moment `tick` has work to do, if any. While a rebalance runs this is at
    /// most a second away, so that members whose open request died (their connection
    /// closed) start their session clock soon.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let rebalancing = matches!(
            self.state,
            GroupState::PreparingRebalance | GroupState::CompletingRebalance
        );
        self.members
            .iter()
            .filter_map(Member::session_deadline)
            .chain(self.rebalance_deadline)
            .chain(self.delay_until)
            .chain(rebalancing.then(|| now + REBALANCE_POLL))
            .min()
    }

    /// Expires members whose session ran out and ends join phases whose time is up.
    pub fn tick(&mut self, now: Instant) {
        let before = self.members.len();
        let group = &self.id;
        self.members.retain(|m| match m.session_deadline() {
            Some(d) if d <= now => {
                tracing::debug!(%group, member = %m.id, "member session expired");
                false
            }
            _ => true,
        });
        if self.members.len() < before {
            self.members_removed(now);
        }
        if self.state == GroupState::PreparingRebalance {
            if self.delay_until.is_some_and(|d| d <= now) {
                self.delay_until = None;
                self.try_complete_join(now);
            }
            if self.rebalance_deadline.is_some_and(|d| d <= now) {
                self.complete_join(now);
            }
        }
    }

    /// Marks the group deleted: anyone still holding it gets a retriable error.
    pub fn kill(&mut self) {
        let now = Instant::now();
        for m in &mut self.members {
            m.answer_join(
                JoinResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE, &m.id),
                now,
            );
            m.answer_sync(SyncResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE), now);
        }
        self.members.clear();
        self.offsets.clear();
        self.set_state(GroupState::Dead);
    }
}
