//! What ListGroups and DescribeGroups show of the coordinator's groups.

use std::sync::Arc;

use bytes::Bytes;

use super::coordinator::{GroupCoordinator, Slot};
use super::state::GroupState;

/// A group as ListGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// Its protocol type ("" for groups that only commit).
    pub protocol_type: String,
    /// Its state name.
    pub state: &'static str,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    /// State name.
    pub state: &'static str,
    /// Protocol type.
    pub protocol_type: String,
    /// Chosen protocol (empty unless Stable).
    pub protocol: String,
    /// Members: (id, instance id, client id, host, metadata, assignment).
    pub members: Vec<MemberDescription>,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct MemberDescription {
    /// Member id.
    pub member_id: String,
    /// Static instance id.
    pub instance_id: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Client address.
    pub client_host: String,
    /// Who joined it (decides who may see `client_host`).
    pub principal: crate::auth::Principal,
    /// Subscription metadata (Stable groups only).
    pub metadata: Bytes,
    /// Assignment (Stable groups only).
    pub assignment: Bytes,
}

impl GroupCoordinator {
    /// ListGroups: every live group.
    pub fn list(&self) -> Vec<GroupListing> {
        let slots: Vec<Arc<Slot>> = self.map().values().cloned().collect();
        let mut out: Vec<GroupListing> = slots
            .iter()
            .filter_map(|s| {
                let g = s.lock();
                (g.state != GroupState::Dead).then(|| GroupListing {
                    group_id: g.id.clone(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    state: g.state.name(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out
    }

    /// DescribeGroups for one group (None: no such group).
    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let slot = self.slot(group_id)?;
        let g = slot.lock();
        if g.state == GroupState::Dead {
            return None;
        }
        let stable = g.state == GroupState::Stable;
        let protocol = g.protocol.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state.name(),
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: if stable {
                protocol.clone()
            } else {
                String::new()
            },
            members: g
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    principal: m.principal.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        })
    }
}
