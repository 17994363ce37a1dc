//! The set of topics: creating, opening, deleting them and remembering their settings in the
//! internal `__cluster` state log, plus the periodic retention and compaction pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wire::ErrorCode;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::flusher::Flusher;
use super::partition::Partition;
use super::state::StateLog;
use super::tail::TailBudget;
use super::topic_config::TopicConfig;
use crate::error::{IoContext, Result};
use crate::now_ms;

mod alter;

/// Most partitions one topic may have.
pub const MAX_PARTITIONS: i32 = 1024;

/// What is stored about a topic in `__cluster`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TopicMeta {
    id: u128,
    partitions: i32,
    overrides: BTreeMap<String, String>,
}

/// A topic and its partitions.
pub struct Topic {
    /// The topic name.
    pub name: String,
    /// The topic id (Metadata v10+).
    pub id: u128,
    /// Its partitions, by index.
    pub partitions: Vec<Arc<Partition>>,
    /// Settings given at creation (shown as non-default by DescribeConfigs).
    pub overrides: BTreeMap<String, String>,
    config: RwLock<TopicConfig>,
}

impl Topic {
    /// A snapshot of the topic's effective settings.
    pub fn config(&self) -> TopicConfig {
        self.config.read().clone()
    }
}

/// A refusal to create or delete a topic.
#[derive(Debug, Clone)]
pub struct TopicError {
    /// Kafka error code.
    pub code: ErrorCode,
    /// Why.
    pub message: String,
}

fn terr(code: ErrorCode, message: impl Into<String>) -> TopicError {
    TopicError {
        code,
        message: message.into(),
    }
}

/// Checks a topic name as Kafka does: 1-249 characters of `[a-zA-Z0-9._-]`, not `.`/`..`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." {
        return Err(terr(
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            format!("'{name}' is not a legal topic name"),
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(terr(
            ErrorCode::INVALID_TOPIC_EXCEPTION,
            format!("topic name '{name}' may only contain ASCII letters, digits, '.', '_' and '-'"),
        ));
    }
    Ok(())
}

/// All topics of the broker.
pub struct LogManager {
    root: PathBuf,
    defaults: TopicConfig,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    meta: StateLog,
    /// The group-commit flusher all partitions use.
    pub flusher: Flusher,
    /// The byte budget all partitions' tail caches share (see [`crate::log::tail`]).
    pub tail_budget: Arc<TailBudget>,
    /// Produce requests handled, to compare with the flusher's fsync count (the benchmark
    /// reads both from the shutdown log line).
    pub produce_requests: std::sync::atomic::AtomicU64,
    admin: tokio::sync::Mutex<()>,
    /// Settings a host wants for topics by name (e.g. no retention for a namespace),
    /// applied over explicit overrides when a topic is created or altered and stored
    /// with it: a client's request never overrides the host's settings.
    name_defaults: RwLock<Option<NameDefaults>>,
    /// Who created each topic (`user:NAME`, `anonymous`, `operator`, `server`), kept in
    /// the internal `__topic_owners` log so deletion rights survive restarts.
    owners: super::owners::Owners,
}

/// A host's per-name topic settings: given a new topic's name, Kafka-named configs.
pub type NameDefaults = Arc<dyn Fn(&str) -> BTreeMap<String, String> + Send + Sync>;

