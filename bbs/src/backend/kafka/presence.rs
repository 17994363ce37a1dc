//! Who is online: the users of the live `bbs-session-` groups, from ListGroups.

use client::Client;

use super::SESSION_GROUP_PREFIX;
use crate::error::{Error, Result};

/// Group states in which a group has members.
const LIVE_STATES: &[&str] = &["Stable", "PreparingRebalance", "CompletingRebalance"];

/// Users with a live feed right now: the owners of `bbs-session-…:<user>` groups that
/// have members. Only ListGroups (names and states) is needed, which the server answers
/// for session groups to anyone; their members and offsets stay private to the owner.
pub(super) fn online(client: &Client) -> Result<Vec<String>> {
    let groups = client
        .admin()
        .list_groups_in_states(LIVE_STATES)
        .map_err(|e| Error::Backend(e.to_string()))?;
    let mut users: Vec<String> = groups
        .into_iter()
        .filter(|g| g.group_id.starts_with(SESSION_GROUP_PREFIX))
        .filter_map(|g| crate::names::group_owner(&g.group_id).map(str::to_string))
        .collect();
    users.sort();
    users.dedup();
    Ok(users)
}
