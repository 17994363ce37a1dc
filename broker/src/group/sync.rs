//! The steady-state side of the rebalance protocol for one group: SyncGroup (the leader
//! hands out assignments, followers wait for theirs), Heartbeat (liveness, and the signal
//! to rejoin) and LeaveGroup.

use std::collections::BTreeMap;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::member::{JoinResult, SyncResult};
use super::state::{Group, GroupState};
use wire::ErrorCode;

impl Group {
    /// Handles a SyncGroup. The leader's call distributes the assignment; the others wait
    /// for it. Assignments sent by non-leaders are ignored, as Kafka does.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> oneshot::Receiver<SyncResult> {
        let (tx, rx) = oneshot::channel();
        let checked = match self.state {
            GroupState::Dead => Err(ErrorCode::COORDINATOR_NOT_AVAILABLE),
            GroupState::Empty => Err(ErrorCode::UNKNOWN_MEMBER_ID),
            _ => self.check_member(member_id, instance_id),
        }
        .and_then(|i| {
            if generation != self.generation {
                Err(ErrorCode::ILLEGAL_GENERATION)
            } else if protocol_type.is_some_and(|p| Some(p) != self.protocol_type.as_deref())
                || protocol_name.is_some_and(|p| Some(p) != self.protocol.as_deref())
            {
                Err(ErrorCode::INCONSISTENT_GROUP_PROTOCOL)
            } else if self.state == GroupState::PreparingRebalance {
                Err(ErrorCode::REBALANCE_IN_PROGRESS)
            } else {
                Ok(i)
            }
        });
        let idx = match checked {
            Ok(i) => i,
            Err(code) => {
                let _ = tx.send(SyncResult::error(code));
                return rx;
            }
        };
        self.members[idx].last_seen = now;
        if self.state == GroupState::Stable {
            let _ = tx.send(self.sync_answer(idx));
            return rx;
        }
        let m = &mut self.members[idx];
        m.answer_sync(SyncResult::error(ErrorCode::REBALANCE_IN_PROGRESS), now);
        m.sync_waiter = Some(tx);
        if self.leader.as_deref() == Some(member_id) {
            let mut given: BTreeMap<String, Bytes> = assignments.into_iter().collect();
            for m in &mut self.members {
                m.assignment = given.remove(&m.id).unwrap_or_default();
            }
            self.set_state(GroupState::Stable);
            self.dirty = true;
            for i in 0..self.members.len() {
                let answer = self.sync_answer(i);
                self.members[i].answer_sync(answer, now);
            }
            tracing::debug!(group = %self.id, generation = self.generation, "group stable");
        }
        rx
    }

    fn sync_answer(&self, idx: usize) -> SyncResult {
        SyncResult {
            error: ErrorCode::NONE,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: self.members[idx].assignment.clone(),
        }
    }

    /// Handles a Heartbeat: keeps the member alive and tells it whether to rejoin.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> ErrorCode {
        let idx = match self.state {
            GroupState::Dead => return ErrorCode::COORDINATOR_NOT_AVAILABLE,
            GroupState::Empty => return ErrorCode::UNKNOWN_MEMBER_ID,
            _ => match self.check_member(member_id, instance_id) {
                Ok(i) => i,
                Err(code) => return code,
            },
        };
        if generation != self.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        self.members[idx].last_seen = now;
        if self.state == GroupState::PreparingRebalance {
            ErrorCode::REBALANCE_IN_PROGRESS
        } else {
            ErrorCode::NONE
        }
    }

    /// Handles a LeaveGroup for one member (by member id, or by instance id when the
    /// member id is empty). Returns the Kafka error code for that member.
    pub fn leave(&mut self, member_id: &str, instance_id: Option<&str>, now: Instant) -> ErrorCode {
        let idx = if member_id.is_empty() {
            match instance_id.and_then(|inst| {
                self.members
                    .iter()
                    .position(|m| m.instance_id.as_deref() == Some(inst))
            }) {
                Some(i) => i,
                None => return ErrorCode::UNKNOWN_MEMBER_ID,
            }
        } else {
            match self.check_member(member_id, instance_id) {
                Ok(i) => i,
                Err(code) => return code,
            }
        };
        let mut m = self.members.remove(idx);
        tracing::debug!(group = %self.id, member = %m.id, "member left");
        m.answer_join(JoinResult::error(ErrorCode::UNKNOWN_MEMBER_ID, &m.id), now);
        m.answer_sync(SyncResult::error(ErrorCode::UNKNOWN_MEMBER_ID), now);
        self.members_removed(now);
        ErrorCode::NONE
    }
}
