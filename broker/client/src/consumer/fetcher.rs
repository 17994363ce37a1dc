//! Fetching: builds one Fetch request per leader for the partitions that are ready, sends it
//! without waiting (on the connection that leader's last fetch used, while it lives), and
//! reads the response (both with `wire::fetch`, the Fetch's own codec) in a callback run by whoever reads the consumer's connection: its
//! poll thread, which pumps its own poller while it waits (see `net`). Finished fetches
//! arrive on a channel the consumer drains in `poll`. This runs once per answer of every
//! consumer, so the path copies little: no address strings, no second list of what was
//! asked.

use std::sync::mpsc;
use std::sync::Arc;
use wire::ErrorCode;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use wire::fetch::{self, FetchParams, FetchPart};

use super::{ClusterView, Consumer, PartState, TopicPartition};
use crate::conn::Connection;
use crate::error::{Error, Result};
use crate::records::{decode_batches, ConsumerRecord};

/// Fetch sizes and waits.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Longest time the broker may hold a fetch waiting for data.
    pub max_wait_ms: i32,
    /// Bytes the broker should gather before answering early.
    pub min_bytes: i32,
    /// Largest response.
    pub max_bytes: i32,
    /// Largest share of one partition in a response.
    pub partition_max_bytes: i32,
}

/// One partition's part of a finished fetch.
#[derive(Debug)]
pub struct PartitionFetch {
    /// Which partition.
    pub tp: TopicPartition,
    /// The offset that was requested (to drop answers made stale by a seek).
    pub requested: i64,
    /// Kafka error code for the partition.
    pub error: ErrorCode,
    /// High watermark.
    pub high_watermark: i64,
    /// Records at or after `requested`.
    pub records: Vec<ConsumerRecord>,
    /// Where to fetch next.
    pub next_offset: i64,
    /// A decode failure (corrupt batch), if any.
    pub decode_error: Option<String>,
    /// Why an answer without an error code cannot be used (the partition is missing from
    /// the response, or its bytes hold no whole batch), so the consumer can say so instead
    /// of fetching the same offset for ever.
    pub unusable: Option<String>,
}

/// A finished (or failed) fetch from one broker.
#[derive(Debug)]
pub struct FetchDone {
    /// The leader it went to.
    pub leader: i32,
    /// The partitions and offsets it asked for.
    pub asked: Vec<(TopicPartition, i64)>,
    /// Partition results, or why the whole request failed.
    pub result: Result<Vec<PartitionFetch>>,
}

impl FetchDone {
    /// Not a fetch: wakes a waiting `poll` (new topics in the metadata). Its leader is no
    /// leader's, so `poll` drops it after waking.
    pub fn wake() -> FetchDone {
        FetchDone {
            leader: i32::MIN,
            asked: Vec::new(),
            result: Ok(Vec::new()),
        }
    }
}

/// Partitions with more buffered records than this are not fetched again yet.
const PREFETCH_LIMIT: usize = 20_000;

