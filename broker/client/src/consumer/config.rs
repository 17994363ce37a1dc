//! Consumer settings: what to read (topics, a pattern or fixed partitions), commits, the
//! reset policy, fetch sizes and group timing.

use std::sync::Arc;
use std::time::Duration;

use super::assignor::Assignor;
use super::fetcher::FetchConfig;
use super::group::GroupConfig;
use super::TopicPartition;

/// Where to start when there is no committed offset (or it is out of range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    /// The oldest record still stored.
    Earliest,
    /// Only records produced from now on.
    Latest,
    /// Fail `poll` with an error.
    None,
}

/// What the consumer reads.
#[derive(Debug, Clone)]
pub(crate) enum Subscription {
    /// Nothing yet.
    None,
    /// Named topics (group management).
    Topics(Vec<String>),
    /// Every topic matching a regular expression or a predicate (group management).
    Pattern(Pattern),
    /// Partitions chosen by the application (no group membership; commits still allowed).
    Manual(Vec<TopicPartition>),
}

/// How a pattern subscription tells its topics.
#[derive(Clone)]
pub(crate) enum Pattern {
    /// A regular expression (compiled when the consumer is created).
    Regex(String),
    /// A predicate on the topic's name.
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Regex(r) => f.debug_tuple("Regex").field(r).finish(),
            Pattern::Predicate(_) => f.write_str("Predicate"),
        }
    }
}

/// Consumer settings.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The group to join (required for subscriptions and commits).
    pub group_id: Option<String>,
    /// What to read.
    pub(crate) subscription: Subscription,
    /// Commit positions every `auto_commit_interval`, on rebalance and on close.
    pub auto_commit: bool,
    /// Longest auto-commit period (each is 0-25% shorter, see `util::jittered`).
    pub auto_commit_interval: Duration,
    /// Where to start without a committed offset.
    pub offset_reset: OffsetReset,
    /// Most records one `poll` returns.
    pub max_poll_records: usize,
    /// Fetch sizes and long-poll wait.
    pub fetch: FetchConfig,
    /// Group timing and strategies.
    pub group: GroupConfig,
}

impl ConsumerConfig {
    /// A consumer in group `group_id`.
    pub fn group(group_id: &str) -> Self {
        ConsumerConfig {
            group_id: Some(group_id.to_string()),
            ..Self::manual()
        }
    }

    /// A consumer without a group: assign partitions with [`ConsumerConfig::assign`].
    pub fn manual() -> Self {
        ConsumerConfig {
            group_id: None,
            subscription: Subscription::None,
            auto_commit: true,
            auto_commit_interval: Duration::from_secs(5),
            offset_reset: OffsetReset::Latest,
            max_poll_records: 500,
            fetch: FetchConfig {
                max_wait_ms: 500,
                min_bytes: 1,
                max_bytes: 50 << 20,
                partition_max_bytes: 4 << 20,
            },
            group: GroupConfig {
                session_timeout: Duration::from_secs(10),
                rebalance_timeout: Duration::from_secs(10),
                heartbeat_interval: Duration::from_secs(3),
                assignors: vec![Assignor::Range, Assignor::RoundRobin],
            },
        }
    }

    /// Subscribes to named topics.
    pub fn subscribe(mut self, topics: &[&str]) -> Self {
        self.subscription = Subscription::Topics(topics.iter().map(|t| t.to_string()).collect());
        self
    }

    /// Subscribes to every topic matching `regex` (checked when the consumer is created).
    pub fn subscribe_pattern(mut self, regex: &str) -> Self {
        self.subscription = Subscription::Pattern(Pattern::Regex(regex.to_string()));
        self
    }

    /// Subscribes to every topic whose name `matches`: a pattern subscription without a
    /// regular expression (compiling one costs a small program far more memory and start-up
    /// work than a test of a prefix does).
    pub fn subscribe_matching(
        mut self,
        matches: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.subscription = Subscription::Pattern(Pattern::Predicate(Arc::new(matches)));
        self
    }

    /// Reads exactly these partitions, without group membership.
    pub fn assign(mut self, partitions: &[TopicPartition]) -> Self {
        self.subscription = Subscription::Manual(partitions.to_vec());
        self
    }

    /// Sets the reset policy.
    pub fn offset_reset(mut self, reset: OffsetReset) -> Self {
        self.offset_reset = reset;
        self
    }

    /// Turns auto-commit on or off.
    pub fn auto_commit(mut self, on: bool) -> Self {
        self.auto_commit = on;
        self
    }

    /// Sets the preferred assignors (the first one every member supports wins).
    pub fn assignors(mut self, list: &[Assignor]) -> Self {
        self.group.assignors = list.to_vec();
        self
    }

    /// Sets the session timeout and heartbeat interval.
    pub fn session(mut self, timeout: Duration, heartbeat: Duration) -> Self {
        self.group.session_timeout = timeout;
        self.group.heartbeat_interval = heartbeat;
        self
    }

    /// Sets the largest number of records one poll returns.
    pub fn max_poll_records(mut self, n: usize) -> Self {
        self.max_poll_records = n.max(1);
        self
    }
}
