//! The broker as a whole: configuration, the log manager, the group coordinator,
//! producer-id allocation and the hooks a host installs. Handlers receive an `Arc<Broker>`; the server owns the sockets.
//! A host opens it ([`Broker::open_with`]), prepares its own state through the methods
//! here and in [`append`] (never through the fields, which are the crate's), then puts it
//! on a listener with [`Broker::start`] (see [`crate::server::Handle`]).

mod append;

pub use append::Checked;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::{Account, Auth, Hooks, Operation, Principal, Resource, SaslStage};
use crate::config::BrokerConfig;
use crate::data_lock::DirLock;
use crate::error::Result;
use crate::group::GroupCoordinator;
use crate::log::{Flusher, LogManager};
use crate::producer_ids::ProducerIds;

/// Per-connection facts handlers may need.
#[derive(Debug)]
pub struct Session {
    /// The client's address.
    pub peer: SocketAddr,
    /// The client id from the latest request header.
    pub client_id: String,
    /// Who the connection acts as (anonymous until SASL completes).
    pub principal: Principal,
    /// Where the connection is in the SASL exchange.
    pub sasl: SaslStage,
    /// Set by a handler when the connection must close after its reply (failed login).
    pub close: bool,
    /// This connection's place in the per-address connection count: taken at accept
    /// for the socket's address, moved to the real client address when the classic
    /// port vouches for one (BBS-PROXY), so classic users, who all reach the broker
    /// from loopback, are counted as themselves and do not share loopback's limit.
    pub ip_slot: Option<crate::server::limits::IpSlot>,
    /// How many requests the connection has read so far: a held fetch answers early when
    /// a later request arrives behind it (see [`RequestCount`]).
    pub requests: Arc<RequestCount>,
    /// Front mode: this client's own connections to the upstream cluster, made on first
    /// use (a single server's connections never hold any).
    links: std::sync::OnceLock<Arc<crate::upstream::Links>>,
}

/// The requests one connection has read, and a wake-up for each new one.
///
/// Kafka answers a connection's requests in order, so a fetch held for its `max_wait`
/// delays every request the client pipelined behind it (a JoinGroup after a subscription
/// grew, a commit). A held fetch here gives up waiting as soon as another request
/// arrives behind it and answers with what it has: the client simply fetches again,
/// and the request behind is served at once instead of up to `max_wait` later.
#[derive(Debug, Default)]
pub struct RequestCount {
    read: std::sync::atomic::AtomicU64,
    more: tokio::sync::Notify,
}

impl RequestCount {
    /// Counts a request just read and wakes fetches waiting behind it.
    pub fn arrived(&self) {
        self.read.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.more.notify_waiters();
    }

    /// Requests read so far.
    pub fn count(&self) -> u64 {
        self.read.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Resolves at the next [`RequestCount::arrived`] (enable it before checking
    /// [`RequestCount::count`] so no arrival is missed).
    pub fn next(&self) -> tokio::sync::futures::Notified<'_> {
        self.more.notified()
    }
}

impl Session {
    /// Front mode: this client's own connections to the upstream cluster.
    pub fn links(&self) -> &Arc<crate::upstream::Links> {
        self.links.get_or_init(Arc::default)
    }

    /// A fresh, anonymous session for a client at `peer`.
    pub fn new(peer: SocketAddr) -> Self {
        Session {
            peer,
            client_id: String::new(),
            principal: Principal::Anonymous,
            sasl: SaslStage::Idle,
            close: false,
            ip_slot: None,
            requests: Arc::default(),
            links: std::sync::OnceLock::new(),
        }
    }
}

/// A running broker's shared state.
pub struct Broker {
    /// Settings.
    pub(crate) config: BrokerConfig,
    /// Topics and their logs.
    pub(crate) logs: Arc<LogManager>,
    /// Host and port clients are told to connect to.
    pub(crate) advertised: (String, i32),
    /// Our node id (always 0: single node).
    pub(crate) node_id: i32,
    /// The cluster id reported in Metadata.
    pub(crate) cluster_id: String,
    /// Consumer groups and committed offsets.
    pub(crate) groups: Arc<GroupCoordinator>,
    /// Accounts, authorizer, record policy and login limits.
    pub(crate) auth: Auth,
    /// Held while the broker runs: one process per data directory.
    _lock: DirLock,
    data_dir: PathBuf,
    /// Producer ids handed out and who owns each.
    pub(crate) producer_ids: ProducerIds,
    /// Front mode: the cluster the data-plane requests are forwarded to (set once, before
    /// [`Broker::start`]).
    upstream: std::sync::OnceLock<Arc<crate::upstream::Upstream>>,
}

impl Broker {
    /// Opens the data directory (recovering logs) and builds the broker. Must run inside a
    /// Tokio runtime (the flusher is spawned on it).
    pub fn open(config: BrokerConfig, data_dir: &Path) -> Result<(Arc<Self>, Vec<String>)> {
        Self::open_with(config, data_dir, Hooks::default())
    }

