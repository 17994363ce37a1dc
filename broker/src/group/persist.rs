//! Writing and reading `__consumer_offsets`: one task appends every change to the state log
//! in the order the coordinator made it, batching whatever queued up meanwhile into one
//! durable write (so many commits share one fsync). On start the log is replayed into
//! groups.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::offsets::{StoreKey, StoreValue};
use super::state::Group;
use crate::error::Result;
use crate::log::{Flusher, StateLog};

/// Name of the state log.
pub const LOG_NAME: &str = "__consumer_offsets";

/// Most bytes written in one batch (well under the state log's largest batch, so one
/// oversized change cannot make others fail with it).
const MAX_BATCH_BYTES: usize = 256 * 1024;

fn size(entries: &[(Option<Bytes>, Option<Bytes>)]) -> usize {
    entries
        .iter()
        .map(|(k, v)| k.as_ref().map_or(0, Bytes::len) + v.as_ref().map_or(0, Bytes::len) + 16)
        .sum()
}

struct Write {
    entries: Vec<(Option<Bytes>, Option<Bytes>)>,
    done: Option<oneshot::Sender<bool>>,
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    tx: mpsc::UnboundedSender<Write>,
    /// The log itself, for compaction.
    pub log: Arc<StateLog>,
}

/// Encodes one change.
pub fn entry(key: &StoreKey, value: Option<&StoreValue>) -> Result<(Option<Bytes>, Option<Bytes>)> {
    crate::log::state::encode_entry(key, value)
}

impl Store {
    /// Opens the log under `dir`, replays it into groups, and starts the writer task.
    pub fn open(dir: &Path, flusher: Flusher) -> Result<(Store, HashMap<String, Group>)> {
        let log = Arc::new(StateLog::open(dir, LOG_NAME, flusher)?);
        let now = Instant::now();
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut offsets = 0usize;
        for (key, value) in log.load::<StoreKey, StoreValue>()? {
            match (key, value) {
                (StoreKey::Group { group }, StoreValue::Group(snap)) => {
                    let restored = Group::restore(&group, snap, now);
                    let g = groups.entry(group).or_insert_with_key(|id| Group::new(id));
                    let offsets = std::mem::take(&mut g.offsets);
                    *g = restored;
                    g.offsets = offsets;
                }
                (
                    StoreKey::Offset {
                        group,
                        topic,
                        partition,
                    },
                    StoreValue::Offset(e),
                ) => {
                    offsets += 1;
                    groups
                        .entry(group)
                        .or_insert_with_key(|id| Group::new(id))
                        .offsets
                        .insert((topic, partition), e);
                }
                _ => tracing::warn!("skipping a mismatched __consumer_offsets record"),
            }
        }
        tracing::info!(groups = groups.len(), offsets, "loaded consumer groups");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(Arc::clone(&log), rx));
        Ok((Store { tx, log }, groups))
    }

    /// Queues changes; the receiver says whether they became durable.
    pub fn write(&self, entries: Vec<(Option<Bytes>, Option<Bytes>)>) -> oneshot::Receiver<bool> {
        let (done, rx) = oneshot::channel();
        let _ = self.tx.send(Write {
            entries,
            done: Some(done),
        });
        rx
    }

    /// Queues changes nobody waits for (group metadata).
    pub fn write_detached(&self, entries: Vec<(Option<Bytes>, Option<Bytes>)>) {
        let _ = self.tx.send(Write {
            entries,
            done: None,
        });
    }
}

async fn writer(log: Arc<StateLog>, mut rx: mpsc::UnboundedReceiver<Write>) {
    let mut next: Option<Write> = None;
    loop {
        let first = match next.take() {
            Some(w) => w,
            None => match rx.recv().await {
                Some(w) => w,
                None => return,
            },
        };
        let mut entries = first.entries;
        let mut bytes = size(&entries);
        let mut dones: Vec<oneshot::Sender<bool>> = first.done.into_iter().collect();
        while bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(w) if bytes + size(&w.entries) > MAX_BATCH_BYTES => {
                    next = Some(w);
                    break;
                }
                Ok(w) => {
                    bytes += size(&w.entries);
                    entries.extend(w.entries);
                    dones.extend(w.done);
                }
                Err(_) => break,
            }
        }
        let ok = if entries.is_empty() {
            true
        } else {
            match log.put_raw(entries).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, "writing __consumer_offsets failed");
                    false
                }
            }
        };
        for d in dones {
            let _ = d.send(ok);
        }
    }
}
