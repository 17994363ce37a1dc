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

/// Kafka error codes the coordinator answers with.
pub mod errors {
    /// No error.
    pub const NONE: i16 = 0;
    /// Something unexpected.
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    /// Unknown topic or partition in a commit.
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    /// Offset metadata string longer than allowed.
    pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
    /// Retriable: the coordinator cannot serve the group right now.
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    /// The member's generation is not the group's.
    pub const ILLEGAL_GENERATION: i16 = 22;
    /// Protocol type or protocols do not fit the group.
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    /// Empty or bad group id.
    pub const INVALID_GROUP_ID: i16 = 24;
    /// The member is not (or no longer) in the group.
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    /// Session timeout outside the broker's range.
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    /// The group is rebalancing: rejoin.
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    /// A malformed request (here: oversized member metadata).
    pub const INVALID_REQUEST: i16 = 42;
    /// DeleteGroups on a group with members.
    pub const NON_EMPTY_GROUP: i16 = 68;
    /// DeleteGroups on an unknown group.
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    /// The group is full.
    pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
    /// A static member was replaced by a newer instance with the same id.
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

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
