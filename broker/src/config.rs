//! Broker settings: defaults, the `[broker]` table of a TOML config file, and validation.
//! Every field has a default so an empty file (or none) gives a working broker.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::log::{FlushPolicy, TopicConfig};

/// Settings of the broker, as read from the config file's `[broker]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `host:port` put in Metadata responses; defaults to the listen address.
    pub advertise: Option<String>,
    /// Where logs and state live; defaults to the platform data directory.
    pub data_dir: Option<PathBuf>,
    /// Create unknown topics on Metadata/Produce.
    pub auto_create_topics: bool,
    /// Partitions of an auto-created topic.
    pub default_partitions: i32,
    /// Largest request frame accepted, in bytes.
    pub max_request_bytes: usize,
    /// Most simultaneous client connections.
    pub max_connections: usize,
    /// Server-wide cap on the uncompressed records of one batch, in bytes: decompression
    /// (append check, record policy, compaction) stops here even when a topic's
    /// `max.message.bytes` is larger, so a small compressed request cannot make the
    /// server allocate more.
    pub max_uncompressed_batch_bytes: usize,
    /// Close connections idle for this many seconds.
    pub idle_timeout_secs: u64,
    /// Most simultaneous connections from one client address (Kafka's
    /// max.connections.per.ip), so one address cannot take every slot of `max_connections`.
    pub max_connections_per_ip: usize,
    /// Per-address exceptions to `max_connections_per_ip` (Kafka's
    /// max.connections.per.ip.overrides), e.g. a classroom's NAT address; keys are IP
    /// addresses.
    pub max_connections_per_ip_overrides: std::collections::BTreeMap<String, usize>,
    /// A new connection must have sent one complete request within this many seconds
    /// (closes half-open and silent connections).
    pub first_request_timeout_secs: u64,
    /// Once a request's first bytes arrive, the whole request must arrive within this many
    /// seconds (closes slow-loris connections trickling half frames).
    pub request_timeout_secs: u64,
    /// Once a connection starts SASL (SaslHandshake), it must finish logging in within this
    /// many seconds.
    pub sasl_timeout_secs: u64,
    /// "always" (fsync before acknowledging, grouped) or "interval".
    pub flush: String,
    /// With `flush = "interval"`: how often to fsync, in milliseconds.
    pub flush_interval_ms: u64,
    /// How often retention and compaction run, in milliseconds.
    pub maintenance_interval_ms: u64,
    /// Bytes of each partition's newest batches kept in memory, so fetches at the log
    /// end need no disk read (0 turns the tail cache off).
    pub tail_cache_partition_bytes: usize,
    /// Bytes all partitions' tail caches may hold together.
    pub tail_cache_total_bytes: usize,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Topic defaults, in Kafka's names (`retention.ms = "86400000"`).
    pub topic_defaults: std::collections::BTreeMap<String, String>,
    /// How long a new group's first rebalance waits for more members (Kafka's
    /// group.initial.rebalance.delay.ms); 0 hands out partitions at once.
    pub group_initial_rebalance_delay_ms: u64,
    /// Smallest session timeout a consumer may ask for (group.min.session.timeout.ms).
    pub group_min_session_timeout_ms: i32,
    /// Largest session timeout a consumer may ask for (group.max.session.timeout.ms).
    pub group_max_session_timeout_ms: i32,
    /// Most members in one group (group.max.size).
    pub group_max_size: usize,
    /// Largest protocol metadata (subscription) one member may send in JoinGroup, bytes.
    pub group_max_member_metadata_bytes: usize,
    /// Longest metadata string of a committed offset (offset.metadata.max.bytes).
    pub offset_metadata_max_bytes: usize,
    /// Committed offsets of a group that has been empty this long are deleted
    /// (offsets.retention.minutes); -1 keeps them forever (the BBS stores what each user
    /// has read as committed offsets).
    pub offsets_retention_ms: i64,
    /// Accounts and access: the config file's separate `[auth]` table, set by the host.
    #[serde(skip)]
    pub auth: crate::auth::AuthConfig,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertise: None,
            data_dir: None,
            auto_create_topics: true,
            default_partitions: 1,
            max_request_bytes: 8 * 1024 * 1024,
            max_connections: 16384,
            max_uncompressed_batch_bytes: crate::record::bounded::DEFAULT_SERVER_CAP,
            idle_timeout_secs: 600,
            max_connections_per_ip: 256,
            max_connections_per_ip_overrides: Default::default(),
            first_request_timeout_secs: 10,
            request_timeout_secs: 30,
            sasl_timeout_secs: 15,
            flush: "always".into(),
            flush_interval_ms: 1000,
            maintenance_interval_ms: 30_000,
            tail_cache_partition_bytes: crate::log::tail::DEFAULT_PARTITION_BYTES,
            tail_cache_total_bytes: crate::log::tail::DEFAULT_TOTAL_BYTES,
            shutdown_grace_secs: 5,
            topic_defaults: Default::default(),
            group_initial_rebalance_delay_ms: 0,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_max_size: 1000,
            group_max_member_metadata_bytes: 256 * 1024,
            offset_metadata_max_bytes: 4096,
            offsets_retention_ms: -1,
            auth: Default::default(),
        }
    }
}

