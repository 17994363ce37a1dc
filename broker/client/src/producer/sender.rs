//! Sending: drains ready batches from the accumulator, sends one Produce request per leader
//! (pipelined on the connection) and settles each batch from the response (on the network
//! thread): acknowledged, retried (in sequence order, after a metadata refresh when the
//! leader moved or the connection dropped) or failed. [`send_now`] does one round on the
//! caller's thread (linger 0); [`run`] is the sender thread, which ends when nothing is
//! queued and is started again when something is.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ErrorCode;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse,
};

use super::accumulator::{Accumulator, Batch};
use super::{Acks, Shared};
use crate::cluster::Cluster;
use crate::conn::decode_body;
use crate::error::{Error, Result};
use crate::util::tn;

/// Asks any broker for an idempotent producer id, retrying retriable failures until the
/// request timeout.
pub(super) fn init_producer_id(cluster: &Cluster) -> Result<(i64, i16)> {
    let deadline = Instant::now() + cluster.config.request_timeout;
    let mut wait = Duration::from_millis(50);
    loop {
        let r = cluster.with_any_conn(|conn| {
            let mut req = InitProducerIdRequest::default();
            req.transactional_id = None;
            req.transaction_timeout_ms = 60_000;
            let (_, resp): (_, InitProducerIdResponse) =
                conn.request(ApiKey::InitProducerId, &req)?;
            if resp.error_code != 0 {
                return Err(Error::kafka(resp.error_code, Some("InitProducerId".into())));
            }
            Ok((resp.producer_id.0, resp.producer_epoch))
        });
        match r {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retriable() && Instant::now() + wait < deadline => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// One round on the caller's thread: sends what is ready now and leaves the rest (not
/// ready, or waiting for a producer id) to a sender thread.
pub(super) fn send_now(shared: &Arc<Shared>) {
    let cfg = &shared.config;
    if let Err(e) = shared.cluster.maybe_refresh() {
        tracing::debug!(error = %e, "metadata refresh failed");
    }
    let guard = shared.send_lock.lock();
    let mut acc = shared.acc.lock();
    if acc.sender_running || (cfg.idempotence && acc.need_new_pid) {
        shared.ensure_sender(&mut acc);
        return;
    }
    let view = shared.cluster.view();
    let (ready, _, unknown) = acc.drain(&view, cfg, Instant::now());
    drop(acc);
    if unknown {
        shared.cluster.invalidate();
    }
    for (leader, batches) in ready {
        send(shared, leader, batches);
    }
    drop(guard);
    let mut acc = shared.acc.lock();
    if !acc.nothing_queued() {
        shared.ensure_sender(&mut acc);
    }
}

/// The sender loop; returns when nothing is queued (or, closing, when everything is
/// settled), clearing `sender_running` under the same lock that saw the queues empty.
pub(super) fn run(shared: Arc<Shared>) {
    let cfg = &shared.config;
    loop {
        // Cheap unless the view is stale (NOT_LEADER, lost connection) or old.
        if let Err(e) = shared.cluster.maybe_refresh() {
            tracing::debug!(error = %e, "metadata refresh failed");
        }
        let guard = shared.send_lock.lock();
        let mut acc = shared.acc.lock();
        let now = Instant::now();
        acc.expire(cfg.delivery_timeout, now);
        if acc.closing && acc.abandon_at.is_some_and(|t| now >= t) {
            acc.fail_queued(Arc::new(Error::Closed("producer")));
            if acc.inflight_total == 0 {
                acc.sender_running = false;
                break;
            }
        }
        if acc.closing && acc.is_idle() {
            acc.sender_running = false;
            break;
        }
        if !acc.closing && acc.nothing_queued() && !(cfg.idempotence && acc.need_new_pid) {
            acc.sender_running = false;
            break;
        }
        if cfg.idempotence && acc.need_new_pid && acc.inflight_total == 0 {
            drop(acc);
            drop(guard);
            match init_producer_id(&shared.cluster) {
                Ok((id, epoch)) => {
                    tracing::info!(id, epoch, "new producer id after a sequence gap");
                    shared.acc.lock().reset_producer_id(id, epoch);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "InitProducerId failed");
                    std::thread::sleep(cfg.retry_backoff);
                }
            }
            continue;
        }
        let view = shared.cluster.view();
        let (ready, next, unknown) = acc.drain(&view, cfg, now);
        if ready.is_empty() {
            let wait = if unknown {
                cfg.retry_backoff
            } else {
                next.map_or(Duration::from_millis(200), |n| {
                    n.saturating_duration_since(now)
                })
                .min(Duration::from_millis(200))
            };
            drop(guard);
            if !unknown || wait > Duration::ZERO {
                shared.wake.wait_for(&mut acc, wait);
                drop(acc);
            }
            if unknown {
                shared.cluster.invalidate();
                let _ = shared.cluster.maybe_refresh();
            }
            continue;
        }
        drop(acc);
        if unknown {
            shared.cluster.invalidate();
            let _ = shared.cluster.maybe_refresh();
        }
        for (leader, batches) in ready {
            send(&shared, leader, batches);
        }
        drop(guard);
    }
    tracing::debug!("producer sender stopped");
}

/// Sends `batches` to `leader` in one Produce request.
fn send(shared: &Arc<Shared>, leader: i32, batches: Vec<Batch>) {
    let conn = match shared.cluster.conn(leader) {
        Ok(c) => c,
        Err(e) => {
            let e = Arc::new(e);
            let mut acc = shared.acc.lock();
            for b in batches {
                settle_failure(shared, &mut acc, b, e.clone());
            }
            drop(acc);
            shared.space.notify_all();
            return;
        }
    };
    let version = match conn.version(ApiKey::Produce) {
        Ok(v) => v,
        Err(e) => {
            let e = Arc::new(e);
            let mut acc = shared.acc.lock();
            for b in batches {
                acc.complete(b, Err(e.clone()), true);
            }
            return;
        }
    };
    let req = build_request(
        shared.config.acks,
        shared.cluster.config.request_timeout,
        &batches,
    );
    if shared.config.acks == Acks::None {
        let sent = conn.send_oneway(ApiKey::Produce, version, &req);
        let mut acc = shared.acc.lock();
        for b in batches {
            match &sent {
                Ok(()) => acc.complete(b, Ok((-1, -1)), true),
                Err(e) => {
                    let e = Arc::new(Error::Connection {
                        addr: conn.addr().to_string(),
                        reason: e.to_string(),
                    });
                    settle_failure(shared, &mut acc, b, e)
                }
            }
        }
        drop(acc);
        shared.space.notify_all();
        return;
    }
    let cb_shared = shared.clone();
    let addr = conn.addr_shared();
    conn.send(
        ApiKey::Produce,
        version,
        &req,
        Box::new(move |res| on_response(&cb_shared, &addr, version, batches, res)),
    );
}

/// Builds the Produce request for `batches` (one per partition).
fn build_request(acks: Acks, timeout: Duration, batches: &[Batch]) -> ProduceRequest {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for b in batches {
        let mut pd = PartitionProduceData::default();
        pd.index = b.tp.partition;
        pd.records = b
            .sealed
            .as_ref()
            .map(|(bytes, _)| bytes.clone())
            .or(Some(Bytes::new()));
        let i = *index.entry(b.tp.topic.as_str()).or_insert_with(|| {
            let mut t = TopicProduceData::default();
            t.name = tn(&b.tp.topic);
            topics.push(t);
            topics.len() - 1
        });
        topics[i].partition_data.push(pd);
    }
    let mut req = ProduceRequest::default();
    req.acks = acks.wire();
    req.timeout_ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    req.topic_data = topics;
    req
}

/// A partition's answer: error code, base offset, log-append time, error message.
type PartitionAnswer = (ErrorCode, i64, i64, Option<String>);

/// Settles the batches of one Produce request from its response (or failure).
fn on_response(
    shared: &Arc<Shared>,
    addr: &str,
    version: i16,
    batches: Vec<Batch>,
    res: Result<Bytes>,
) {
    let resp =
        res.and_then(|body| decode_body::<ProduceResponse>(addr, ApiKey::Produce, version, body));
    let mut acc = shared.acc.lock();
    match resp {
        Err(e) => {
            if matches!(e, Error::Connection { .. } | Error::Timeout(_)) {
                shared.cluster.invalidate();
            }
            let e = Arc::new(e);
            for b in batches {
                settle_failure(shared, &mut acc, b, e.clone());
            }
        }
        Ok(resp) => {
            let mut results: HashMap<(String, i32), PartitionAnswer> = HashMap::new();
            for t in resp.responses {
                for p in t.partition_responses {
                    results.insert(
                        (t.name.0.to_string(), p.index),
                        (
                            p.error_code.into(),
                            p.base_offset,
                            p.log_append_time_ms,
                            p.error_message.map(|m| m.to_string()),
                        ),
                    );
                }
            }
            for b in batches {
                let key = (b.tp.topic.clone(), b.tp.partition);
                match results.remove(&key) {
                    None => {
                        let e = Error::BadResponse {
                            addr: addr.to_string(),
                            reason: format!("no answer for {}/{}", b.tp.topic, b.tp.partition),
                        };
                        settle_failure(shared, &mut acc, b, Arc::new(e));
                    }
                    Some((ErrorCode::NONE, base, ts, _)) => acc.complete(b, Ok((base, ts)), true),
                    // The broker already has this batch (a retry of a send that landed).
                    Some((ErrorCode::DUPLICATE_SEQUENCE_NUMBER, _, ts, _)) => {
                        acc.complete(b, Ok((-1, ts)), true)
                    }
                    Some((code, _, _, msg)) => {
                        if code.is_stale_metadata() {
                            shared.cluster.invalidate();
                        }
                        let earlier = code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                            && b.seq().is_some_and(|s| acc.has_earlier_retry(&b.tp, s));
                        let e = Error::kafka(code, msg);
                        if earlier {
                            shared
                                .retries
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            acc.requeue(b, shared.config.retry_backoff);
                        } else {
                            settle_failure(shared, &mut acc, b, Arc::new(e));
                        }
                    }
                }
            }
        }
    }
    if !acc.nothing_queued() {
        // Retries, or batches that waited for this one: a sender thread takes them.
        shared.ensure_sender(&mut acc);
    }
    drop(acc);
    shared.wake.notify_all();
    shared.space.notify_all();
}

/// Retries `b` if `err` is retriable and time remains, otherwise fails it.
fn settle_failure(shared: &Shared, acc: &mut Accumulator, b: Batch, err: Arc<Error>) {
    let cfg = &shared.config;
    if err.is_retriable() && b.created.elapsed() < cfg.delivery_timeout {
        tracing::debug!(topic = %b.tp.topic, partition = b.tp.partition, error = %err, "retrying batch");
        shared
            .retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        acc.requeue(b, cfg.retry_backoff);
        return;
    }
    if cfg.idempotence {
        // The batch may or may not be stored: later sequences could be out of order.
        acc.need_new_pid = true;
    }
    tracing::warn!(topic = %b.tp.topic, partition = b.tp.partition, error = %err, "batch failed");
    acc.complete(b, Err(err), true);
}
