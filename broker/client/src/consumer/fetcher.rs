//! Fetching: builds one Fetch request per leader for the partitions that are ready and
//! sends it without waiting (on the connection that leader's last fetch used, while it
//! lives; encoded with `wire::fetch`, the Fetch's own codec). Whoever reads the consumer's
//! connection (its poll thread, which pumps its own poller while it waits, see `net`)
//! passes the answer's bytes on a channel the consumer drains in `poll`, where `answer`
//! reads them. This runs once per answer of every consumer, so the path allocates little:
//! the list of what was asked comes back with the answer and is refilled in place by the
//! next fetch to that leader, and the encoder reads it as it is.

use std::sync::mpsc;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use wire::fetch::{self, FetchParams, FetchPart};

use super::{ClusterView, Consumer, PartState, TopicPartition};
use crate::conn::Connection;
use crate::error::Result;
use crate::records::ConsumerRecord;

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

/// A partition and the offset a fetch asked for.
pub type Ask = (TopicPartition, i64);

/// A finished (or failed) fetch from one broker, not yet read (see `answer`).
#[derive(Debug)]
pub struct FetchDone {
    /// The leader it went to.
    pub leader: i32,
    /// The partitions and offsets it asked for.
    pub asked: Vec<Ask>,
    /// The Fetch version it was sent at.
    pub version: i16,
    /// The broker's address, for errors.
    pub addr: Arc<str>,
    /// The response body, or why the request failed.
    pub result: Result<Bytes>,
}

impl FetchDone {
    /// Not a fetch: wakes a waiting `poll` (new topics in the metadata). Its leader is no
    /// leader's, so `poll` drops it after waking.
    pub fn wake() -> FetchDone {
        FetchDone {
            leader: i32::MIN,
            asked: Vec::new(),
            version: 0,
            addr: Arc::from(""),
            result: Ok(Bytes::new()),
        }
    }
}

/// What the fetch path keeps between fetches so that the steady state allocates little:
/// each leader's last list of what was asked (back with its answer; the next fetch to that
/// leader overwrites it in place, partition names included), and the lists an answer is
/// read into.
#[derive(Default)]
pub(super) struct Reuse {
    /// Lists of what was asked, by leader, back from answered fetches.
    spare: Vec<(i32, Vec<Ask>)>,
    /// The lists being filled, by leader, and how much of each is filled.
    sending: Vec<(i32, Vec<Ask>, usize)>,
    /// An answer's partitions (see `answer::read`).
    pub(super) answers: Vec<super::answer::PartAnswer>,
    /// An answer's records.
    pub(super) records: Vec<ConsumerRecord>,
}

impl Reuse {
    /// Keeps `asked`, the list a fetch to `leader` asked with, for the next one.
    pub(super) fn give_back(&mut self, leader: i32, asked: Vec<Ask>) {
        if asked.capacity() == 0 {
            return;
        }
        if let Some(at) = self.spare.iter().position(|(id, _)| *id == leader) {
            self.spare[at].1 = asked;
        } else if self.spare.len() < 8 {
            // A consumer has one or a few leaders; more are not worth keeping lists for.
            self.spare.push((leader, asked));
        }
    }

    /// The list to fill for `leader`: its last one if kept, else a new one.
    fn take_for(&mut self, leader: i32) -> Vec<Ask> {
        match self.spare.iter().position(|(id, _)| *id == leader) {
            Some(at) => self.spare.swap_remove(at).1,
            None => Vec::new(),
        }
    }
}

/// Puts `tp` at `offset` at place `at` of `list` (at most its length), reusing the name
/// already there when it is the same partition.
fn put_ask(list: &mut Vec<Ask>, at: usize, tp: &TopicPartition, offset: i64) {
    match list.get_mut(at) {
        Some(slot) => {
            if slot.0 != *tp {
                slot.0.clone_from(tp);
            }
            slot.1 = offset;
        }
        None => list.push((tp.clone(), offset)),
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
        let mut sending = std::mem::take(&mut self.reuse.sending);
        for (tp, p) in self.parts.iter_mut() {
            if !ready(p) {
                continue;
            }
            let leader = *p
                .leader
                .get_or_insert_with(|| view.leader(&tp.topic, tp.partition));
            match leader {
                Some(l) if !self.inflight_leaders.contains(&l) => {
                    let at = match sending.iter().position(|(id, _, _)| *id == l) {
                        Some(at) => at,
                        None => {
                            sending.push((l, self.reuse.take_for(l), 0));
                            sending.len() - 1
                        }
                    };
                    let (_, list, filled) = &mut sending[at];
                    put_ask(list, *filled, tp, p.fetch_offset);
                    *filled += 1;
                    p.inflight = true;
                }
                Some(_) => {}
                None => self.cluster.invalidate(),
            }
        }
        for (leader, mut asked, filled) in sending.drain(..) {
            asked.truncate(filled);
            let conn = match self.fetch_conn(&view, same_view, leader) {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(leader, error = %e, "no connection for fetch");
                    for (tp, _) in &asked {
                        if let Some(p) = self.parts.get_mut(tp) {
                            p.inflight = false;
                        }
                    }
                    self.reuse.give_back(leader, asked);
                    continue;
                }
            };
            self.inflight_leaders.push(leader);
            send_fetch(&conn, leader, asked, &self.config.fetch, self.tx.clone());
        }
        self.reuse.sending = sending;
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

/// Sends a Fetch for `parts` to `conn`; the answer goes to `tx` unread. Partitions of
/// one topic should follow each other (they then share one topic entry in the request).
pub fn send_fetch(
    conn: &Arc<Connection>,
    leader: i32,
    parts: Vec<Ask>,
    config: &FetchConfig,
    tx: mpsc::Sender<FetchDone>,
) {
    let addr = conn.addr_shared();
    let version = match conn.version(ApiKey::Fetch) {
        Ok(v) => v,
        Err(e) => {
            let _ = tx.send(FetchDone {
                leader,
                asked: parts,
                version: 0,
                addr,
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
    let max_bytes = config.partition_max_bytes;
    let encode = |parts: &Vec<Ask>, buf: &mut BytesMut, id, client_id: &str| {
        fetch::put_request_with(
            buf,
            version,
            id,
            client_id,
            &params,
            parts,
            |(tp, offset)| FetchPart {
                topic: &tp.topic,
                partition: tp.partition,
                offset: *offset,
                max_bytes,
            },
        )
    };
    let reply = move |asked: Vec<Ask>, result: Result<Bytes>| {
        let _ = tx.send(FetchDone {
            leader,
            asked,
            version,
            addr,
            result,
        });
    };
    conn.send_encoded(ApiKey::Fetch, version, parts, encode, reply);
}
