//! Who created each topic, kept in the internal `__topic_owners` log (topic name →
//! principal as text: `user:NAME`, `anonymous`, `operator`, `server`) and cached in memory.
//! Deletion and administration rights of ordinary topics follow the creator.

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::RwLock;

use super::flusher::Flusher;
use super::state::StateLog;
use crate::error::Result;

/// The creators of topics.
pub struct Owners {
    /// The durable record.
    log: StateLog,
    /// Topic name → creator, as loaded and kept up to date.
    cache: RwLock<BTreeMap<String, String>>,
}

impl Owners {
    /// Opens (recovering) `dir/__topic_owners`.
    pub fn open(dir: &Path, flusher: Flusher) -> Result<Self> {
        let log = StateLog::open(dir, "__topic_owners", flusher)?;
        let cache = log.load::<String, String>()?.into_iter().collect();
        Ok(Owners {
            log,
            cache: RwLock::new(cache),
        })
    }

    /// The creator of `topic`, if recorded.
    pub fn get(&self, topic: &str) -> Option<String> {
        self.cache.read().get(topic).cloned()
    }

    /// Records (or, with `None`, forgets) the creator of `topic`; durable before it
    /// returns.
    pub async fn set(&self, topic: &str, creator: Option<&str>) -> Result<()> {
        let known = self.get(topic);
        if known.as_deref() == creator {
            return Ok(());
        }
        let value = creator.map(str::to_string);
        self.log.put(&topic.to_string(), value.as_ref()).await?;
        let mut cache = self.cache.write();
        match value {
            Some(v) => cache.insert(topic.to_string(), v),
            None => cache.remove(topic),
        };
        Ok(())
    }
}
