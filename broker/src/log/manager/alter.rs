//! Changes to existing topics' shape and settings (AlterConfigs, IncrementalAlterConfigs,
//! CreatePartitions): each is durable in `__cluster` before the new [`Topic`] replaces the
//! old one in the map (readers holding the old one keep a consistent snapshot).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::{codes, terr, LogManager, Topic, TopicError, TopicMeta, MAX_PARTITIONS};
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
            .map_err(|e| terr(codes::INVALID_CONFIG, e.to_string()))?;
        let _guard = self.admin.lock().await;
        let old = self.topic(name).ok_or_else(|| {
            terr(
                codes::UNKNOWN_TOPIC_OR_PARTITION,
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
                codes::UNKNOWN_TOPIC_OR_PARTITION,
                format!("no topic '{name}'"),
            )
        })?;
        let have = old.partitions.len() as i32;
        if count <= have || count > MAX_PARTITIONS {
            return Err(terr(
                codes::INVALID_PARTITIONS,
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
                let (p, _) = Partition::open(&dir, name, i, Arc::clone(&self.data_arrived))
                    .map_err(|e| terr(codes::KAFKA_STORAGE_ERROR, e.to_string()))?;
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
            .map_err(|e| terr(codes::KAFKA_STORAGE_ERROR, e.to_string()))?;
        self.topics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(topic.name.clone(), Arc::clone(topic));
        Ok(())
    }
}
