//! Per-topic log settings (Kafka's topic-level configs) with broker defaults, parsing from
//! and rendering to the string map that CreateTopics and DescribeConfigs carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings that govern one topic's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Delete segments whose newest record is older than this (ms); -1 keeps forever.
    pub retention_ms: i64,
    /// Delete old segments while the partition is larger than this; -1 for no limit.
    pub retention_bytes: i64,
    /// Roll to a new segment past this many bytes.
    pub segment_bytes: u64,
    /// Roll to a new segment after this long (ms).
    pub segment_ms: i64,
    /// `cleanup.policy`: delete, compact, or both.
    pub cleanup_delete: bool,
    /// Whether the log is compacted (latest value per key).
    pub cleanup_compact: bool,
    /// How long tombstones survive compaction (ms).
    pub delete_retention_ms: i64,
    /// Records must not stay uncompacted for less than this (ms).
    pub min_compaction_lag_ms: i64,
    /// Stamp batches with the broker's clock (LogAppendTime) instead of the producer's.
    pub log_append_time: bool,
    /// Largest batch accepted, in bytes.
    pub max_message_bytes: usize,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            retention_ms: 7 * 24 * 3600 * 1000,
            retention_bytes: -1,
            segment_bytes: 128 * 1024 * 1024,
            segment_ms: 7 * 24 * 3600 * 1000,
            cleanup_delete: true,
            cleanup_compact: false,
            delete_retention_ms: 24 * 3600 * 1000,
            min_compaction_lag_ms: 0,
            log_append_time: false,
            max_message_bytes: 1024 * 1024 + 12,
        }
    }
}

/// The config names this broker understands, in DescribeConfigs order.
pub const NAMES: &[&str] = &[
    "cleanup.policy",
    "delete.retention.ms",
    "max.message.bytes",
    "message.timestamp.type",
    "min.compaction.lag.ms",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
];

fn parse_i64(name: &str, value: &str, min: i64) -> Result<i64> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| Error::Config(format!("{name}: '{value}' is not a whole number")))?;
    if v < min {
        return Err(Error::Config(format!(
            "{name}: {v} is below the minimum {min}"
        )));
    }
    Ok(v)
}

impl TopicConfig {
    /// Applies one `name=value` setting, rejecting unknown names and bad values.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        match name {
            "retention.ms" => self.retention_ms = parse_i64(name, value, -1)?,
            "retention.bytes" => self.retention_bytes = parse_i64(name, value, -1)?,
            "segment.bytes" => self.segment_bytes = parse_i64(name, value, 1024)? as u64,
            "segment.ms" => self.segment_ms = parse_i64(name, value, 1)?,
            "delete.retention.ms" => self.delete_retention_ms = parse_i64(name, value, 0)?,
            "min.compaction.lag.ms" => self.min_compaction_lag_ms = parse_i64(name, value, 0)?,
            "max.message.bytes" => self.max_message_bytes = parse_i64(name, value, 64)? as usize,
            "cleanup.policy" => {
                let mut delete = false;
                let mut compact = false;
                for part in value.split(',').map(str::trim) {
                    match part {
                        "delete" => delete = true,
                        "compact" => compact = true,
                        other => {
                            return Err(Error::Config(format!(
                                "cleanup.policy: '{other}' is not delete or compact"
                            )))
                        }
                    }
                }
                self.cleanup_delete = delete;
                self.cleanup_compact = compact;
            }
            "message.timestamp.type" => {
                self.log_append_time = match value.trim() {
                    "CreateTime" => false,
                    "LogAppendTime" => true,
                    other => {
                        return Err(Error::Config(format!(
                            "message.timestamp.type: '{other}' is not CreateTime or LogAppendTime"
                        )))
                    }
                }
            }
            other => return Err(Error::Config(format!("unknown topic config '{other}'"))),
        }
        Ok(())
    }

    /// Builds a config from defaults plus overrides.
    pub fn with_overrides(
        defaults: &TopicConfig,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut cfg = defaults.clone();
        for (k, v) in overrides {
            cfg.set(k, v)?;
        }
        Ok(cfg)
    }

    /// The current value of a named setting, as Kafka renders it.
    pub fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "retention.ms" => self.retention_ms.to_string(),
            "retention.bytes" => self.retention_bytes.to_string(),
            "segment.bytes" => self.segment_bytes.to_string(),
            "segment.ms" => self.segment_ms.to_string(),
            "delete.retention.ms" => self.delete_retention_ms.to_string(),
            "min.compaction.lag.ms" => self.min_compaction_lag_ms.to_string(),
            "max.message.bytes" => self.max_message_bytes.to_string(),
            "cleanup.policy" => match (self.cleanup_delete, self.cleanup_compact) {
                (true, true) => "compact,delete".into(),
                (false, true) => "compact".into(),
                _ => "delete".into(),
            },
            "message.timestamp.type" => if self.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            }
            .into(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_round_trip_and_errors() {
        let mut c = TopicConfig::default();
        c.set("cleanup.policy", "compact").expect("valid");
        c.set("message.timestamp.type", "LogAppendTime")
            .expect("valid");
        c.set("retention.ms", "-1").expect("valid");
        assert_eq!(c.get("cleanup.policy").as_deref(), Some("compact"));
        assert_eq!(
            c.get("message.timestamp.type").as_deref(),
            Some("LogAppendTime")
        );
        assert!(c.set("retention.ms", "soon").is_err());
        assert!(c.set("segment.bytes", "10").is_err());
        assert!(c.set("no.such.thing", "1").is_err());
        for n in NAMES {
            assert!(c.get(n).is_some(), "{n}");
        }
    }
}
