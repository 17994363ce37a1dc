//! The client's view of the cluster: brokers, topics, partitions and their leaders, plus
//! the pool of connections to brokers by node id.
//!
//! Metadata comes from any live broker (falling back to the bootstrap list) and is refreshed
//! when someone reports a stale view (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
//! LEADER_NOT_AVAILABLE, a lost connection) and periodically. Connections are opened on
//! demand; a broker that failed is retried with exponential backoff. Nothing here assumes
//! there is only one broker.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ErrorCode;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse};
use parking_lot::{Mutex, RwLock};

use super::config::ClientConfig;
use super::conn::Connection;
use super::net::Net;
use super::pool::Pool;
use super::util::{jittered, tn};
use crate::error::{Error, Result};

/// One partition as the last metadata saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub id: i32,
    /// Node id of the leader, or -1 when there is none.
    pub leader: i32,
    /// The leader's epoch (-1 if the broker does not say).
    pub leader_epoch: i32,
    /// Partition-level error (LEADER_NOT_AVAILABLE while electing).
    pub error: ErrorCode,
}

/// One topic as the last metadata saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic-level error code (UNKNOWN_TOPIC_OR_PARTITION when the topic does not exist).
    pub error: ErrorCode,
    /// Partitions sorted by index.
    pub partitions: Vec<PartitionInfo>,
    /// Whether the broker marks it internal.
    pub internal: bool,
}

/// A snapshot of the cluster's metadata.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// `host:port` of every broker, by node id.
    pub brokers: HashMap<i32, String>,
    /// The controller's node id (admin requests go there), or -1.
    pub controller: i32,
    /// Known topics by name.
    pub topics: HashMap<String, TopicInfo>,
}

impl ClusterView {
    /// The leader of `topic`/`partition`, if known.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let t = self.topics.get(topic)?;
        let p = t.partitions.iter().find(|p| p.id == partition)?;
        (p.leader >= 0).then_some(p.leader)
    }

    /// Number of partitions of `topic`, if it exists.
    pub fn partition_count(&self, topic: &str) -> Option<usize> {
        let t = self.topics.get(topic)?;
        (t.error.is_ok() && !t.partitions.is_empty()).then_some(t.partitions.len())
    }
}

/// Which topics the metadata should cover.
#[derive(Debug, Default)]
struct Wanted {
    /// Every topic (pattern subscriptions, admin listings).
    all: bool,
    /// Named topics (producers, topic subscriptions).
    topics: BTreeSet<String>,
}

/// Shared cluster state: metadata, connections, backoff.
pub struct Cluster {
    /// Settings (bootstrap list, timeouts, backoff).
    pub config: ClientConfig,
    /// The latest metadata; readers clone the `Arc`.
    view: RwLock<Arc<ClusterView>>,
    /// The shared connections (metadata, produce, heartbeats, commits, offsets, admin; see
    /// `pool` for why consumers' blocking calls go elsewhere).
    pool: Pool,
    /// Reads every connection of this cluster's pools; runs its timers.
    net: Arc<Net>,
    /// Serializes refreshes so that a burst of errors causes one Metadata request.
    refresh_lock: Mutex<Option<(Instant, Duration)>>,
    /// Set by anyone who saw a sign that the view is stale.
    stale: AtomicBool,
    /// Set when a topic is wanted that the last answer did not cover: the next
    /// [`Cluster::maybe_refresh`] asks at once, since the backoff is there to space out
    /// retries after errors, not a first lookup.
    grown: AtomicBool,
    /// Topics the metadata must cover.
    wanted: Mutex<Wanted>,
    /// Whether Metadata requests ask the broker to create missing topics (set by producers
    /// whose configuration allows it).
    pub auto_create: AtomicBool,
    /// Called after a refresh that found topics the view did not have (consumers' pattern
    /// subscriptions take them up at once); a watcher returning false is dropped.
    watchers: Mutex<Vec<Watcher>>,
}

/// See [`Cluster::watch_new_topics`].
type Watcher = Box<dyn FnMut() -> bool + Send>;

