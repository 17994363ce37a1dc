//! The small admin client: create and delete topics, list and describe groups, and read or
//! commit a group's offsets without joining it (how the BBS stores "what this user has
//! read" per user rather than per running instance). SCRAM credentials and user quotas
//! (how accounts are registered and managed over the protocol) are in `accounts`.
//!
//! ```no_run
//! # use client::*;
//! # fn main() -> client::Result<()> {
//! let client = Client::connect(ClientConfig::new("127.0.0.1:9092"))?;
//! let admin = client.admin();
//! admin.create_topics(&[NewTopic::new("chat.general", 3)])?;
//! admin.commit_offsets("bbs-read-ana", &[(TopicPartition::new("chat.general", 0), 42)])?;
//! # Ok(()) }
//! ```
//! (Run for real by `tests/client_roundtrip.rs`.)

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeGroupsRequest, DescribeGroupsResponse, GroupId, ListGroupsRequest, ListGroupsResponse,
};

mod accounts;
mod read;
pub use accounts::{ScramUser, UserQuotas, SCRAM_ITERATIONS};
pub use read::ReadOutcome;

use super::cluster::Cluster;
use super::conn::Connection;
use super::consumer::{offsets, TopicPartition};
use super::util::{sb, tn};
use crate::error::{Error, Result};

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Its name.
    pub name: String,
    /// Number of partitions.
    pub partitions: i32,
    /// Replicas per partition (-1: the broker's default).
    pub replication_factor: i16,
    /// Topic configs (`cleanup.policy` = `compact`, ...).
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// `name` with `partitions` partitions and the broker's default replication.
    pub fn new(name: &str, partitions: i32) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor: -1,
            configs: Vec::new(),
        }
    }

    /// Adds a topic config.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// Group id.
    pub group_id: String,
    /// "consumer" for consumer groups.
    pub protocol_type: String,
    /// Its state ("Stable", "Empty", ...; empty from brokers older than ListGroups v4).
    pub state: String,
}

/// One member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    /// Member id given by the coordinator.
    pub member_id: String,
    /// The member's client id.
    pub client_id: String,
    /// Where it connects from.
    pub client_host: String,
    /// Partitions it was assigned (decoded when the group uses the consumer protocol).
    pub assignment: Vec<TopicPartition>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// Group id.
    pub group_id: String,
    /// "Stable", "Empty", "PreparingRebalance", "Dead", ...
    pub state: String,
    /// "consumer" for consumer groups.
    pub protocol_type: String,
    /// The assignor in use ("range", "roundrobin").
    pub protocol: String,
    /// Current members.
    pub members: Vec<MemberDescription>,
}

/// Admin operations on a cluster.
pub struct Admin {
    /// Shared metadata and connections.
    cluster: Arc<Cluster>,
}