    /// Like [`Broker::open`], installing a host's authorizer and record policy.
    pub fn open_with(
        config: BrokerConfig,
        data_dir: &Path,
        hooks: Hooks,
    ) -> Result<(Arc<Self>, Vec<String>)> {
        config.validate()?;
        crate::record::bounded::set_server_cap(config.max_uncompressed_batch_bytes);
        let lock = DirLock::acquire(data_dir)?;
        let flusher = Flusher::start(config.flush_policy()?)
            .map_err(|e| crate::Error::io("starting the flusher thread", e))?;
        let (logs, repairs) = LogManager::open(data_dir, config.topic_config()?, flusher.clone())?;
        logs.tail_budget.set_limits(
            config.tail_cache_partition_bytes,
            config.tail_cache_total_bytes,
        );
        let groups = GroupCoordinator::open(
            config.group_config(),
            &data_dir.join("internal"),
            flusher.clone(),
        )?;
        let producer_ids = ProducerIds::open(&data_dir.join("internal"), flusher.clone())?;
        let auth = Auth::open(config.auth.clone(), data_dir, config.listen, flusher, hooks)?;
        let advertised = config.advertised()?;
        let cluster_id = cluster_id(data_dir)?;
        Ok((
            Arc::new(Broker {
                config,
                logs: Arc::new(logs),
                advertised,
                node_id: 0,
                cluster_id,
                groups,
                auth,
                _lock: lock,
                data_dir: data_dir.to_path_buf(),
                producer_ids,
                upstream: std::sync::OnceLock::new(),
            }),
            repairs,
        ))
    }

    /// Turns this broker into a front server over `upstream` (before [`Broker::start`]):
    /// produce, fetch, offsets, groups and topic admin are forwarded there after the same
    /// authorization, Metadata names only this server, and no topic log is kept here.
    pub fn set_upstream(&self, upstream: Arc<crate::upstream::Upstream>) -> Result<()> {
        self.upstream
            .set(upstream)
            .map_err(|_| crate::error::Error::Config("the upstream is already set".into()))
    }

    /// The upstream cluster, in front mode.
    pub fn upstream(&self) -> Option<&Arc<crate::upstream::Upstream>> {
        self.upstream.get()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The settings the broker runs with.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// The topics and their logs (creating topics, reading partitions, host settings).
    pub fn logs(&self) -> &Arc<LogManager> {
        &self.logs
    }

    /// Host and port clients are told to connect to.
    pub fn advertised(&self) -> (&str, i32) {
        (&self.advertised.0, self.advertised.1)
    }

    /// Every account in the credential store, by name.
    pub fn accounts(&self) -> Vec<(String, Account)> {
        self.auth.store.list()
    }

    /// Asks the authorizer whether `session`'s principal may perform `op` on `resource`.
    /// Handlers call this once per resource; denials are logged at debug level.
    /// In front mode the front servers' own topics and groups on the cluster (names
    /// starting with [`crate::upstream::RESERVED_PREFIX`]: the shared accounts, the BBS
    /// ledger, the sequencer's group) are closed to every client.
    pub fn authorize(&self, session: &Session, op: Operation, resource: Resource<'_>) -> bool {
        if self.upstream().is_some()
            && matches!(resource, Resource::Topic(n) | Resource::Group(n) if crate::upstream::reserved(n))
        {
            tracing::debug!(peer = %session.peer, ?op, ?resource, "denied: a front servers' own name");
            return false;
        }
        let ok = self
            .auth
            .authorizer
            .authorize(&session.principal, op, &resource);
        if !ok {
            tracing::debug!(peer = %session.peer, principal = %session.principal, ?op, ?resource, "denied");
        }
        ok
    }

    /// [`Broker::authorize`] as a result carrying the Kafka error code of a denial
    /// (TOPIC_ / GROUP_ / CLUSTER_AUTHORIZATION_FAILED).
    pub fn check(
        &self,
        session: &Session,
        op: Operation,
        resource: Resource<'_>,
    ) -> Result<(), wire::ErrorCode> {
        if self.authorize(session, op, resource) {
            Ok(())
        } else {
            Err(resource.denied_code())
        }
    }
}

/// The cluster id, made once per data directory and kept in `cluster.id`.
fn cluster_id(dir: &Path) -> Result<String> {
    use crate::error::IoContext;
    let path = dir.join("cluster.id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim().to_string();
        if !id.is_empty() {
            return Ok(id);
        }
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("bbs-{:x}-{:x}", now, std::process::id());
    std::fs::write(&path, &id).ctx(|| format!("writing {}", path.display()))?;
    Ok(id)
}
