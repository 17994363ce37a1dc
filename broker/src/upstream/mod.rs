//! Front mode's view of the upstream cluster: who leads each partition, who coordinates
//! each group, where each node is, which API versions every node speaks, and the
//! connections the front server keeps to it. The forwarding handlers
//! (`handlers::front`) ask here; they never keep cluster state of their own.
//!
//! Two kinds of connections: the shared ones here (metadata and coordinator look-ups,
//! quick requests that never wait), and each client connection's own ([`Links`]): a
//! client's requests go upstream on connections of that client alone, so a request the
//! cluster holds (a long-poll fetch, a JoinGroup waiting for the rebalance) never holds
//! up anyone else, and each client's requests stay in the order it sent them.
//!
//! Look-ups are cached and forgotten when an answer says they are stale
//! (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR, a dead connection); the client then retries
//! as it would against the cluster itself.

pub mod config;
pub mod conn;
mod create;
pub mod credentials;
mod nodes;

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, MetadataRequest, MetadataResponse,
};
use parking_lot::Mutex;

pub use config::UpstreamConfig;
pub use conn::UpConn;

use crate::error::{Error, Result};

/// The prefix of the names front servers keep for themselves on the cluster (topics and
/// groups); no client reaches them through a front.
pub const RESERVED_PREFIX: &str = "bbs-front";

/// Whether `name` is one of the front servers' own (see [`RESERVED_PREFIX`]).
pub fn reserved(name: &str) -> bool {
    name.starts_with(RESERVED_PREFIX)
}

/// The version the front server uses for its own Metadata look-ups (topics by name,
/// auto-creation flag; every Kafka since 2.4 speaks it).
const OWN_METADATA_VERSION: i16 = 9;

/// The upstream cluster as the front server knows it.
pub struct Upstream {
    config: UpstreamConfig,
    /// API ranges every node offers (the intersection over the nodes seen so far).
    versions: Mutex<HashMap<i16, (i16, i16)>>,
    /// Node id → `host:port`.
    nodes: Mutex<HashMap<i32, String>>,
    /// (topic, partition) → leader node id.
    leaders: Mutex<HashMap<(String, i32), i32>>,
    /// Group id → coordinator node id.
    coordinators: Mutex<HashMap<String, i32>>,
    /// The controller's node id, from the latest metadata.
    controller: Mutex<Option<i32>>,
    /// Shared connections for look-ups, by node id.
    shared: tokio::sync::Mutex<HashMap<i32, Arc<UpConn>>>,
}

impl Upstream {
    /// Connects to the cluster once (so a wrong address or password fails at start) and
    /// learns its nodes and versions.
    pub async fn connect(config: UpstreamConfig) -> Result<Arc<Upstream>> {
        let up = Arc::new(Upstream::unconnected(config));
        up.metadata_for(Some(Vec::new()), false).await?;
        Ok(up)
    }

