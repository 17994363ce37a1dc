//! Committed offsets of a group and what is persisted about groups: the rules of
//! OffsetCommit (who may commit when), OffsetFetch, expiry of an empty group's offsets, and
//! the postcard records of the `__consumer_offsets` state log (offsets and group metadata).

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::time::{Duration, Instant};

use super::member::Member;
pub use super::state::OffsetEntry;
use super::state::{Group, GroupState};
use wire::ErrorCode;

/// Who commits: the member fields of an OffsetCommit.
#[derive(Debug, Clone, Copy)]
pub struct Committer<'a> {
    /// The member id ("" for simple commits).
    pub member_id: &'a str,
    /// The static instance id, if any.
    pub instance_id: Option<&'a str>,
    /// The generation (-1 for simple commits).
    pub generation: i32,
}

impl Group {
    /// Checks whether `who` may commit now (Kafka's rules): simple commits (generation -1)
    /// only while the group has no members; members only in their current generation and
    /// not while the leader is computing assignments. A valid commit counts as a heartbeat.
    pub fn check_commit(&mut self, who: Committer<'_>, now: Instant) -> Result<(), ErrorCode> {
        match self.state {
            GroupState::Dead => return Err(ErrorCode::COORDINATOR_NOT_AVAILABLE),
            GroupState::Empty if who.generation < 0 => return Ok(()),
            GroupState::Empty => return Err(ErrorCode::UNKNOWN_MEMBER_ID),
            _ => {}
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(ErrorCode::REBALANCE_IN_PROGRESS);
        }
        let idx = self.check_member(who.member_id, who.instance_id)?;
        if who.generation != self.generation {
            return Err(ErrorCode::ILLEGAL_GENERATION);
        }
        self.members[idx].last_seen = now;
        Ok(())
    }

    /// The committed offset of a partition, if any.
    pub fn committed(&self, topic: &str, partition: i32) -> Option<&OffsetEntry> {
        self.offsets.get(&(topic.to_string(), partition))
    }

    /// Offsets that have expired under `retention_ms` at wall-clock `now_ms`: all offsets of
    /// a consumer group that has been empty that long, and, for groups that only commit
    /// (no protocol type), each offset not renewed for that long. Nothing expires while the
    /// group has members, or when retention is negative.
    pub fn expired_offsets(&self, retention_ms: i64, now_ms: i64) -> Vec<(String, i32)> {
        if retention_ms < 0 || self.state != GroupState::Empty {
            return Vec::new();
        }
        let limit = now_ms.saturating_sub(retention_ms);
        self.offsets
            .iter()
            .filter(|(_, e)| match self.protocol_type {
                Some(_) => self.state_since_ms <= limit,
                None => e.commit_ms <= limit,
            })
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// What is persisted about the group's membership.
    pub fn snapshot(&self) -> GroupSnapshot {
        let protocol = self.protocol.clone().unwrap_or_default();
        GroupSnapshot {
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol.clone(),
            generation: self.generation,
            leader: self.leader.clone(),
            state_since_ms: self.state_since_ms,
            members: if self.state == GroupState::Stable {
                self.members
                    .iter()
                    .map(|m| MemberSnapshot {
                        member_id: m.id.clone(),
                        instance_id: m.instance_id.clone(),
                        client_id: m.client_id.clone(),
                        client_host: m.client_host.clone(),
                        session_timeout_ms: m.session_timeout.as_millis() as u64,
                        rebalance_timeout_ms: m.rebalance_timeout.as_millis() as u64,
                        metadata: m.metadata(&protocol).to_vec(),
                        assignment: m.assignment.to_vec(),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Rebuilds a group from its persisted snapshot. Members come back Stable with a fresh
    /// session: clients that reconnect and heartbeat carry on without a rebalance, the
    /// others expire.
    pub fn restore(id: &str, snap: GroupSnapshot, now: Instant) -> Group {
        let mut g = Group::new(id);
        g.protocol_type = snap.protocol_type;
        g.generation = snap.generation;
        g.state_since_ms = snap.state_since_ms;
        let protocol = snap.protocol.clone().unwrap_or_default();
        if !snap.members.is_empty() && snap.protocol.is_some() {
            g.protocol = snap.protocol;
            g.leader = snap.leader;
            g.state = GroupState::Stable;
            g.members = snap
                .members
                .into_iter()
                .map(|m| Member {
                    id: m.member_id,
                    instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    principal: crate::auth::Principal::Anonymous,
                    session_timeout: Duration::from_millis(m.session_timeout_ms),
                    rebalance_timeout: Duration::from_millis(m.rebalance_timeout_ms),
                    protocols: vec![(protocol.clone(), Bytes::from(m.metadata))],
                    assignment: Bytes::from(m.assignment),
                    last_seen: now,
                    join_waiter: None,
                    sync_waiter: None,
                })
                .collect();
        }
        g
    }
}

/// Key of a record in `__consumer_offsets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreKey {
    /// A committed offset.
    Offset {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// A group's membership metadata.
    Group {
        /// The group.
        group: String,
    },
}

/// Value of a record in `__consumer_offsets` (a tombstone deletes the key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoreValue {
    /// A committed offset.
    Offset(OffsetEntry),
    /// Group metadata.
    Group(GroupSnapshot),
}

/// Group metadata as persisted (after each completed rebalance and when it empties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSnapshot {
    /// "consumer", or None for a group that only commits.
    pub protocol_type: Option<String>,
    /// The chosen protocol of the generation.
    pub protocol: Option<String>,
    /// The generation.
    pub generation: i32,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Wall-clock ms of the last state change (offset expiry counts from it).
    pub state_since_ms: i64,
    /// Members of a stable group (empty otherwise).
    pub members: Vec<MemberSnapshot>,
}

/// A member as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberSnapshot {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Session timeout.
    pub session_timeout_ms: u64,
    /// Rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// Subscription metadata for the chosen protocol.
    pub metadata: Vec<u8>,
    /// Assignment.
    pub assignment: Vec<u8>,
}