impl BrokerConfig {
    /// Checks values and derives the typed settings.
    pub fn validate(&self) -> Result<()> {
        self.flush_policy()?;
        self.topic_config()?;
        self.advertised()?;
        self.auth.validate()?;
        if !(1..=crate::log::manager::MAX_PARTITIONS).contains(&self.default_partitions) {
            return Err(Error::Config(format!(
                "default_partitions: {} is out of range",
                self.default_partitions
            )));
        }
        if self.max_request_bytes < 1024 {
            return Err(Error::Config(
                "max_request_bytes: must be at least 1024".into(),
            ));
        }
        if self.group_min_session_timeout_ms < 1
            || self.group_max_session_timeout_ms < self.group_min_session_timeout_ms
        {
            return Err(Error::Config(
                "group_min_session_timeout_ms / group_max_session_timeout_ms: need 1 <= min <= max"
                    .into(),
            ));
        }
        if self.group_max_size == 0 {
            return Err(Error::Config("group_max_size: must be at least 1".into()));
        }
        if self.max_connections == 0 {
            return Err(Error::Config("max_connections: must be at least 1".into()));
        }
        self.connections_per_ip_overrides()?;
        for (name, secs) in [
            (
                "first_request_timeout_secs",
                self.first_request_timeout_secs,
            ),
            ("request_timeout_secs", self.request_timeout_secs),
            ("sasl_timeout_secs", self.sasl_timeout_secs),
        ] {
            if secs == 0 {
                return Err(Error::Config(format!("{name}: must be at least 1")));
            }
        }
        Ok(())
    }

    /// The flush policy.
    pub fn flush_policy(&self) -> Result<FlushPolicy> {
        match self.flush.as_str() {
            "always" => Ok(FlushPolicy::Always),
            "interval" if self.flush_interval_ms > 0 => {
                Ok(FlushPolicy::Interval(self.flush_interval_ms))
            }
            "interval" => Err(Error::Config("flush_interval_ms: must be above 0".into())),
            other => Err(Error::Config(format!(
                "flush: '{other}' is not \"always\" or \"interval\""
            ))),
        }
    }

    /// Topic defaults with the configured overrides applied.
    pub fn topic_config(&self) -> Result<TopicConfig> {
        TopicConfig::with_overrides(&TopicConfig::default(), &self.topic_defaults)
            .map_err(|e| Error::Config(format!("topic_defaults: {e}")))
    }

    /// The advertised host and port.
    pub fn advertised(&self) -> Result<(String, i32)> {
        match &self.advertise {
            None => Ok((self.listen.ip().to_string(), i32::from(self.listen.port()))),
            Some(a) => {
                let (host, port) = a
                    .rsplit_once(':')
                    .ok_or_else(|| Error::Config(format!("advertise: '{a}' is not host:port")))?;
                let port: u16 = port.parse().map_err(|_| {
                    Error::Config(format!("advertise: '{port}' is not a port number"))
                })?;
                if host.is_empty() {
                    return Err(Error::Config(format!("advertise: '{a}' has no host")));
                }
                Ok((
                    host.trim_matches(|c| c == '[' || c == ']').to_string(),
                    i32::from(port),
                ))
            }
        }
    }

    /// The group coordinator's settings.
    pub fn group_config(&self) -> crate::group::GroupConfig {
        crate::group::GroupConfig {
            initial_rebalance_delay: Duration::from_millis(self.group_initial_rebalance_delay_ms),
            min_session_timeout_ms: self.group_min_session_timeout_ms,
            max_session_timeout_ms: self.group_max_session_timeout_ms,
            max_size: self.group_max_size,
            max_member_metadata_bytes: self.group_max_member_metadata_bytes,
            offset_metadata_max_bytes: self.offset_metadata_max_bytes,
            offsets_retention_ms: self.offsets_retention_ms,
        }
    }

    /// `max_connections_per_ip_overrides` with its keys parsed as addresses.
    pub fn connections_per_ip_overrides(
        &self,
    ) -> Result<std::collections::HashMap<std::net::IpAddr, usize>> {
        self.max_connections_per_ip_overrides
            .iter()
            .map(|(k, v)| {
                k.trim()
                    .parse::<std::net::IpAddr>()
                    .map(|ip| (ip.to_canonical(), *v))
                    .map_err(|_| {
                        Error::Config(format!(
                            "max_connections_per_ip_overrides: '{k}' is not an IP address"
                        ))
                    })
            })
            .collect()
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}