impl Consumer {
    /// Sends a fetch to every leader that has ready partitions and no fetch in flight.
    pub(super) fn send_fetches(&mut self) {
        let ready = |p: &PartState| {
            p.position.is_some() && !p.paused && !p.inflight && p.buffer.len() <= PREFETCH_LIMIT
        };
        // The usual call, a poll that waits while its fetch is in flight, ends here.
        if !self.parts.values().any(ready) {
            return;
        }
        let view = self.cluster.view();
        let same_view = self
            .leaders_from
            .as_ref()
            .is_some_and(|v| Arc::ptr_eq(v, &view));
        if !same_view {
            for p in self.parts.values_mut() {
                p.leader = None;
            }
            self.leaders_from = Some(Arc::clone(&view));
        }
        // By leader, in the order first met (a consumer has one or a few leaders).
        let mut by_leader: Vec<(i32, Vec<(TopicPartition, i64)>)> = Vec::new();
        for (tp, p) in self.parts.iter_mut() {
            if !ready(p) {
                continue;
            }
            let leader = *p
                .leader
                .get_or_insert_with(|| view.leader(&tp.topic, tp.partition));
            match leader {
                Some(l) if !self.inflight_leaders.contains(&l) => {
                    let ask = (tp.clone(), p.fetch_offset);
                    match by_leader.iter_mut().find(|(id, _)| *id == l) {
                        Some((_, parts)) => parts.push(ask),
                        None => by_leader.push((l, vec![ask])),
                    }
                }
                Some(_) => {}
                None => self.cluster.invalidate(),
            }
        }
        for (leader, parts) in by_leader {
            let conn = match self.fetch_conn(&view, same_view, leader) {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(leader, error = %e, "no connection for fetch");
                    continue;
                }
            };
            for (tp, _) in &parts {
                if let Some(p) = self.parts.get_mut(tp) {
                    p.inflight = true;
                }
            }
            self.inflight_leaders.push(leader);
            send_fetch(&conn, leader, parts, &self.config.fetch, self.tx.clone());
        }
    }

    /// The connection for fetches from `leader`: the last one while it is alive and the
    /// metadata still has the leader at its address (looked at again only when the
    /// metadata snapshot is not the one of the last fetch), else the pool's.
    fn fetch_conn(
        &mut self,
        view: &ClusterView,
        same_view: bool,
        leader: i32,
    ) -> Result<Arc<Connection>> {
        if let Some((_, c)) = self.fetch_conns.iter().find(|(id, _)| *id == leader) {
            let here = || view.brokers.get(&leader).is_some_and(|a| a == c.addr());
            if c.is_alive() && (same_view || here()) {
                return Ok(Arc::clone(c));
            }
        }
        let conn = self.cluster.conn_in(&self.pool, leader)?;
        self.fetch_conns.retain(|(id, _)| *id != leader);
        self.fetch_conns.push((leader, Arc::clone(&conn)));
        Ok(conn)
    }
}

/// Sends a Fetch for `parts` to `conn`; the outcome goes to `tx`. Partitions of one topic
/// should follow each other (they then share one topic entry in the request).
pub fn send_fetch(
    conn: &Arc<Connection>,
    leader: i32,
    parts: Vec<(TopicPartition, i64)>,
    config: &FetchConfig,
    tx: mpsc::Sender<FetchDone>,
) {
    let version = match conn.version(ApiKey::Fetch) {
        Ok(v) => v,
        Err(e) => {
            let _ = tx.send(FetchDone {
                leader,
                asked: parts,
                result: Err(e),
            });
            return;
        }
    };
    let params = FetchParams {
        max_wait_ms: config.max_wait_ms,
        min_bytes: config.min_bytes,
        max_bytes: config.max_bytes,
        isolation_level: 0,
    };
    let partition_max_bytes = config.partition_max_bytes;
    let encode = |parts: &Vec<(TopicPartition, i64)>, buf: &mut BytesMut, id, client_id: &str| {
        let wanted: Vec<FetchPart<'_>> = parts
            .iter()
            .map(|(tp, offset)| FetchPart {
                topic: &tp.topic,
                partition: tp.partition,
                offset: *offset,
                max_bytes: partition_max_bytes,
            })
            .collect();
        fetch::put_request(buf, version, id, client_id, &params, &wanted)
    };
    let addr = conn.addr_shared();
    let reply = move |asked: Vec<(TopicPartition, i64)>, res: Result<Bytes>| {
        let result = res.and_then(|body| parse(&addr, version, &body, &asked));
        let _ = tx.send(FetchDone {
            leader,
            asked,
            result,
        });
    };
    conn.send_encoded(ApiKey::Fetch, version, parts, encode, reply);
}