    /// The cluster before anything is known of it.
    pub(crate) fn unconnected(config: UpstreamConfig) -> Upstream {
        Upstream {
            config,
            versions: Mutex::new(HashMap::new()),
            nodes: Mutex::new(HashMap::new()),
            leaders: Mutex::new(HashMap::new()),
            coordinators: Mutex::new(HashMap::new()),
            controller: Mutex::new(None),
            shared: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Opens a new connection to `node` (-1: any bootstrap address), logged in as the
    /// service account.
    pub async fn open(&self, node: i32) -> Result<Arc<UpConn>> {
        self.open_as(node, "").await
    }

    /// Narrows the known API ranges to what a newly seen node offers too.
    pub(crate) fn learn_versions(&self, ranges: &[(i16, i16, i16)]) {
        let mut v = self.versions.lock();
        if v.is_empty() {
            v.extend(ranges.iter().map(|(k, lo, hi)| (*k, (*lo, *hi))));
            return;
        }
        v.retain(|k, _| ranges.iter().any(|(rk, _, _)| rk == k));
        for (k, lo, hi) in ranges {
            if let Some(r) = v.get_mut(k) {
                *r = (r.0.max(*lo), r.1.min(*hi));
            }
        }
    }

    /// The versions of `api` the cluster speaks (on every node seen so far).
    pub fn versions(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.versions
            .lock()
            .get(&(api as i16))
            .copied()
            .filter(|(lo, hi)| lo <= hi)
    }

    /// The shared connection to `node`, opened when missing or dead.
    pub async fn shared(&self, node: i32) -> Result<Arc<UpConn>> {
        let mut shared = self.shared.lock().await;
        if let Some(c) = shared.get(&node).filter(|c| c.is_alive()) {
            return Ok(Arc::clone(c));
        }
        let conn = self.open(node).await?;
        shared.insert(node, Arc::clone(&conn));
        Ok(conn)
    }

    /// Every node id seen in metadata (the bootstrap, -1, before any).
    pub fn node_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = self.nodes.lock().keys().copied().collect();
        ids.sort_unstable();
        if ids.is_empty() {
            ids.push(-1);
        }
        ids
    }

    /// Any node to send cluster-wide requests to: the controller when known.
    pub fn any_node(&self) -> i32 {
        let controller = *self.controller.lock();
        controller
            .or_else(|| self.nodes.lock().keys().min().copied())
            .unwrap_or(-1)
    }

    /// Sends a client's Metadata request (at its version) upstream and records what it
    /// says; the caller rewrites the answer.
    pub async fn metadata(&self, version: i16, req: &MetadataRequest) -> Result<MetadataResponse> {
        let conn = self.shared(self.any_node()).await?;
        let resp: MetadataResponse = conn.call(ApiKey::Metadata, version, req).await?;
        self.record(&resp);
        Ok(resp)
    }

    /// The front server's own look-up of `topics` (`None`: all; `Some([])`: only the
    /// nodes), creating missing ones when `create`.
    pub async fn metadata_for(
        &self,
        topics: Option<Vec<String>>,
        create: bool,
    ) -> Result<MetadataResponse> {
        use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|names| {
            names
                .into_iter()
                .map(|n| {
                    let mut t = MetadataRequestTopic::default();
                    t.name = Some(crate::handlers::tn(&n));
                    t
                })
                .collect()
        });
        req.allow_auto_topic_creation = create;
        let version = self
            .versions(ApiKey::Metadata)
            .map_or(OWN_METADATA_VERSION, |(_, hi)| hi.min(OWN_METADATA_VERSION));
        self.metadata(version, &req).await
    }

    fn record(&self, resp: &MetadataResponse) {
        {
            let mut nodes = self.nodes.lock();
            for b in &resp.brokers {
                nodes.insert(b.node_id.0, format!("{}:{}", b.host.as_str(), b.port));
            }
        }
        if resp.controller_id.0 >= 0 {
            *self.controller.lock() = Some(resp.controller_id.0);
        }
        let mut leaders = self.leaders.lock();
        for t in &resp.topics {
            let Some(name) = &t.name else { continue };
            for p in &t.partitions {
                let key = (name.0.to_string(), p.partition_index);
                if p.error_code == 0 && p.leader_id.0 >= 0 {
                    leaders.insert(key, p.leader_id.0);
                } else {
                    leaders.remove(&key);
                }
            }
        }
    }

    /// The cached leader of a partition.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        self.leaders
            .lock()
            .get(&(topic.to_string(), partition))
            .copied()
    }

    /// Forgets a partition's leader (the answer said it moved).
    pub fn forget_leader(&self, topic: &str, partition: i32) {
        self.leaders.lock().remove(&(topic.to_string(), partition));
    }

    /// The coordinator of `group`, asked upstream when not cached.
    pub async fn coordinator(&self, group: &str) -> Result<i32> {
        if let Some(n) = self.coordinators.lock().get(group) {
            return Ok(*n);
        }
        let version = self
            .versions(ApiKey::FindCoordinator)
            .map_or(0, |(_, hi)| hi.min(3));
        let mut req = FindCoordinatorRequest::default();
        req.key = crate::handlers::sb(group);
        let conn = self.shared(self.any_node()).await?;
        let resp: FindCoordinatorResponse =
            conn.call(ApiKey::FindCoordinator, version, &req).await?;
        if resp.error_code != 0 {
            return Err(Error::Refused {
                code: resp.error_code.into(),
                message: format!("upstream has no coordinator for {group} yet"),
            });
        }
        let node = resp.node_id.0;
        self.nodes
            .lock()
            .insert(node, format!("{}:{}", resp.host.as_str(), resp.port));
        self.coordinators.lock().insert(group.to_string(), node);
        Ok(node)
    }

    /// Forgets a group's coordinator (the answer said it moved).
    pub fn forget_coordinator(&self, group: &str) {
        self.coordinators.lock().remove(group);
    }
}

