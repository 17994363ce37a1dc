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
    /// Close connections idle for this many seconds.
    pub idle_timeout_secs: u64,
    /// "always" (fsync before acknowledging, grouped) or "interval".
    pub flush: String,
    /// With `flush = "interval"`: how often to fsync, in milliseconds.
    pub flush_interval_ms: u64,
    /// How often retention and compaction run, in milliseconds.
    pub maintenance_interval_ms: u64,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Topic defaults, in Kafka's names (`retention.ms = "86400000"`).
    pub topic_defaults: std::collections::BTreeMap<String, String>,
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
            max_connections: 1024,
            idle_timeout_secs: 600,
            flush: "always".into(),
            flush_interval_ms: 1000,
            maintenance_interval_ms: 30_000,
            shutdown_grace_secs: 5,
            topic_defaults: Default::default(),
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
        if self.max_connections == 0 {
            return Err(Error::Config("max_connections: must be at least 1".into()));
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

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}
