//! Bringing the views up to date at start: after [`crate::BbsPolicy::load`] folded the
//! boards, the view topics are read once (keeping a hash of the last record per key),
//! compared with what the boards say, and whatever is missing or different is appended
//! (same key, same value: running it twice writes nothing the second time). This repairs
//! views that lag their boards after a crash, views deleted by the operator, and data
//! written before the server kept views.
//!
//! `bbs.ids` must stay in id order (a reader finds post `n` at offset `n - 1`, or bisects).
//! Its missing records are normally the newest ids (its tail lags the boards after a
//! crash, or the topic was deleted), appended oldest first. When it holds a place the
//! boards no longer say (an id lost with an unsynced board tail and since given to another
//! post, a board topic the operator deleted) or lacks an id below the newest it holds,
//! appending cannot restore the order: the topic is deleted and written again from the
//! boards, and the log says so.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use broker::Broker;

use bbs::codec::view::{BoardStats, H_SINCE};
use bbs::codec::WireRecord;
use bbs::error::{Error, Result};
use bbs::model::PostId;
use bbs::names;
use bbs::state::views::{id_row, index_row, page_count, page_row};
use bbs::state::State;

use super::views::{append, Out, Views};
use super::BbsPolicy;

/// What a record says, as a hash (the rebuild compares many records; their text is not
/// kept). A tombstone hashes as "no headers, no value".
/// The headers are taken in name order: a view record means the same whatever order its
/// headers come back in (Tansu, for one, returns them sorted by name), and a record that
/// only looks different must not make the repair rewrite a view.
fn digest(value_present: bool, headers: &[(String, Option<&[u8]>)]) -> u64 {
    let mut sorted: Vec<&(String, Option<&[u8]>)> = headers.iter().collect();
    sorted.sort();
    let mut h = DefaultHasher::new();
    value_present.hash(&mut h);
    sorted.hash(&mut h);
    h.finish()
}

fn wire_digest(w: &WireRecord) -> u64 {
    let headers: Vec<_> = w
        .headers
        .iter()
        .filter(|(k, _)| k != H_SINCE)
        .map(|(k, v)| (k.clone(), v.as_deref()))
        .collect();
    digest(w.value.is_some(), &headers)
}

/// The views as they are in the log: topic → key → digest of its last record, the
/// number of records of each pages topic (page `k` is at offset `k`), and the largest id
/// `bbs.ids` holds.
#[derive(Default)]
pub(crate) struct Current {
    pub(crate) keyed: HashMap<String, HashMap<String, u64>>,
    pages: HashMap<String, u64>,
    pub(crate) ids_max: u64,
    /// The snapshot offset `bbs.stats`'s last record carries, and the topic's end.
    pub(crate) stats_since: Option<i64>,
    pub(crate) stats_end: i64,
}

impl Current {
    /// Takes one view record into account, in log order.
    pub(crate) fn add(
        &mut self,
        topic: &str,
        offset: i64,
        key: Option<&[u8]>,
        value_present: bool,
        headers: &[(String, Option<&[u8]>)],
    ) {
        if topic.starts_with(names::PAGES_PREFIX) {
            let n = self.pages.entry(topic.to_string()).or_default();
            *n = (*n).max(u64::try_from(offset + 1).unwrap_or(0));
            return;
        }
        if topic == names::STATS_TOPIC {
            let stamp = headers.iter().find(|(k, _)| k.as_str() == H_SINCE);
            self.stats_since =
                stamp.and_then(|(_, v)| std::str::from_utf8((*v)?).ok()?.parse().ok());
            self.stats_end = offset + 1;
        }
        let Some(key) = key.map(String::from_utf8_lossy) else {
            return;
        };
        if topic == names::IDS_TOPIC {
            if let Ok(id) = key.parse::<u64>() {
                self.ids_max = self.ids_max.max(id);
            }
        }
        let kept: Vec<_> = headers
            .iter()
            .filter(|(k, _)| k.as_str() != H_SINCE)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        let d = digest(value_present, &kept);
        self.keyed
            .entry(topic.to_string())
            .or_default()
            .insert(key.into_owned(), d);
    }
}

fn current(broker: &Broker) -> Result<Current> {
    let mut cur = Current::default();
    broker
        .replay(names::is_view_topic, |topic, rec| {
            let headers: Vec<_> = rec
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_deref()))
                .collect();
            cur.add(
                topic,
                rec.offset,
                rec.key.as_deref(),
                rec.value.is_some(),
                &headers,
            );
        })
        .map_err(|e| Error::Backend(e.to_string()))?;
    Ok(cur)
}

