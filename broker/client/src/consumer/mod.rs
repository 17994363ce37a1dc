//! The consumer: subscribe to topics or a pattern as a member of a classic consumer group
//! (or assign partitions by hand), then call [`Consumer::poll`] from one thread in a loop.
//! `poll` rejoins the group when needed (calling the [`RebalanceListener`]), finds starting
//! positions (committed offset, else the reset policy), keeps one fetch in flight per leader
//! (the next one is requested before `poll` returns, so the network works while the
//! application does), commits automatically if configured, and picks up new topics that match
//! a pattern at each metadata refresh.
//!
//! ```no_run
//! # use std::time::Duration;
//! # use client::*;
//! # fn main() -> client::Result<()> {
//! let client = Client::connect(ClientConfig::new("127.0.0.1:9092"))?;
//! let mut consumer = client.consumer(
//!     ConsumerConfig::group("bbs-ana-1")
//!         .subscribe_pattern("^chat\\.")
//!         .offset_reset(OffsetReset::Earliest),
//! )?;
//! loop {
//!     for rec in consumer.poll(Duration::from_millis(100))? {
//!         println!("{}/{}@{}: {}", rec.topic, rec.partition, rec.offset, rec.value_str());
//!     }
//! }
//! # }
//! ```

pub mod answer;
pub mod assignor;
mod autocommit;
mod config;
pub mod fetcher;
pub mod group;
pub mod offsets;
pub mod protocol;

mod poll;
mod wake;

pub use wake::ConsumerWaker;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{mpsc, Arc};
use std::time::Instant;

use parking_lot::Mutex;
use regex::Regex;

pub use assignor::Assignor;
pub use config::{ConsumerConfig, OffsetReset};
use config::{Pattern, Subscription};
use fetcher::FetchDone;
use group::Group;

use super::cluster::{Cluster, ClusterView};
use super::pool::Pool;
use super::records::ConsumerRecord;
use crate::error::{Error, Result};