impl Cluster {
    /// A cluster handle with its network thread; nothing is contacted yet.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let net = Net::start()?;
        Ok(Cluster {
            pool: Pool::new(config.clone(), net.clone()),
            net,
            config,
            view: RwLock::new(Arc::new(ClusterView {
                controller: -1,
                ..Default::default()
            })),
            refresh_lock: Mutex::new(None),
            stale: AtomicBool::new(true),
            grown: AtomicBool::new(false),
            wanted: Mutex::new(Wanted::default()),
            auto_create: AtomicBool::new(false),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// A new, empty pool read by this cluster's network thread.
    pub fn new_pool(&self) -> Pool {
        Pool::new(self.config.clone(), self.net.clone())
    }

    /// A new, empty pool whose connections are read by whoever waits for them (a
    /// consumer's own: its poll thread, see [`Net::pumped`]).
    pub fn new_pumped_pool(&self) -> Pool {
        Pool::new(self.config.clone(), Net::pumped())
    }

    /// The network thread (timers for heartbeats).
    pub fn net(&self) -> &Arc<Net> {
        &self.net
    }

    /// The current metadata snapshot.
    pub fn view(&self) -> Arc<ClusterView> {
        self.view.read().clone()
    }

    /// Adds topics the metadata must cover from now on. While every topic is wanted, a
    /// topic the current view already holds asks for nothing new: a login's feed names
    /// the topics it reads right after listing them all, and each all-topics request costs
    /// as much as the server has topics (one per user).
    pub fn want_topics<'a>(&self, topics: impl IntoIterator<Item = &'a str>) {
        let mut w = self.wanted.lock();
        let mut view = None;
        for t in topics {
            if !w.topics.contains(t) {
                w.topics.insert(t.to_string());
                let covered = w.all
                    && view
                        .get_or_insert_with(|| self.view())
                        .topics
                        .get(t)
                        .is_some_and(|i| i.error.is_ok());
                if !covered {
                    self.stale.store(true, Ordering::SeqCst);
                    self.grown.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// Makes the metadata cover every topic (for pattern subscriptions); the next
    /// [`Cluster::maybe_refresh`] asks for them unless they are asked for already.
    pub fn want_all_topics(&self) {
        let mut w = self.wanted.lock();
        if !w.all {
            w.all = true;
            self.grown.store(true, Ordering::SeqCst);
            self.stale.store(true, Ordering::SeqCst);
        }
    }

    /// Calls `watcher` after every refresh that finds new topics, until it returns false.
    pub fn watch_new_topics(&self, watcher: Watcher) {
        self.watchers.lock().push(watcher);
    }

    /// Marks the view stale: the next [`Cluster::maybe_refresh`] asks a broker.
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::SeqCst);
    }

    /// Refreshes if the view is stale or older than `metadata_max_age`, no more often than
    /// the refresh backoff allows. Errors are returned but leave the old view in place.
    pub fn maybe_refresh(&self) -> Result<()> {
        let last = *self.refresh_lock.lock();
        let due = match last {
            None => true,
            Some(_) if self.grown.load(Ordering::SeqCst) => true,
            Some((at, max_age)) => {
                let age = at.elapsed();
                (self.stale.load(Ordering::SeqCst) && age >= self.config.metadata_refresh_backoff)
                    || age >= max_age
            }
        };
        if due {
            self.refresh()
        } else {
            Ok(())
        }
    }

    /// Asks a broker for metadata now and installs the answer.
    pub fn refresh(&self) -> Result<()> {
        let mut guard = self.refresh_lock.lock();
        // Cleared before reading what is wanted, so a topic wanted meanwhile asks again.
        self.grown.store(false, Ordering::SeqCst);
        let (all, topics) = {
            let w = self.wanted.lock();
            (w.all, w.topics.iter().cloned().collect::<Vec<_>>())
        };
        let mut req = MetadataRequest::default();
        req.topics = if all {
            None
        } else {
            Some(topics.iter().map(|t| topic_entry(t)).collect())
        };
        self.stale.store(false, Ordering::SeqCst);
        // Clients started together refresh at different times (`util::jittered`).
        *guard = Some((Instant::now(), jittered(self.config.metadata_max_age)));
        let auto_create = self.auto_create.load(Ordering::SeqCst);
        let result = self.with_any_conn(|conn| {
            let version = conn.version(ApiKey::Metadata)?;
            req.allow_auto_topic_creation = version < 4 || auto_create;
            let resp: MetadataResponse = conn.call(ApiKey::Metadata, version, &req)?;
            Ok(resp)
        });
        let resp = match result {
            Ok(r) => r,
            Err(e) => {
                self.stale.store(true, Ordering::SeqCst);
                return Err(e);
            }
        };
        let old = self.view();
        let mut new = merge(&old, resp, all);
        if all && auto_create {
            // An all-topics request never creates a topic; a producer sharing this cluster
            // with a pattern subscription names the topics it still misses.
            let missing: Vec<&String> = topics
                .iter()
                .filter(|t| !new.topics.get(*t).is_some_and(|i| i.error.is_ok()))
                .collect();
            if !missing.is_empty() {
                let mut named = MetadataRequest::default();
                named.topics = Some(missing.iter().map(|t| topic_entry(t)).collect());
                let resp = self.with_any_conn(|conn| {
                    let version = conn.version(ApiKey::Metadata)?;
                    named.allow_auto_topic_creation = true;
                    conn.call::<_, MetadataResponse>(ApiKey::Metadata, version, &named)
                });
                match resp {
                    Ok(r) => new = merge(&new, r, false),
                    Err(e) => tracing::debug!(error = %e, "metadata for missing topics failed"),
                }
            }
        }
        let grew = new.topics.keys().any(|t| !old.topics.contains_key(t));
        tracing::debug!(
            brokers = new.brokers.len(),
            topics = new.topics.len(),
            "metadata refreshed"
        );
        *self.view.write() = Arc::new(new);
        drop(guard);
        if grew {
            self.watchers.lock().retain_mut(|w| w());
        }
        Ok(())
    }

    /// Runs `f` on some live connection: a pooled one, else a known broker, else a
    /// bootstrap address. Tries the next candidate when `f` fails with a connection error.
    pub fn with_any_conn<T>(&self, mut f: impl FnMut(&Connection) -> Result<T>) -> Result<T> {
        let mut candidates: Vec<(i32, String)> = Vec::new();
        let pooled = self.pool.alive();
        let mut last_err = None;
        for c in pooled {
            match f(&c) {
                Err(e @ (Error::Connection { .. } | Error::Timeout(_))) => last_err = Some(e),
                other => return other,
            }
        }
        let view = self.view();
        let mut ids: Vec<_> = view.brokers.iter().collect();
        ids.sort();
        candidates.extend(ids.into_iter().map(|(id, a)| (*id, a.clone())));
        candidates.extend(self.config.bootstrap.iter().map(|a| (-1, a.clone())));
        for (id, addr) in candidates {
            let conn = match self.connect(id, &addr) {
                Ok(c) => c,
                Err(e) => {
                    last_err = Some(e);
                    continue;
                }
            };
            match f(&conn) {
                Err(e @ (Error::Connection { .. } | Error::Timeout(_))) => last_err = Some(e),
                other => return other,
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Connection {
            addr: self.config.bootstrap.join(","),
            reason: "no broker reachable".into(),
        }))
    }

    /// A live connection to node `id` from the cluster's own pool.
    pub fn conn(&self, id: i32) -> Result<Arc<Connection>> {
        self.conn_in(&self.pool, id)
    }

    /// A live connection to node `id` from `pool` (a producer's or consumer's own).
    pub fn conn_in(&self, pool: &Pool, id: i32) -> Result<Arc<Connection>> {
        let addr = self.view().brokers.get(&id).cloned().ok_or_else(|| {
            self.invalidate();
            Error::Connection {
                addr: format!("node {id}"),
                reason: "broker not in metadata".into(),
            }
        })?;
        pool.get(id, &addr).inspect_err(|_| self.invalidate())
    }

    /// Opens (or reuses) a connection in the cluster's pool.
    fn connect(&self, id: i32, addr: &str) -> Result<Arc<Connection>> {
        self.pool.get(id, addr).inspect_err(|_| self.invalidate())
    }

    /// The cluster's own pool (metadata and admin requests).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes the cluster's own connections.
    pub fn close(&self) {
        self.pool.close();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pool.close();
        self.net.stop();
    }
}

/// One topic of a Metadata request.
fn topic_entry(name: &str) -> MetadataRequestTopic {
    let mut rt = MetadataRequestTopic::default();
    rt.name = Some(tn(name));
    rt
}

/// Installs a Metadata response on top of the previous view.
fn merge(old: &ClusterView, resp: MetadataResponse, all: bool) -> ClusterView {
    let brokers = resp
        .brokers
        .iter()
        .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
        .collect();
    let mut topics = if all {
        HashMap::new()
    } else {
        old.topics.clone()
    };
    for t in resp.topics {
        let Some(name) = t.name else { continue };
        let mut partitions: Vec<PartitionInfo> = t
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                id: p.partition_index,
                leader: p.leader_id.0,
                leader_epoch: p.leader_epoch,
                error: p.error_code.into(),
            })
            .collect();
        partitions.sort_by_key(|p| p.id);
        topics.insert(
            name.0.to_string(),
            TopicInfo {
                error: t.error_code.into(),
                partitions,
                internal: t.is_internal,
            },
        );
    }
    ClusterView {
        brokers,
        controller: resp.controller_id.0,
        topics,
    }
}