impl LogManager {
    /// Opens the data directory, recovering every partition. Returns the manager and the
    /// list of repairs made.
    pub fn open(
        root: &Path,
        defaults: TopicConfig,
        flusher: Flusher,
    ) -> Result<(Self, Vec<String>)> {
        let topics_dir = root.join("topics");
        std::fs::create_dir_all(&topics_dir)
            .ctx(|| format!("creating {}", topics_dir.display()))?;
        let meta = StateLog::open(&root.join("internal"), "__cluster", flusher.clone())?;
        let owners = super::owners::Owners::open(&root.join("internal"), flusher.clone())?;
        let tail_budget = Arc::new(TailBudget::default());
        let mut topics = BTreeMap::new();
        let mut repairs = Vec::new();
        for (name, m) in meta.load::<String, TopicMeta>()? {
            let config = match TopicConfig::with_overrides(&defaults, &m.overrides) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(topic = %name, error = %e, "ignoring bad stored topic settings");
                    defaults.clone()
                }
            };
            let mut partitions = Vec::new();
            for i in 0..m.partitions {
                let (p, r) = Partition::open(
                    &topics_dir.join(format!("{name}-{i}")),
                    &name,
                    i,
                    Arc::clone(&tail_budget),
                )?;
                repairs.extend(r);
                partitions.push(Arc::new(p));
            }
            topics.insert(
                name.clone(),
                Arc::new(Topic {
                    name,
                    id: m.id,
                    partitions,
                    overrides: m.overrides,
                    config: RwLock::new(config),
                }),
            );
        }
        // Directories of topics the metadata does not know (a crash mid-delete) are removed.
        for entry in
            std::fs::read_dir(&topics_dir).ctx(|| format!("listing {}", topics_dir.display()))?
        {
            let entry = entry.ctx(|| "listing topics".to_string())?;
            let dir_name = entry.file_name().to_string_lossy().to_string();
            let known = dir_name
                .rsplit_once('-')
                .and_then(|(t, i)| Some((t, i.parse::<i32>().ok()?)))
                .is_some_and(|(t, i)| {
                    topics
                        .get(t)
                        .is_some_and(|topic: &Arc<Topic>| i < topic.partitions.len() as i32)
                });
            if !known {
                repairs.push(format!(
                    "removed leftover directory {}",
                    entry.path().display()
                ));
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok((
            LogManager {
                root: root.to_path_buf(),
                defaults,
                topics: RwLock::new(topics),
                meta,
                flusher,
                tail_budget,
                produce_requests: std::sync::atomic::AtomicU64::new(0),
                admin: tokio::sync::Mutex::new(()),
                name_defaults: RwLock::new(None),
                owners,
            },
            repairs,
        ))
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Broker-wide topic defaults.
    pub fn defaults(&self) -> &TopicConfig {
        &self.defaults
    }

    /// Installs per-name topic settings for topics created from now on.
    pub fn set_name_defaults(&self, f: NameDefaults) {
        *self.name_defaults.write() = Some(f);
    }

    /// Looks a topic up.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    /// Looks a partition up.
    pub fn partition(&self, name: &str, index: i32) -> Option<Arc<Partition>> {
        let topic = self.topic(name)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| topic.partitions.get(i).cloned())
    }

    /// Every topic, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().values().cloned().collect()
    }

    /// Creates a topic (durably recorded before its files exist). With `validate_only`
    /// nothing is written. The creator is recorded as unknown; see
    /// [`LogManager::create_topic_as`].
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        self.create_topic_as(name, partitions, overrides, validate_only, None)
            .await
    }

    /// `overrides` with the host's per-name settings applied over them.
    fn with_name_defaults(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let hook = self.name_defaults.read().clone();
        let mut merged = overrides;
        merged.extend(hook.map(|f| f(name)).unwrap_or_default());
        merged
    }

    /// Who created `name` (`user:NAME`, `anonymous`, `operator`, `server`), if recorded.
    pub fn creator(&self, name: &str) -> Option<String> {
        self.owners.get(name)
    }

    /// Creates a topic like [`LogManager::create_topic`], durably recording `creator`
    /// (before the topic exists) so deletion rights can follow it.
    pub async fn create_topic_as(
        &self,
        name: &str,
        partitions: i32,
        overrides: BTreeMap<String, String>,
        validate_only: bool,
        creator: Option<&str>,
    ) -> Result<Arc<Topic>, TopicError> {
        validate_topic_name(name)?;
        let overrides = self.with_name_defaults(name, overrides);
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err(terr(
                ErrorCode::INVALID_PARTITIONS,
                format!("partitions must be 1 to {MAX_PARTITIONS}, not {partitions}"),
            ));
        }
        let config = TopicConfig::with_overrides(&self.defaults, &overrides)
            .map_err(|e| terr(ErrorCode::INVALID_CONFIG, e.to_string()))?;
        let _guard = self.admin.lock().await;
        if let Some(t) = self.topic(name) {
            return Err(TopicError {
                code: ErrorCode::TOPIC_ALREADY_EXISTS,
                message: format!("topic '{}' already exists", t.name),
            });
        }
        let id = new_topic_id(name);
        let meta = TopicMeta {
            id,
            partitions,
            overrides: overrides.clone(),
        };
        let topic = Arc::new(Topic {
            name: name.to_string(),
            id,
            partitions: Vec::new(),
            overrides,
            config: RwLock::new(config),
        });
        if validate_only {
            return Ok(topic);
        }
        self.owners
            .set(name, creator)
            .await
            .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
        self.meta
            .put(&name.to_string(), Some(&meta))
            .await
            .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
        let mut parts = Vec::new();
        for i in 0..partitions {
            let dir = self.root.join("topics").join(format!("{name}-{i}"));
            let (p, _) = Partition::open(&dir, name, i, Arc::clone(&self.tail_budget))
                .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
            parts.push(Arc::new(p));
        }
        let topic = Arc::new(Topic {
            name: topic.name.clone(),
            id,
            partitions: parts,
            overrides: topic.overrides.clone(),
            config: RwLock::new(topic.config()),
        });
        self.topics
            .write()
            .insert(name.to_string(), Arc::clone(&topic));
        tracing::info!(topic = name, partitions, "created topic");
        Ok(topic)
    }

    /// Deletes a topic and its files.
    pub async fn delete_topic(&self, name: &str) -> Result<(), TopicError> {
        let _guard = self.admin.lock().await;
        if self.topic(name).is_none() {
            return Err(terr(
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                format!("no topic '{name}'"),
            ));
        }
        self.meta
            .put::<String, TopicMeta>(&name.to_string(), None)
            .await
            .map_err(|e| terr(ErrorCode::KAFKA_STORAGE_ERROR, e.to_string()))?;
        let removed = self.topics.write().remove(name);
        if let Some(t) = removed {
            for p in &t.partitions {
                if let Err(e) = p.remove_files() {
                    tracing::warn!(error = %e, "could not remove partition files");
                }
            }
        }
        if let Err(e) = self.owners.set(name, None).await {
            // A stale owner is harmless: the next creation of the name overwrites it.
            tracing::warn!(topic = name, error = %e, "could not forget the topic's creator");
        }
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// One retention and compaction pass over every topic and the internal logs.
    pub fn maintain(&self, now: i64) {
        for topic in self.topics() {
            let cfg = topic.config();
            for p in &topic.partitions {
                match p.apply_retention(&cfg, now) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(topic = %topic.name, partition = p.index, segments = n, "retention deleted old segments")
                    }
                    Err(e) => tracing::warn!(topic = %topic.name, error = %e, "retention failed"),
                }
                if cfg.cleanup_compact && p.compaction_due() {
                    if let Err(e) = p.compact(&cfg, now) {
                        tracing::warn!(topic = %topic.name, error = %e, "compaction failed");
                    }
                }
            }
        }
        if let Err(e) = self.meta.partition.compact(self.meta.config(), now) {
            tracing::warn!(error = %e, "compaction of __cluster failed");
        }
    }

    /// Fsyncs every partition's unsynced tail and advances its high watermark (the final
    /// sync at shutdown); failures are logged, not returned, so every partition is tried.
    pub fn sync_all(&self) {
        for topic in self.topics() {
            for p in &topic.partitions {
                if let Some((file, end)) = p.flush_target() {
                    match file.sync_data() {
                        Ok(()) => p.synced(end),
                        Err(e) => {
                            tracing::error!(topic = %topic.name, partition = p.index, error = %e, "final fsync failed")
                        }
                    }
                }
            }
        }
    }

    /// Runs [`LogManager::maintain`] every `interval` until the task is dropped.
    pub async fn maintenance_loop(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            let me = Arc::clone(&self);
            let _ = tokio::task::spawn_blocking(move || me.maintain(now_ms())).await;
        }
    }
}

fn new_topic_id(name: &str) -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write(name.as_bytes());
    h.write_i64(now_ms());
    let a = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(a);
    let b = h2.finish();
    // Version-4-style bits so the id looks like a random UUID.
    let raw = (u128::from(a) << 64) | u128::from(b);
    (raw & !(0xf000u128 << 64) | (0x4000u128 << 64)) & !(0xc000u128 << 48) | (0x8000u128 << 48)
}