/// A topic and partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`/`partition`.
    pub fn new(topic: &str, partition: i32) -> Self {
        TopicPartition {
            topic: topic.to_string(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// Called by `poll` around rebalances, on the polling thread.
pub trait RebalanceListener: Send {
    /// These partitions are being taken away (offsets were just committed if auto-commit).
    fn on_revoked(&mut self, _partitions: &[TopicPartition]) {}
    /// These partitions are now ours.
    fn on_assigned(&mut self, _partitions: &[TopicPartition]) {}
}

/// Per-partition reading state.
#[derive(Debug, Default)]
struct PartState {
    /// Next offset to hand to the application; `None` until resolved.
    position: Option<i64>,
    /// Next offset to fetch (ahead of `position` by what is buffered).
    fetch_offset: i64,
    /// Fetched, not yet returned.
    buffer: VecDeque<ConsumerRecord>,
    /// Paused by the application.
    paused: bool,
    /// A fetch for it is in flight.
    inflight: bool,
    /// Last high watermark seen (for lag).
    high_watermark: i64,
    /// Answers in a row that could not be used (see `answer::PartAnswer::unusable`).
    unusable: u32,
    /// Its leader in `Consumer::leaders_from` (`None`: not looked up there yet).
    leader: Option<Option<i32>>,
}

/// A pattern subscription's test of a topic name.
enum Matcher {
    Regex(Regex),
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl Matcher {
    fn is_match(&self, topic: &str) -> bool {
        match self {
            Matcher::Regex(re) => re.is_match(topic),
            Matcher::Predicate(f) => f(topic),
        }
    }
}

/// A consumer. Use it from one thread (`poll` takes `&mut self`).
pub struct Consumer {
    /// Metadata and connections.
    cluster: Arc<Cluster>,
    /// Settings.
    config: ConsumerConfig,
    /// Compiled pattern, for pattern subscriptions.
    pattern: Option<Matcher>,
    /// Group membership, when in a group.
    group: Option<Group>,
    /// Topics currently subscribed (pattern resolved).
    topics: Vec<String>,
    /// The metadata snapshot `topics` was resolved from (and missing topics were looked
    /// for in): a pattern is matched against every topic of the cluster, so it is matched
    /// again only when the snapshot changes, not on every poll (a cluster with thousands
    /// of private topics made that most of a feed's CPU).
    resolved_from: Option<Arc<ClusterView>>,
    /// Assigned partitions and their positions.
    parts: BTreeMap<TopicPartition, PartState>,
    /// This consumer's own connections for fetches and the group's join, sync and leave
    /// (see `pool`).
    pool: Arc<Pool>,
    /// Leaders with a fetch in flight (a consumer has one or a few).
    inflight_leaders: Vec<i32>,
    /// The metadata snapshot the partitions' leaders were looked up in (and the fetch
    /// connections' addresses checked against): a fetch per answer need not hash topic
    /// names and compare addresses while the snapshot is the same.
    leaders_from: Option<Arc<ClusterView>>,
    /// The connection each leader's fetches went out on last, reused while it lives and
    /// the metadata still puts that leader at its address (a fetch per poll need not look
    /// it up in the pool).
    fetch_conns: Vec<(i32, Arc<crate::conn::Connection>)>,
    /// Finished fetches arrive here.
    rx: mpsc::Receiver<FetchDone>,
    /// Given to fetch callbacks.
    tx: mpsc::Sender<FetchDone>,
    /// Lists the fetch path keeps between fetches.
    reuse: fetcher::Reuse,
    /// Rebalance callbacks.
    listener: Option<Box<dyn RebalanceListener>>,
    /// Next auto-commit.
    next_auto_commit: Instant,
    /// The auto-commit in flight.
    autocommit: autocommit::AutoCommit,
    /// Positions last committed (to skip empty commits).
    committed: HashMap<TopicPartition, i64>,
    /// Where the last returned records came from, for fairness.
    rr_cursor: usize,
    /// Fetch responses in a row that could not be decoded at all.
    bad_responses: u32,
    /// Missing topics already warned about.
    warned_missing: HashSet<String>,
    /// Where partitions without a committed offset start, before the reset policy applies
    /// (see [`Consumer::set_start_offset`]).
    start_offsets: HashMap<TopicPartition, i64>,
    /// Set by close.
    closed: bool,
    /// Set by a [`ConsumerWaker`]: `poll` returns.
    woken: Arc<std::sync::atomic::AtomicBool>,
}

impl Consumer {
    pub(crate) fn new(cluster: Arc<Cluster>, config: ConsumerConfig) -> Result<Consumer> {
        let pattern = match &config.subscription {
            Subscription::Pattern(Pattern::Regex(p)) => {
                Some(Matcher::Regex(Regex::new(p).map_err(|e| {
                    Error::Config(format!("bad pattern {p:?}: {e}"))
                })?))
            }
            Subscription::Pattern(Pattern::Predicate(f)) => Some(Matcher::Predicate(f.clone())),
            _ => None,
        };
        // Read by the poll thread itself while it waits (see `net`).
        let pool = Arc::new(cluster.new_pumped_pool());
        let group = match (&config.group_id, &config.subscription) {
            (Some(g), Subscription::Topics(_) | Subscription::Pattern(_)) => Some(Group::new(
                cluster.clone(),
                g,
                config.group.clone(),
                pool.clone(),
            )?),
            (None, Subscription::Topics(_) | Subscription::Pattern(_)) => {
                return Err(Error::Config("subscriptions need a group id".into()))
            }
            _ => None,
        };
        match &config.subscription {
            Subscription::Pattern(_) => cluster.want_all_topics(),
            Subscription::Topics(t) => cluster.want_topics(t.iter().map(String::as_str)),
            Subscription::Manual(ps) => cluster.want_topics(ps.iter().map(|p| p.topic.as_str())),
            Subscription::None => {}
        }
        let (tx, rx) = mpsc::channel();
        if let Subscription::Pattern(_) = &config.subscription {
            // A topic someone else sharing the cluster (a producer) just learnt of wakes
            // `poll` so the subscription takes it up at once.
            let wake = Mutex::new(tx.clone());
            let net = pool.net().clone();
            cluster.watch_new_topics(Box::new(move || {
                let alive = wake.lock().send(FetchDone::wake()).is_ok();
                net.wake();
                alive
            }));
        }
        let mut c = Consumer {
            next_auto_commit: Instant::now() + crate::util::jittered(config.auto_commit_interval),
            autocommit: autocommit::AutoCommit::new(),
            pool,
            cluster,
            pattern,
            group,
            topics: Vec::new(),
            resolved_from: None,
            parts: BTreeMap::new(),
            inflight_leaders: Vec::new(),
            leaders_from: None,
            fetch_conns: Vec::new(),
            rx,
            tx,
            reuse: fetcher::Reuse::default(),
            listener: None,
            committed: HashMap::new(),
            rr_cursor: 0,
            bad_responses: 0,
            warned_missing: HashSet::new(),
            start_offsets: HashMap::new(),
            closed: false,
            woken: Arc::default(),
            config,
        };
        if let Subscription::Manual(ps) = c.config.subscription.clone() {
            for tp in ps {
                c.parts.insert(tp, PartState::default());
            }
        }
        Ok(c)
    }

    /// Installs rebalance callbacks.
    pub fn set_rebalance_listener(&mut self, listener: Box<dyn RebalanceListener>) {
        self.listener = Some(listener);
    }

    /// Partitions currently assigned.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.parts.keys().cloned().collect()
    }

    /// The next offset `poll` will return for `tp`, if known.
    pub fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts.get(tp).and_then(|p| p.position)
    }

    /// Last high watermark seen for `tp` (-1 if none yet).
    pub fn high_watermark(&self, tp: &TopicPartition) -> i64 {
        self.parts.get(tp).map_or(-1, |p| p.high_watermark)
    }

    /// Continues reading `tp` at `offset`.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<()> {
        let p = self
            .parts
            .get_mut(tp)
            .ok_or_else(|| Error::InvalidState(format!("{tp} is not assigned")))?;
        p.position = Some(offset);
        p.fetch_offset = offset;
        p.buffer.clear();
        Ok(())
    }

    /// Where `tp` starts whenever it is assigned without a committed offset (now, after a
    /// rebalance), instead of where the reset policy would put it: a reader that wants only
    /// a partition's newest part of a group subscription says so before the first poll.
    pub fn set_start_offset(&mut self, tp: &TopicPartition, offset: i64) {
        self.start_offsets.insert(tp.clone(), offset);
    }

    /// Rewinds `tp` to its oldest stored record.
    pub fn seek_to_beginning(&mut self, tp: &TopicPartition) -> Result<()> {
        let at = offsets::list_offsets(&self.cluster, std::slice::from_ref(tp), -2)?;
        let off = at
            .get(tp)
            .copied()
            .ok_or_else(|| Error::InvalidState(format!("no offset for {tp}")))?;
        self.seek(tp, off)
    }

    /// Adds partitions to a manual assignment (a reader that learns of new topics as it
    /// reads, such as a follower of every board); each starts where
    /// [`Consumer::set_start_offset`] says, else at the reset policy. Partitions already
    /// assigned keep their position. Refused for group subscriptions, whose assignment is
    /// the group's.
    pub fn assign_more(&mut self, partitions: &[TopicPartition]) -> Result<()> {
        let Subscription::Manual(ps) = &mut self.config.subscription else {
            return Err(Error::InvalidState(
                "only a manual assignment can grow by hand".into(),
            ));
        };
        let new: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !self.parts.contains_key(*tp))
            .cloned()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        ps.extend(new.iter().cloned());
        self.cluster
            .want_topics(new.iter().map(|tp| tp.topic.as_str()));
        for tp in new {
            self.parts.insert(tp, PartState::default());
        }
        Ok(())
    }

    /// Stops returning and fetching records of these partitions until resumed.
    pub fn pause(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            if let Some(p) = self.parts.get_mut(tp) {
                p.paused = true;
            }
        }
    }

    /// Undoes [`Consumer::pause`].
    pub fn resume(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            if let Some(p) = self.parts.get_mut(tp) {
                p.paused = false;
            }
        }
    }

    /// Commits the current positions of every assigned partition now.
    pub fn commit(&mut self) -> Result<()> {
        let offsets: BTreeMap<TopicPartition, i64> = self
            .parts
            .iter()
            .filter_map(|(tp, p)| p.position.map(|o| (tp.clone(), o)))
            .collect();
        self.commit_offsets(offsets)
    }

    /// Commits the given offsets (the next offset to read, as Kafka expects).
    pub fn commit_offsets(&mut self, offsets: BTreeMap<TopicPartition, i64>) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        // After the auto-commit in flight, never before it.
        self.finish_auto_commit(self.cluster.config.request_timeout);
        let group_id = self
            .config
            .group_id
            .clone()
            .ok_or_else(|| Error::Config("commits need a group id".into()))?;
        match &self.group {
            Some(g) => g.commit(&offsets)?,
            None => {
                let conn = offsets::find_coordinator(&self.cluster, None, &group_id)?;
                offsets::commit(&conn, &group_id, -1, "", &offsets)?;
            }
        }
        self.committed.extend(offsets);
        Ok(())
    }

    /// The group's committed offsets for `partitions`.
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<i64>>> {
        match (&self.group, &self.config.group_id) {
            (Some(g), _) => g.committed(partitions),
            (None, Some(id)) => {
                let conn = offsets::find_coordinator(&self.cluster, None, id)?;
                offsets::fetch(&conn, id, partitions)
            }
            (None, None) => Err(Error::Config("committed offsets need a group id".into())),
        }
    }

    /// Commits (if auto-commit), leaves the group and stops. Also done on drop.
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        let mut result = Ok(());
        if self.config.auto_commit && self.config.group_id.is_some() {
            result = self.commit_changed();
        }
        if let Some(g) = &self.group {
            g.leave();
        }
        self.group = None;
        result
    }

    /// Commits positions that moved since the last commit.
    fn commit_changed(&mut self) -> Result<()> {
        self.finish_auto_commit(self.cluster.config.request_timeout);
        let changed = self.changed_positions();
        self.commit_offsets(changed)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if let Err(e) = self.close() {
            tracing::debug!(error = %e, "closing consumer");
        }
    }
}
