//! Fetch (a long poll that returns as soon as enough data is durable, woken only by the
//! partitions it reads), ListOffsets and OffsetForLeaderEpoch.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use wire::fetch::{FetchAsk, ServedPartition};
use wire::ErrorCode;

use bytes::Bytes;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};

use super::{respond, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::log::Partition;
use crate::protocol::{decode_body, Request};

/// Longest long poll we honour.
const MAX_WAIT_MS: i32 = 30_000;

/// The answer's partitions, their record bytes and whether any has an error;
/// `allowed[i]` says whether the session may read `r.topics[i]`.
fn fill(
    broker: &Broker,
    r: &FetchAsk,
    version: i16,
    allowed: &[bool],
) -> (Vec<ServedPartition>, usize, bool) {
    let mut out = Vec::with_capacity(r.partitions.len());
    let mut remaining = if r.max_bytes > 0 {
        r.max_bytes as usize
    } else {
        50 << 20
    };
    let mut total = 0usize;
    let mut errors = false;
    let mut topic = None;
    for fp in &r.partitions {
        let mut pd = ServedPartition {
            topic: fp.topic,
            partition: fp.partition,
            error_code: 0,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            records: Some(Bytes::new()),
        };
        if !allowed.get(fp.topic).copied().unwrap_or(false) {
            pd.error_code = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();
            errors = true;
            out.push(pd);
            continue;
        }
        // Partitions of one topic follow each other: look the topic up once per run.
        let log = match &topic {
            Some((at, log)) if *at == fp.topic => log,
            _ => {
                let name = r.topics.get(fp.topic).map_or("", |t| t.as_str());
                &topic.insert((fp.topic, broker.logs.topic(name))).1
            }
        };
        let part = log.as_ref().and_then(|t| {
            usize::try_from(fp.partition)
                .ok()
                .and_then(|i| t.partitions.get(i))
        });
        match part {
            None => {
                pd.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code();
                errors = true;
            }
            Some(p) => {
                let hw = p.high_watermark();
                pd.high_watermark = hw;
                pd.last_stable_offset = hw;
                if version >= 5 {
                    pd.log_start_offset = p.log_start();
                }
                // Always allow one batch to go out, even past the limits.
                let limit = (fp.max_bytes.max(0) as usize).min(remaining).max(1);
                match p.read(fp.fetch_offset, limit) {
                    Ok(bytes) => {
                        remaining = remaining.saturating_sub(bytes.len());
                        total += bytes.len();
                        pd.records = Some(bytes);
                    }
                    Err(rej) => {
                        pd.error_code = rej.code.code();
                        errors = true;
                    }
                }
            }
        }
        out.push(pd);
    }
    (out, total, errors)
}

pub(super) fn fetch(broker: &Arc<Broker>, session: &Session, req: Request) -> Result<Reply> {
    // Read by hand (`wire::fetch`): this runs once per answer of every consumer.
    let r = wire::fetch::read_request(&req.body, req.version)?;
    let allowed: Vec<bool> = r
        .topics
        .iter()
        .map(|name| broker.authorize(session, Operation::Read, Resource::Topic(name)))
        .collect();
    // The partitions this fetch reads and where: only their growth wakes it.
    let watched: Vec<(Arc<Partition>, i64)> = r
        .partitions
        .iter()
        .filter(|p| allowed.get(p.topic).copied().unwrap_or(false))
        .filter_map(|p| {
            let part = broker.logs.partition(r.topics.get(p.topic)?, p.partition)?;
            Some((part, p.fetch_offset))
        })
        .collect();
    // Every partition asked for is readable and exists (else the answer has errors to
    // say at once).
    let plain = watched.len() == r.partitions.len();
    let broker = Arc::clone(broker);
    // A request read after this one ends the wait (RequestCount's doc says why).
    let requests = Arc::clone(&session.requests);
    let seq = requests.count();
    // No timer of its own: the connection polls a held reply at its deadline.
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(r.max_wait_ms.clamp(0, MAX_WAIT_MS) as u64);
    Ok(Reply::Held(
        Box::pin(async move {
            let min_bytes = r.min_bytes.max(1) as usize;
            // Kept across rounds: a held fetch waits a round or two per answer.
            let mut waits = Vec::with_capacity(watched.len());
            loop {
                waits.clear();
                waits.extend(watched.iter().map(|(p, _)| Box::pin(p.data_arrived())));
                for w in &mut waits {
                    w.as_mut().enable();
                }
                let mut behind = std::pin::pin!(requests.next());
                behind.as_mut().enable();
                let queued = requests.count() > seq;
                let now = tokio::time::Instant::now();
                // At the end of every partition asked for there is nothing to build yet
                // (the check comes after the waits were enabled, so data arriving since
                // wakes them).
                let at_ends = plain && watched.iter().all(|(p, at)| p.high_watermark() == *at);
                if !at_ends || queued || now >= deadline {
                    let (parts, total, errors) = fill(&broker, &r, req.version, &allowed);
                    if total >= min_bytes || errors || queued || now >= deadline {
                        let name = |i: usize| r.topics.get(i).map_or("", |t| t.as_str());
                        return Ok(Some(wire::fetch::encode_response(
                            req.header.correlation_id,
                            req.version,
                            &parts,
                            name,
                        )?));
                    }
                }
                // Data, a request behind this one, or a poll at or after the deadline.
                std::future::poll_fn(|cx| {
                    if behind.as_mut().poll(cx).is_ready()
                        || waits.iter_mut().any(|w| w.as_mut().poll(cx).is_ready())
                        || tokio::time::Instant::now() >= deadline
                    {
                        std::task::Poll::Ready(())
                    } else {
                        std::task::Poll::Pending
                    }
                })
                .await;
            }
        }),
        deadline,
    ))
}

pub(super) fn list_offsets(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: ListOffsetsRequest = decode_body(req)?;
    let mut resp = ListOffsetsResponse::default();
    for t in r.topics {
        let allowed = broker.authorize(
            session,
            Operation::Describe,
            Resource::Topic(t.name.0.as_str()),
        );
        let topic = broker.logs.topic(t.name.0.as_str());
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            let part = topic.as_ref().and_then(|t| {
                usize::try_from(p.partition_index)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
            });
            match part {
                _ if !allowed => pr.error_code = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code(),
                None => pr.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                Some(part) => {
                    let (offset, ts) = match p.timestamp {
                        -2 => (part.log_start(), -1),
                        -1 => (part.high_watermark(), -1),
                        -3 => part.max_timestamp().unwrap_or((-1, -1)),
                        ts => match part.offset_for_time(ts) {
                            Ok(Some((o, t))) => (o, t),
                            Ok(None) => (-1, -1),
                            Err(e) => {
                                tracing::warn!(error = %e, "offset lookup by time failed");
                                pr.error_code = ErrorCode::KAFKA_STORAGE_ERROR.code();
                                (-1, -1)
                            }
                        },
                    };
                    pr.offset = offset;
                    pr.timestamp = ts;
                    if req.version >= 4 {
                        pr.leader_epoch = 0;
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    respond(req, &resp)
}

pub(super) fn offset_for_leader_epoch(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: OffsetForLeaderEpochRequest = decode_body(req)?;
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in r.topics {
        let allowed = broker.authorize(
            session,
            Operation::Describe,
            Resource::Topic(t.topic.0.as_str()),
        );
        let topic = broker.logs.topic(t.topic.0.as_str());
        let mut tr = OffsetForLeaderTopicResult::default();
        tr.topic = t.topic.clone();
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            match topic.as_ref().and_then(|t| {
                usize::try_from(p.partition)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
            }) {
                _ if !allowed => e.error_code = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code(),
                None => e.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                Some(part) => {
                    if req.version >= 1 {
                        e.leader_epoch = 0;
                    }
                    e.end_offset = part.high_watermark();
                }
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    respond(req, &resp)
}
