//! The broker's internal state logs (`__cluster`, `__consumer_offsets`, `__credentials`):
//! ordinary partition logs, closed to clients, whose records are postcard-encoded key/value
//! pairs. Writes are durable before they return; `load` replays the latest value per key.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::flusher::Flusher;
use super::partition::Partition;
use super::topic_config::TopicConfig;
use crate::error::{Error, Result};
use crate::now_ms;
use crate::record;

/// One change as the raw entry a state log stores: key and value postcard-encoded (`None`
/// deletes the key). The one encoder of state records; [`StateLog::load`] decodes them.
pub fn encode_entry<K: Serialize, V: Serialize>(
    key: &K,
    value: Option<&V>,
) -> Result<(Option<Bytes>, Option<Bytes>)> {
    let k = Bytes::from(postcard::to_allocvec(key)?);
    let v = match value {
        Some(v) => Some(Bytes::from(postcard::to_allocvec(v)?)),
        None => None,
    };
    Ok((Some(k), v))
}

/// A compacted internal key/value log.
pub struct StateLog {
    /// The log holding the records.
    pub partition: Arc<Partition>,
    flusher: Flusher,
    config: TopicConfig,
}

impl StateLog {
    /// Opens (recovering) the state log named `name` under `dir`.
    pub fn open(dir: &Path, name: &str, flusher: Flusher) -> Result<Self> {
        // Internal logs are read once at open: no tail cache.
        let no_cache = Arc::new(crate::log::tail::TailBudget::new(0, 0));
        let (partition, repairs) = Partition::open(&dir.join(name), name, 0, no_cache)?;
        for r in repairs {
            tracing::warn!(log = name, "{r}");
        }
        let config = TopicConfig {
            cleanup_compact: true,
            cleanup_delete: false,
            retention_ms: -1,
            segment_bytes: 16 * 1024 * 1024,
            delete_retention_ms: 0,
            ..TopicConfig::default()
        };
        Ok(StateLog {
            partition: Arc::new(partition),
            flusher,
            config,
        })
    }

    /// The settings compaction uses for this log.
    pub fn config(&self) -> &TopicConfig {
        &self.config
    }

    /// Writes key → value (or deletes the key with `None`) and waits until it is durable.
    pub async fn put<K: Serialize, V: Serialize>(&self, key: &K, value: Option<&V>) -> Result<()> {
        self.put_raw(vec![encode_entry(key, value)?]).await
    }

    /// Writes several raw entries in one batch and waits until they are durable.
    pub async fn put_raw(&self, entries: Vec<(Option<Bytes>, Option<Bytes>)>) -> Result<()> {
        let batch = record::encode_simple(&entries, now_ms())?;
        let failures = self.partition.failures();
        let appended = self
            .partition
            .append(&batch, &self.config)
            .map_err(|r| Error::io("writing state record", std::io::Error::other(r.message)))?;
        if self.flusher.relaxed() {
            // Broker state is always durable before it is acted on, whatever the flush
            // policy for topic data: sync this log now instead of waiting for the interval.
            let partition = Arc::clone(&self.partition);
            let synced = tokio::task::spawn_blocking(move || match partition.flush_target() {
                Some((file, end)) => file.sync_data().map(|()| partition.synced(end)),
                None => Ok(()),
            })
            .await;
            match synced {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => return Err(Error::io("syncing state record", e)),
                Err(e) => {
                    return Err(Error::io(
                        "syncing state record",
                        std::io::Error::other(e.to_string()),
                    ))
                }
            }
        }
        self.flusher.mark_dirty(&self.partition);
        self.partition
            .wait_durable(appended.end_offset, failures)
            .await
            .map_err(|r| Error::io("syncing state record", std::io::Error::other(r.message)))
    }

    /// Replays the log: the latest value of every live key, keys in byte order.
    pub fn load_raw(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let mut offset = self.partition.log_start();
        let hw = self.partition.high_watermark();
        while offset < hw {
            let bytes = self
                .partition
                .read(offset, 1 << 20)
                .map_err(|r| Error::io("reading state log", std::io::Error::other(r.message)))?;
            if bytes.is_empty() {
                break;
            }
            for rec in record::decode_records(bytes)? {
                offset = rec.offset + 1;
                let Some(key) = rec.key else { continue };
                match rec.value {
                    Some(v) => out.insert(key.to_vec(), v.to_vec()),
                    None => out.remove(&key[..]),
                };
            }
        }
        Ok(out)
    }

    /// Replays the log, decoding keys and values; undecodable entries are skipped with a
    /// warning (they cannot come from this broker unless the file was damaged).
    pub fn load<K: DeserializeOwned, V: DeserializeOwned>(&self) -> Result<Vec<(K, V)>> {
        let mut out = Vec::new();
        for (k, v) in self.load_raw()? {
            match (postcard::from_bytes::<K>(&k), postcard::from_bytes::<V>(&v)) {
                (Ok(k), Ok(v)) => out.push((k, v)),
                _ => {
                    tracing::warn!(log = %self.partition.topic, "skipping an undecodable state record")
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::FlushPolicy;

    #[tokio::test]
    async fn state_writes_are_durable_at_once_even_with_interval_flushing() {
        let dir = tempfile::tempdir().expect("tempdir");
        // An hour-long interval: a put that waited for the flusher would never finish.
        let flusher = Flusher::start(FlushPolicy::Interval(3_600_000)).expect("flusher");
        let log = StateLog::open(dir.path(), "__test", flusher.clone()).expect("open");
        let key = "k".to_string();
        let put = log.put(&key, Some(&7u32));
        tokio::time::timeout(std::time::Duration::from_secs(10), put)
            .await
            .expect("put must not wait for the flush interval")
            .expect("put");
        drop(log);
        let again = StateLog::open(dir.path(), "__test", flusher).expect("reopen");
        let loaded: Vec<(String, u32)> = again.load().expect("load");
        assert_eq!(loaded, vec![("k".to_string(), 7)]);
    }
}