impl BbsPolicy {
    /// Appends every view record that is missing or differs from what the boards say, and
    /// writes `bbs.ids` again from the start when appending cannot keep it in id order
    /// (see the module doc). Called by [`BbsPolicy::create_topics`], before the broker
    /// serves clients. Returns how many records were written.
    pub async fn rebuild_views(&self, broker: &Broker) -> Result<usize> {
        let mut cur = current(broker)?;
        let stale = ids_stale(&cur, &self.lock());
        if stale {
            tracing::warn!(
                topic = names::IDS_TOPIC,
                "the view holds places the boards no longer say or misses older ids; writing it again from the boards"
            );
            let logs = broker.logs();
            logs.delete_topic(names::IDS_TOPIC).await.map_err(|e| {
                Error::Backend(format!("deleting {}: {}", names::IDS_TOPIC, e.message))
            })?;
            logs.create_topic_as(
                names::IDS_TOPIC,
                1,
                Default::default(),
                false,
                Some("server"),
            )
            .await
            .map_err(|e| Error::Backend(format!("creating {}: {}", names::IDS_TOPIC, e.message)))?;
            cur.keyed.remove(names::IDS_TOPIC);
            cur.ids_max = 0;
        }
        let (written, stats_written) = self.append_missing(broker, &cur)?;
        // The statistics' last record must say where a reader starts: a repair appended
        // records without that stamp, and data from before it has none.
        let since = if stats_written { None } else { cur.stats_since };
        Ok(written + self.views.lock().adopt(since, cur.stats_end))
    }

    /// Appends what `cur` lacks of the views the boards say: the records written, and
    /// whether any was a statistics record.
    fn append_missing(&self, broker: &Broker, cur: &Current) -> Result<(usize, bool)> {
        let out = missing(&self.lock(), &self.views.lock(), cur);
        let mut written = 0;
        let stats_written = out.contains_key(names::STATS_TOPIC);
        for (topic, records) in out {
            append(broker.logs(), &topic, &records)
                .map_err(|e| Error::Backend(format!("rebuilding {topic}: {e}")))?;
            written += records.len();
        }
        Ok((written, stats_written))
    }
}

/// What `cur` lacks of the views `state` says (with `views`' statistics), by topic, in the
/// order to append.
pub(crate) fn missing(state: &State, views: &Views, cur: &Current) -> Out {
    let mut out = Out::new();
    let same = |topic: &str, key: &str, w: &WireRecord| {
        cur.keyed
            .get(topic)
            .and_then(|m| m.get(key))
            .is_some_and(|d| *d == wire_digest(w))
    };
    let mut want = |topic: &str, key: &str, w: WireRecord| {
        if !same(topic, key, &w) {
            out.entry(topic.to_string()).or_default().push(w);
        }
    };
    for (board, st) in views.stats() {
        want(names::STATS_TOPIC, board, st.to_wire(board));
    }
    let gone: Vec<String> = cur
        .keyed
        .get(names::STATS_TOPIC)
        .into_iter()
        .flatten()
        .filter(|(k, _)| !views.stats().contains_key(*k))
        .map(|(k, _)| k.clone())
        .collect();
    for board in gone {
        want(names::STATS_TOPIC, &board, BoardStats::tombstone(&board));
    }
    for b in state.boards() {
        let (Ok(index), Ok(pages)) = (names::index_topic(&b.name), names::pages_topic(&b.name))
        else {
            continue;
        };
        for id in state.board_post_ids(&b.name) {
            if let Some(row) = index_row(state, *id) {
                want(&index, &id.to_string(), row.to_wire());
            }
        }
        let have = cur.pages.get(&pages).copied().unwrap_or(0);
        let total = page_count(state.board_post_ids(&b.name).len() as u64);
        for k in have..total {
            if let Some(p) = page_row(state, &b.name, k) {
                // Pages are counted, not hashed: every missing one is written.
                want(&pages, "", p.to_wire());
            }
        }
    }
    // Every post's place on `bbs.ids`, in id order (posts of deleted boards too: their
    // records stay readable). `cur` holds no id above the missing ones (see `ids_stale`).
    for p in state.all_posts() {
        if let Some(row) = id_row(state, p.id) {
            want(names::IDS_TOPIC, &p.id.to_string(), row.to_wire());
        }
    }
    out
}

/// Whether `bbs.ids` as in `cur` cannot be brought up to date by appending in id order: it
/// holds a record that is not what the boards say of its id, or it lacks an id below the
/// newest one it holds.
pub(crate) fn ids_stale(cur: &Current, state: &State) -> bool {
    let Some(have) = cur.keyed.get(names::IDS_TOPIC) else {
        return false;
    };
    let wrong = have.iter().any(|(key, d)| {
        key.parse::<PostId>()
            .ok()
            .and_then(|id| id_row(state, id))
            .is_none_or(|row| wire_digest(&row.to_wire()) != *d)
    });
    wrong
        || state
            .all_posts()
            .take_while(|p| p.id < cur.ids_max)
            .any(|p| !have.contains_key(&p.id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_record_is_the_same_whatever_order_its_headers_come_back_in() {
        let a: [(String, Option<&[u8]>); 2] = [
            ("bbs.kind".into(), Some(b"id")),
            ("bbs.board".into(), Some(b"NP")),
        ];
        let b = [a[1].clone(), a[0].clone()];
        assert_eq!(digest(true, &a), digest(true, &b));
        assert_ne!(digest(true, &a), digest(false, &a));
        let c = [a[0].clone(), ("bbs.board".into(), Some(&b"OS"[..]))];
        assert_ne!(digest(true, &a), digest(true, &c));
    }
}