/// One client connection's own connections upstream: one per node for its ordinary
/// requests, and a few per node for its fetches (a fetch held upstream keeps its
/// connection busy; an early answer needs another).
#[derive(Default)]
pub struct Links {
    main: tokio::sync::Mutex<HashMap<i32, Arc<UpConn>>>,
    fetch: Mutex<HashMap<i32, Vec<Arc<UpConn>>>>,
}

/// Idle fetch connections kept per node for one client.
const IDLE_FETCH_CONNS: usize = 2;

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Links")
    }
}

impl Links {
    /// This client's connection to `node` for ordinary requests.
    pub async fn main(&self, up: &Upstream, node: i32, client_id: &str) -> Result<Arc<UpConn>> {
        let mut main = self.main.lock().await;
        if let Some(c) = main.get(&node).filter(|c| c.is_alive()) {
            return Ok(Arc::clone(c));
        }
        let conn = up.open_as(node, client_id).await?;
        main.insert(node, Arc::clone(&conn));
        Ok(conn)
    }

    /// An idle fetch connection to `node` (opened when none is idle); give it back with
    /// [`Links::give_back`] once its answer is in.
    pub async fn take_fetch(
        &self,
        up: &Upstream,
        node: i32,
        client_id: &str,
    ) -> Result<Arc<UpConn>> {
        let idle = {
            let mut fetch = self.fetch.lock();
            let list = fetch.entry(node).or_default();
            list.retain(|c| c.is_alive());
            list.pop()
        };
        match idle {
            Some(c) => Ok(c),
            None => up.open_as(node, client_id).await,
        }
    }

    /// Returns a fetch connection whose answer has arrived.
    pub fn give_back(&self, conn: Arc<UpConn>) {
        if !conn.is_alive() {
            return;
        }
        let mut fetch = self.fetch.lock();
        let list = fetch.entry(conn.node).or_default();
        if list.len() < IDLE_FETCH_CONNS {
            list.push(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kafka_protocol::messages::BrokerId;

    #[test]
    fn versions_are_what_every_node_seen_speaks() {
        let up = Upstream::unconnected(UpstreamConfig::new("a:1"));
        let (produce, fetch, meta) = (ApiKey::Produce as i16, ApiKey::Fetch as i16, 3);
        up.learn_versions(&[(produce, 0, 11), (fetch, 4, 16), (meta, 0, 12)]);
        up.learn_versions(&[(produce, 3, 9), (fetch, 0, 12)]);
        assert_eq!(up.versions(ApiKey::Produce), Some((3, 9)));
        assert_eq!(up.versions(ApiKey::Fetch), Some((4, 12)));
        // A node without Metadata: nobody may count on it any more.
        assert_eq!(up.versions(ApiKey::Metadata), None);
        up.learn_versions(&[(produce, 10, 11), (fetch, 4, 12)]);
        assert_eq!(up.versions(ApiKey::Produce), None, "empty range");
    }

    #[test]
    fn leaders_follow_metadata_and_are_forgotten_when_stale() {
        let up = Upstream::unconnected(UpstreamConfig::new("a:1"));
        let mut resp = MetadataResponse::default();
        let mut b = MetadataResponseBroker::default();
        b.node_id = BrokerId(7);
        b.host = crate::handlers::sb("k7");
        b.port = 9092;
        resp.brokers = vec![b];
        resp.controller_id = BrokerId(7);
        let mut t = MetadataResponseTopic::default();
        t.name = Some(crate::handlers::tn("t"));
        for (i, leader, error) in [(0, 7, 0), (1, -1, 5)] {
            let mut p = MetadataResponsePartition::default();
            p.partition_index = i;
            p.leader_id = BrokerId(leader);
            p.error_code = error;
            t.partitions.push(p);
        }
        resp.topics = vec![t];
        up.record(&resp);
        assert_eq!(up.leader("t", 0), Some(7));
        assert_eq!(up.leader("t", 1), None, "no leader yet");
        assert_eq!(up.any_node(), 7);
        up.forget_leader("t", 0);
        assert_eq!(up.leader("t", 0), None);
    }
}
