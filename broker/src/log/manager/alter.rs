//! Changes to existing topics' shape and settings (AlterConfigs, IncrementalAlterConfigs,
//! CreatePartitions): each is durable in `__cluster` before the new [`Topic`] replaces the
//! old one in the map (readers holding the old one keep a consistent snapshot).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use wire::ErrorCode;

use super::{terr, LogManager, Topic, TopicError, TopicMeta, MAX_PARTITIONS};
use crate::log::partition::Partition;
use crate::log::topic_config::TopicConfig;

impl LogManager {
    /// Replaces a topic's overrides (AlterConfigs; IncrementalAlterConfigs computes the
    /// full set first). The host's per-name settings still win. Durable before it returns;
    /// with `validate_only` nothing changes.
    pub async fn alter_topic_config(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        let overrides = self.with_name_defaults(name, overrides);
        let config = TopicConfig::with_overrides(&self.defaults, &overrides)
            .map_err(|e| terr(ErrorCode::INVALID_CONFIG, e.to_string()))?;
        let _guard = self.admin.lock().await;
        let old = self.topic(name).ok_or_else(|| {
            terr(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                format!("no topic '{name}'"),
            )
        })?;
        let topic = Arc::new(Topic {
            name: old.name.clone(),
            id: old.id,
            partitions: old.partitions.clone(),
            overrides,
            config: RwLock::new(config),
        });
        if !validate_only {
            self.replace(&topic).await?;
            tracing::info!(topic = name, "altered topic settings");
        }
        Ok(topic)
    }

    /// Grows a topic to `count` partitions (CreatePartitions); never shrinks it.
    pub async fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        let _guard = self.admin.lock().await;
        let old = self.topic(name).ok_or_else(|| {
            terr(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                format!("no topic '{name}'"),
            )
        })?;
        let have = old.partitions.len() as i32;
        if count <= have || count > MAX_PARTITIONS {
            return Err(terr(
                ErrorCode::INVALID_PARTITIONS,
                format!(
                    "topic '{name}' has {have} partitions; the new count must be {} to {MAX_PARTITIONS}, not {count}",
                    have + 1
                ),
            ));
        }
        let mut partitions = old.partitions.clone();
        if !validate_only {
            for i in have..count {
                let dir = self.root.join("topics").join(format!("{name}-{i}"));
                let (p, _) = Partition::open(&dir, name, i, Arc::clone(&self.tail_budget))
                    .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
                partitions.push(Arc::new(p));
            }
        }
        let topic = Arc::new(Topic {
            name: old.name.clone(),
            id: old.id,
            partitions,
            overrides: old.overrides.clone(),
            config: RwLock::new(old.config()),
        });
        if !validate_only {
            self.replace(&topic).await?;
            tracing::info!(topic = name, partitions = count, "added partitions");
        }
        Ok(topic)
    }

    /// Durably records `topic`'s shape and settings and puts it in place of the old one.
    async fn replace(&self, topic: &Arc<Topic>) -> Result<(), TopicError> {
        let meta = TopicMeta {
            id: topic.id,
            partitions: topic.partitions.len() as i32,
            overrides: topic.overrides.clone(),
        };
        self.meta
            .put(&topic.name, Some(&meta))
            .await
            .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
        self.topics
            .write()
            .insert(topic.name.clone(), Arc::clone(topic));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{FlushPolicy, Flusher};

    fn open(dir: &std::path::Path) -> LogManager {
        let flusher = Flusher::start(FlushPolicy::Always).expect("flusher");
        LogManager::open(dir, TopicConfig::default(), flusher)
            .expect("open")
            .0
    }

    #[tokio::test]
    async fn creators_settings_partitions_and_deleted_records_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = open(dir.path());
        logs.set_name_defaults(Arc::new(|name: &str| {
            let mut m = BTreeMap::new();
            if name.starts_with("kept.") {
                m.insert("retention.ms".to_string(), "-1".to_string());
            }
            m
        }));
        let wanted = BTreeMap::from([("retention.ms".to_string(), "1".to_string())]);
        let kept = logs
            .create_topic_as("kept.a", 1, wanted.clone(), false, Some("user:bob"))
            .await
            .expect("create");
        assert_eq!(kept.config().retention_ms, -1, "the host's setting wins");
        logs.create_topic_as("t", 1, BTreeMap::new(), false, Some("user:ana"))
            .await
            .expect("create");
        logs.alter_topic_config("t", wanted.clone(), false)
            .await
            .expect("alter");
        let altered = logs
            .alter_topic_config("kept.a", wanted, false)
            .await
            .expect("alter");
        assert_eq!(altered.config().retention_ms, -1, "the host's setting wins");
        assert!(logs.add_partitions("t", 1, false).await.is_err());
        logs.add_partitions("t", 3, false).await.expect("grow");
        let p = logs.partition("t", 0).expect("partition");
        let batch = crate::record::encode_simple(
            &(0..5)
                .map(|i| (None, Some(bytes::Bytes::from(format!("r{i}")))))
                .collect::<Vec<_>>(),
            1,
        )
        .expect("batch");
        let appended = p.append(&batch, &TopicConfig::default()).expect("append");
        p.advance(appended.end_offset);
        assert!(p.delete_records_before(9).is_err(), "past the end");
        assert_eq!(p.delete_records_before(3).expect("delete"), 3);
        assert!(p.read(2, 1 << 20).is_err());
        drop((p, logs));

        let logs = open(dir.path());
        assert_eq!(logs.creator("t").as_deref(), Some("user:ana"));
        assert_eq!(logs.creator("kept.a").as_deref(), Some("user:bob"));
        let t = logs.topic("t").expect("t");
        assert_eq!(t.partitions.len(), 3);
        assert_eq!(t.config().retention_ms, 1);
        assert_eq!(t.partitions[0].log_start(), 3);
        assert_eq!(t.partitions[0].high_watermark(), 5);
        logs.delete_topic("t").await.expect("delete");
        assert_eq!(logs.creator("t"), None);
    }
}