impl Admin {
    /// An admin client over `cluster`.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Admin { cluster }
    }

    /// The controller (topic changes go there), or any broker if unknown.
    fn controller<T>(&self, f: impl FnMut(&Connection) -> Result<T>) -> Result<T> {
        let mut f = f;
        let controller = self.cluster.view().controller;
        if controller >= 0 {
            if let Ok(c) = self.cluster.conn(controller) {
                return f(&c);
            }
        }
        self.cluster.with_any_conn(f)
    }

    /// Creates topics; fails on the first topic that could not be created (error 36
    /// TOPIC_ALREADY_EXISTS when it exists).
    pub fn create_topics(&self, topics: &[NewTopic]) -> Result<()> {
        let mut req = CreateTopicsRequest::default();
        req.timeout_ms = self.cluster.config.request_timeout.as_millis() as i32;
        req.topics = topics
            .iter()
            .map(|t| {
                let mut ct = CreatableTopic::default();
                ct.name = tn(&t.name);
                ct.num_partitions = t.partitions;
                ct.replication_factor = t.replication_factor;
                ct.configs = t
                    .configs
                    .iter()
                    .map(|(k, v)| {
                        let mut c = CreatableTopicConfig::default();
                        c.name = sb(k);
                        c.value = Some(sb(v));
                        c
                    })
                    .collect();
                ct
            })
            .collect();
        let resp: CreateTopicsResponse =
            self.controller(|c| c.request(ApiKey::CreateTopics, &req).map(|r| r.1))?;
        for t in &resp.topics {
            if t.error_code != 0 {
                return Err(Error::kafka(
                    t.error_code,
                    Some(
                        t.error_message
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| format!("creating {}", t.name.as_str())),
                    ),
                ));
            }
        }
        self.cluster
            .want_topics(topics.iter().map(|t| t.name.as_str()));
        self.cluster.invalidate();
        Ok(())
    }

    /// Deletes topics; fails on the first one that could not be deleted.
    pub fn delete_topics(&self, names: &[&str]) -> Result<()> {
        let resp: DeleteTopicsResponse = self.controller(|c| {
            let version = c.version(ApiKey::DeleteTopics)?;
            let mut req = DeleteTopicsRequest::default();
            req.timeout_ms = self.cluster.config.request_timeout.as_millis() as i32;
            if version >= 6 {
                req.topics = names
                    .iter()
                    .map(|n| {
                        let mut s = DeleteTopicState::default();
                        s.name = Some(tn(n));
                        s
                    })
                    .collect();
            } else {
                req.topic_names = names.iter().map(|n| tn(n)).collect();
            }
            c.call(ApiKey::DeleteTopics, version, &req)
        })?;
        self.cluster.invalidate();
        for t in &resp.responses {
            if t.error_code != 0 {
                return Err(Error::kafka(
                    t.error_code,
                    Some(format!(
                        "deleting {}",
                        t.name.as_ref().map(|n| n.as_str()).unwrap_or("?")
                    )),
                ));
            }
        }
        Ok(())
    }

    /// Names of all topics (internal ones included).
    pub fn list_topics(&self) -> Result<Vec<String>> {
        self.cluster.want_all_topics();
        self.cluster.refresh()?;
        let mut names: Vec<String> = self.cluster.view().topics.keys().cloned().collect();
        names.sort();
        Ok(names)
    }

    /// Every group on every broker.
    pub fn list_groups(&self) -> Result<Vec<GroupListing>> {
        self.list_groups_in_states(&[])
    }

    /// The groups in one of `states` (all groups when empty), on every broker; the
    /// filter needs ListGroups v4 (brokers that ignore it are filtered here).
    pub fn list_groups_in_states(&self, states: &[&str]) -> Result<Vec<GroupListing>> {
        let mut request = ListGroupsRequest::default();
        request.states_filter = states.iter().map(|s| sb(s)).collect();
        self.cluster.refresh()?;
        let mut ids: Vec<i32> = self.cluster.view().brokers.keys().copied().collect();
        ids.sort();
        let mut out = BTreeMap::new();
        for id in ids {
            let conn = self.cluster.conn(id)?;
            let (_, resp): (_, ListGroupsResponse) = conn.request(ApiKey::ListGroups, &request)?;
            if resp.error_code != 0 {
                return Err(Error::kafka(resp.error_code, Some("ListGroups".into())));
            }
            for g in resp.groups {
                let state = g.group_state.to_string();
                if !states.is_empty() && !states.iter().any(|s| s.eq_ignore_ascii_case(&state)) {
                    continue;
                }
                out.insert(
                    g.group_id.0.to_string(),
                    GroupListing {
                        group_id: g.group_id.0.to_string(),
                        protocol_type: g.protocol_type.to_string(),
                        state,
                    },
                );
            }
        }
        Ok(out.into_values().collect())
    }

    /// Describes groups (each asked of its coordinator).
    pub fn describe_groups(&self, groups: &[&str]) -> Result<Vec<GroupDescription>> {
        let mut out = Vec::new();
        for g in groups {
            let conn = offsets::find_coordinator(&self.cluster, None, g)?;
            let mut req = DescribeGroupsRequest::default();
            req.groups = vec![GroupId(sb(g))];
            let (_, resp): (_, DescribeGroupsResponse) =
                conn.request(ApiKey::DescribeGroups, &req)?;
            for d in resp.groups {
                if d.error_code != 0 {
                    return Err(Error::kafka(d.error_code, Some(format!("describing {g}"))));
                }
                let members = d
                    .members
                    .iter()
                    .map(|m| MemberDescription {
                        member_id: m.member_id.to_string(),
                        client_id: m.client_id.to_string(),
                        client_host: m.client_host.to_string(),
                        assignment: decode_assignment(&m.member_assignment),
                    })
                    .collect();
                out.push(GroupDescription {
                    group_id: d.group_id.0.to_string(),
                    state: d.group_state.to_string(),
                    protocol_type: d.protocol_type.to_string(),
                    protocol: d.protocol_data.to_string(),
                    members,
                });
            }
        }
        Ok(out)
    }

    /// Commits offsets for `group` without joining it (generation -1, no member id). The
    /// broker accepts this only while the group has no active members.
    pub fn commit_offsets(&self, group: &str, offsets: &[(TopicPartition, i64)]) -> Result<()> {
        let map: BTreeMap<TopicPartition, i64> = offsets.iter().cloned().collect();
        let conn = offsets::find_coordinator(&self.cluster, None, group)?;
        offsets::commit(&conn, group, -1, "", &map)
    }

    /// Like [`Admin::commit_offsets`], with a metadata string beside each offset.
    pub fn commit_offsets_with_metadata(
        &self,
        group: &str,
        offsets: &[(TopicPartition, i64, String)],
    ) -> Result<()> {
        let map: BTreeMap<TopicPartition, (i64, String)> = offsets
            .iter()
            .map(|(tp, off, meta)| (tp.clone(), (*off, meta.clone())))
            .collect();
        let conn = offsets::find_coordinator(&self.cluster, None, group)?;
        offsets::commit_with_metadata(&conn, group, -1, "", &map)
    }

    /// Like [`Admin::fetch_offsets`], with each committed offset's metadata string.
    pub fn fetch_offsets_with_metadata(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<(i64, String)>>> {
        let conn = offsets::find_coordinator(&self.cluster, None, group)?;
        offsets::fetch_with_metadata(&conn, group, partitions)
    }

    /// The committed offsets of `group` for `partitions` (`None` where nothing is committed).
    pub fn fetch_offsets(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<i64>>> {
        let conn = offsets::find_coordinator(&self.cluster, None, group)?;
        offsets::fetch(&conn, group, partitions)
    }

    /// The latest offsets (high watermarks) of `partitions`.
    pub fn end_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, i64>> {
        self.cluster
            .want_topics(partitions.iter().map(|p| p.topic.as_str()));
        self.cluster.maybe_refresh()?;
        offsets::list_offsets(&self.cluster, partitions, -1)
    }
}

/// Decodes a consumer-protocol assignment blob (empty on anything unreadable).
fn decode_assignment(blob: &[u8]) -> Vec<TopicPartition> {
    super::consumer::protocol::decode_assignment(blob)
        .map(|a| a.partitions)
        .unwrap_or_default()
}
