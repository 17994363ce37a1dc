//! Consumer groups: the classic rebalance protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) and committed offsets, kept durably in the internal `__consumer_offsets`
//! state log. [`state`] is the per-group state machine, [`offsets`] the commit rules and
//! persisted records, [`persist`] the log writer, [`coordinator`] the table of groups and
//! their timers, [`sync`] SyncGroup/Heartbeat/LeaveGroup, [`view`] ListGroups and
//! DescribeGroups. The handlers in `crate::handlers::group` speak the wire format.

pub mod coordinator;
pub mod member;
pub mod offsets;
pub mod persist;
pub mod state;
pub mod sync;
pub mod view;

#[cfg(test)]
mod tests;

use tokio::time::Duration;

pub use coordinator::{CommitWait, GroupCoordinator};
pub use member::{JoinRequest, JoinResult, JoinedMember, SyncResult};
pub use offsets::{Committer, OffsetEntry};
pub use state::{Group, GroupState};
pub use view::{GroupDescription, GroupListing, MemberDescription};

/// Coordinator settings (from `BrokerConfig`).
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// How long a new group's first join phase waits for more members (Kafka's
    /// group.initial.rebalance.delay.ms; 0 so classroom clients get partitions at once).
    pub initial_rebalance_delay: Duration,
    /// Smallest session timeout a member may ask for.
    pub min_session_timeout_ms: i32,
    /// Largest session timeout a member may ask for.
    pub max_session_timeout_ms: i32,
    /// Most members in one group.
    pub max_size: usize,
    /// Largest total protocol metadata one member may send in JoinGroup.
    pub max_member_metadata_bytes: usize,
    /// Largest metadata string of one committed offset.
    pub offset_metadata_max_bytes: usize,
    /// Offsets of a group empty for this long expire; negative keeps them forever.
    pub offsets_retention_ms: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            initial_rebalance_delay: Duration::ZERO,
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            max_size: 1000,
            max_member_metadata_bytes: 256 * 1024,
            offset_metadata_max_bytes: 4096,
            offsets_retention_ms: -1,
        }
    }
}