/// Decodes a Fetch response into per-partition results, one per partition asked for.
fn parse(
    addr: &str,
    version: i16,
    body: &Bytes,
    asked: &[(TopicPartition, i64)],
) -> Result<Vec<PartitionFetch>> {
    let mut out: Vec<PartitionFetch> = Vec::with_capacity(asked.len());
    let top = fetch::read_response(body, version, |p| {
        let Some((tp, requested)) = asked
            .iter()
            .find(|(a, _)| a.partition == p.partition && a.topic == p.topic)
        else {
            return;
        };
        let requested = *requested;
        let mut records = Vec::new();
        let mut next_offset = requested;
        let mut decode_error = None;
        let mut unusable = None;
        if p.error_code == 0 {
            if let Some(data) = p.records {
                let len = data.len();
                match decode_batches(p.topic, p.partition, data, requested, &mut records) {
                    Ok(n) => next_offset = n.max(requested),
                    Err(e) => decode_error = Some(e.to_string()),
                }
                if len > 0 && next_offset == requested && decode_error.is_none() {
                    unusable = Some(format!(
                        "{len} bytes of records at offset {requested} hold no whole batch (a \
                         batch larger than the fetch size, or bad framing)"
                    ));
                }
            }
        }
        out.push(PartitionFetch {
            tp: tp.clone(),
            requested,
            error: p.error_code.into(),
            high_watermark: p.high_watermark,
            records,
            next_offset,
            decode_error,
            unusable,
        });
    })
    .map_err(|e| Error::BadResponse {
        addr: addr.to_string(),
        reason: format!("Fetch v{version}: {e}"),
    })?;
    if top != 0 {
        return Err(Error::kafka(top, Some("fetch".into())));
    }
    for (tp, requested) in asked {
        if !out.iter().any(|r| r.tp == *tp) {
            out.push(PartitionFetch {
                tp: tp.clone(),
                requested: *requested,
                error: ErrorCode::NONE,
                high_watermark: -1,
                records: Vec::new(),
                next_offset: *requested,
                decode_error: None,
                unusable: Some("the broker's fetch response left this partition out".into()),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{BatchBuilder, Compression};
    use crate::util::tn;
    use bytes::BytesMut;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::FetchResponse;
    use kafka_protocol::protocol::Encodable;

    fn body(partitions: Vec<PartitionData>) -> Bytes {
        let mut t = FetchableTopicResponse::default();
        t.topic = tn("t");
        t.partitions = partitions;
        let mut resp = FetchResponse::default();
        resp.responses = vec![t];
        let mut out = BytesMut::new();
        resp.encode(&mut out, 12).expect("encode");
        out.freeze()
    }

    fn batch() -> Bytes {
        let mut b = BatchBuilder::new(256);
        b.append(1, None, Some(b"one"), &[]);
        b.append(2, None, Some(b"two"), &[]);
        b.seal(-1, -1, -1, Compression::None).expect("seal")
    }

    #[test]
    fn whole_batches_are_usable() {
        let mut p = PartitionData::default();
        p.records = Some(batch());
        p.high_watermark = 2;
        let asked = vec![(TopicPartition::new("t", 0), 0)];
        let out = parse("b", 12, &body(vec![p]), &asked).expect("parse");
        assert_eq!(out[0].records.len(), 2);
        assert_eq!(out[0].next_offset, 2);
        assert!(out[0].unusable.is_none());
    }

    #[test]
    fn a_partition_left_out_or_a_partial_batch_is_reported() {
        let mut p = PartitionData::default();
        p.records = Some(batch().slice(..40)); // cut inside the first batch
        let asked = vec![
            (TopicPartition::new("t", 0), 0),
            (TopicPartition::new("t", 1), 5),
        ];
        let out = parse("b", 12, &body(vec![p]), &asked).expect("parse");
        let cut = out.iter().find(|r| r.tp.partition == 0).expect("p0");
        assert!(cut.records.is_empty());
        assert!(cut
            .unusable
            .as_deref()
            .is_some_and(|r| r.contains("no whole batch")));
        let missing = out.iter().find(|r| r.tp.partition == 1).expect("p1");
        assert_eq!(missing.next_offset, 5);
        assert!(missing
            .unusable
            .as_deref()
            .is_some_and(|r| r.contains("left this partition out")));
    }
}
