//! One member of a classic consumer group: who it is, what protocols it offers, its
//! timeouts and liveness, and the parked JoinGroup / SyncGroup answers it is waiting for.
//! Also the results those answers carry, which the handlers turn into Kafka responses.

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::{Duration, Instant};
use wire::ErrorCode;

/// The answer to a JoinGroup, delivered when the join phase of a rebalance completes (or
/// at once for errors and for members that are already up to date).
#[derive(Debug, Clone, Default)]
pub struct JoinResult {
    /// Kafka error code (0 = none).
    pub error: ErrorCode,
    /// The generation the member joined, -1 on error.
    pub generation: i32,
    /// The group's protocol type ("consumer").
    pub protocol_type: Option<String>,
    /// The protocol (assignor) every member supports, chosen for this generation.
    pub protocol_name: Option<String>,
    /// The leader's member id (empty on error).
    pub leader: String,
    /// The member id the client must use from now on.
    pub member_id: String,
    /// For the leader only: every member with its metadata for the chosen protocol.
    pub members: Vec<JoinedMember>,
}

impl JoinResult {
    /// An error answer that keeps the member id the client sent.
    pub fn error(error: ErrorCode, member_id: &str) -> Self {
        JoinResult {
            error,
            generation: -1,
            member_id: member_id.to_string(),
            ..JoinResult::default()
        }
    }
}

/// A member as the leader sees it in its JoinGroup answer.
#[derive(Debug, Clone, Default)]
pub struct JoinedMember {
    /// The member id.
    pub member_id: String,
    /// Its static instance id, if any.
    pub instance_id: Option<String>,
    /// Its subscription metadata for the chosen protocol.
    pub metadata: Bytes,
}

/// The answer to a SyncGroup: the member's assignment, decided by the leader.
#[derive(Debug, Clone, Default)]
pub struct SyncResult {
    /// Kafka error code (0 = none).
    pub error: ErrorCode,
    /// The group's protocol type.
    pub protocol_type: Option<String>,
    /// The chosen protocol.
    pub protocol_name: Option<String>,
    /// The assignment blob (possibly empty, never missing).
    pub assignment: Bytes,
}

impl SyncResult {
    /// An error answer.
    pub fn error(error: ErrorCode) -> Self {
        SyncResult {
            error,
            ..SyncResult::default()
        }
    }
}

/// What a JoinGroup request asks for, already decoded.
#[derive(Debug, Clone, Default)]
pub struct JoinRequest {
    /// The group.
    pub group_id: String,
    /// The member id ("" for a new member).
    pub member_id: String,
    /// The static instance id (group.instance.id), if any.
    pub instance_id: Option<String>,
    /// The client id from the request header, shown by DescribeGroups.
    pub client_id: String,
    /// The client's address, shown by DescribeGroups.
    pub client_host: String,
    /// Who joined: DescribeGroups shows the address only to this principal and the
    /// operator.
    pub principal: crate::auth::Principal,
    /// How long the member may stay silent before it is removed.
    pub session_timeout_ms: i32,
    /// How long the group waits for the member to rejoin during a rebalance.
    pub rebalance_timeout_ms: i32,
    /// The protocol type ("consumer").
    pub protocol_type: String,
    /// Protocols the member supports, in its order of preference, with their metadata.
    pub protocols: Vec<(String, Bytes)>,
}

/// A member of a group.
#[derive(Debug)]
pub struct Member {
    /// The id the coordinator gave it.
    pub id: String,
    /// The static instance id: a restarted static member takes its old place.
    pub instance_id: Option<String>,
    /// Client id, for DescribeGroups.
    pub client_id: String,
    /// Client address, for DescribeGroups.
    pub client_host: String,
    /// Who joined (not persisted: a member restored after a restart is nobody's, so its
    /// address is shown to the operator only).
    pub principal: crate::auth::Principal,
    /// Silence allowed before the member is removed.
    pub session_timeout: Duration,
    /// Time allowed to rejoin during a rebalance.
    pub rebalance_timeout: Duration,
    /// Protocols it supports, by preference, with metadata.
    pub protocols: Vec<(String, Bytes)>,
    /// Its assignment in the current generation (empty until the leader syncs).
    pub assignment: Bytes,
    /// When we last heard from it (join, sync, heartbeat, commit).
    pub last_seen: Instant,
    /// Its parked JoinGroup answer, while it waits for the join phase to complete.
    pub join_waiter: Option<oneshot::Sender<JoinResult>>,
    /// Its parked SyncGroup answer, while it waits for the leader's assignment.
    pub sync_waiter: Option<oneshot::Sender<SyncResult>>,
}

impl Member {
    /// True while the member waits in JoinGroup or SyncGroup: such a member is alive by
    /// definition (its request is open), so its session does not run. A request whose
    /// connection closed does not count.
    pub fn is_waiting(&self) -> bool {
        self.awaiting_join() || self.sync_waiter.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// True while its JoinGroup is open.
    pub fn awaiting_join(&self) -> bool {
        self.join_waiter.as_ref().is_some_and(|tx| !tx.is_closed())
    }

    /// When the member's session runs out, unless it is waiting in a request.
    pub fn session_deadline(&self) -> Option<Instant> {
        (!self.is_waiting()).then(|| self.last_seen + self.session_timeout)
    }

    /// Its metadata for `protocol` (empty if it does not support it).
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Whether it offers exactly these protocols (name and metadata) already.
    pub fn same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// Answers its parked JoinGroup, if any; its session restarts from `now`.
    pub fn answer_join(&mut self, result: JoinResult, now: Instant) {
        if let Some(tx) = self.join_waiter.take() {
            let _ = tx.send(result);
            self.last_seen = now;
        }
    }

    /// Answers its parked SyncGroup, if any; its session restarts from `now`.
    pub fn answer_sync(&mut self, result: SyncResult, now: Instant) {
        if let Some(tx) = self.sync_waiter.take() {
            let _ = tx.send(result);
            self.last_seen = now;
        }
    }
}

/// Chooses the protocol for a generation: among the protocols every member supports, the
/// one most members list first among those; ties go to the first member's preference.
pub fn select_protocol(members: &[Member]) -> Option<String> {
    let first = members.first()?;
    let common: Vec<&str> = first
        .protocols
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| {
            members
                .iter()
                .all(|m| m.protocols.iter().any(|(p, _)| p == n))
        })
        .collect();
    let mut best: Option<(&str, usize)> = None;
    for candidate in &common {
        let votes = members
            .iter()
            .filter(|m| {
                m.protocols
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .find(|n| common.contains(n))
                    == Some(candidate)
            })
            .count();
        if best.is_none_or(|(_, v)| votes > v) {
            best = Some((candidate, votes));
        }
    }
    best.map(|(n, _)| n.to_string())
}
