//! Bringing the views up to date when a front server becomes the sequencer: the
//! previous one may have died after writing a board's records and before writing the
//! views they change. The view topics are read from the cluster and compared with what
//! the folded boards say, with the single server's comparison (`crate::rebuild`):
//! whatever is missing or different is appended, and `bbs.ids` is written again from the
//! start when appending cannot keep it in id order. Running it twice writes nothing the
//! second time.

use client::TopicPartition;

use bbs::error::{Error, Result};
use bbs::names;

use super::upstream::{self, UpSink};
use super::Shared;
use crate::rebuild::{ids_stale, missing, Current};
use crate::views::Sink;

/// Reads the view topics into a [`Current`].
fn current(shared: &Shared, topics: &[String]) -> Result<Current> {
    let mut cur = Current::default();
    let admin = shared.client.admin();
    for topic in topics {
        let tp = TopicPartition::new(topic, 0);
        let records = admin
            .read_to_end(&tp, 0)
            .map_err(|e| Error::Backend(format!("reading {topic}: {e}")))?;
        for r in records {
            let headers: Vec<(String, Option<&[u8]>)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.as_deref()))
                .collect();
            cur.add(
                topic,
                r.offset,
                r.key.as_deref(),
                r.value.is_some(),
                &headers,
            );
        }
    }
    Ok(cur)
}

/// Appends what the views lack; returns how many records were written.
pub(super) fn repair(shared: &Shared, sink: &UpSink) -> Result<usize> {
    let mut topics = vec![names::STATS_TOPIC.to_string(), names::IDS_TOPIC.to_string()];
    for b in shared.state.lock().boards() {
        if let (Ok(index), Ok(pages)) = (names::index_topic(&b.name), names::pages_topic(&b.name)) {
            topics.push(index);
            topics.push(pages);
        }
    }
    upstream::ensure_topics(&shared.client, &topics)?;
    let mut cur = current(shared, &topics)?;
    let state = shared.state.lock();
    if ids_stale(&cur, &state) {
        tracing::warn!(
            topic = names::IDS_TOPIC,
            "the view holds places the boards no longer say or misses older ids; writing it again from the boards"
        );
        shared
            .client
            .admin()
            .delete_topics(&[names::IDS_TOPIC])
            .map_err(|e| Error::Backend(format!("deleting {}: {e}", names::IDS_TOPIC)))?;
        upstream::ensure_topics(&shared.client, &[names::IDS_TOPIC.to_string()])?;
        cur.keyed.remove(names::IDS_TOPIC);
        cur.ids_max = 0;
    }
    let mut views = shared.views.lock();
    let out = missing(&state, &views, &cur);
    let stats_written = out.contains_key(names::STATS_TOPIC);
    let mut written = 0;
    for (topic, records) in out {
        sink.append(&topic, &records)
            .map_err(|e| Error::Backend(format!("repairing {topic}: {e}")))?;
        written += records.len();
    }
    let since = if stats_written { None } else { cur.stats_since };
    Ok(written + views.adopt(since, cur.stats_end))
}
