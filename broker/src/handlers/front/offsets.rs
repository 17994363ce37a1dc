//! ListOffsets and OffsetForLeaderEpoch in front mode: split by partition leader and
//! merged back in the request's order, after the single server's check (DESCRIBE on each
//! topic). librdkafka 2.1 and later send OffsetForLeaderEpoch to validate a position
//! once Metadata gave them a leader epoch (the cluster's epochs are passed through).

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};
use wire::ErrorCode;

use super::super::Reply;
use super::{route, ReqInfo};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{decode_body, Request};
use crate::upstream::conn::decode;
use crate::upstream::Upstream;

pub(super) async fn list_offsets(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: ListOffsetsRequest = decode_body(req)?;
    let wanted: Vec<(String, Vec<i32>, bool)> = r
        .topics
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let ok = broker.authorize(session, Operation::Describe, Resource::Topic(&name));
            (
                name,
                t.partitions.iter().map(|p| p.partition_index).collect(),
                ok,
            )
        })
        .collect();
    let places = route(up, &wanted, &|_| false).await?;
    let mut split: HashMap<i32, ListOffsetsRequest> = HashMap::new();
    for (ti, t) in r.topics.iter().enumerate() {
        for (pi, p) in t.partitions.iter().enumerate() {
            let Ok(leader) = places[ti][pi] else { continue };
            let sub = split.entry(leader).or_insert_with(|| {
                let mut s = r.clone();
                s.topics.clear();
                s
            });
            match sub.topics.iter_mut().find(|x| x.name == t.name) {
                Some(x) => x.partitions.push(p.clone()),
                None => {
                    let mut x = t.clone();
                    x.partitions = vec![p.clone()];
                    sub.topics.push(x);
                }
            }
        }
    }
    let mut answers = Vec::new();
    for (leader, sub) in &split {
        let conn = session.links.main(up, *leader, &session.client_id).await?;
        answers.push(conn.send(ApiKey::ListOffsets, req.version, sub)?);
    }
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    Ok(Reply::Later(Box::pin(async move {
        let mut got: HashMap<(String, i32), ListOffsetsPartitionResponse> = HashMap::new();
        for a in answers {
            let resp: ListOffsetsResponse = decode(ApiKey::ListOffsets, info.version, a.await)?;
            for t in resp.topics {
                for p in t.partitions {
                    if p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.code() {
                        up.forget_leader(t.name.0.as_str(), p.partition_index);
                    }
                    got.insert((t.name.0.to_string(), p.partition_index), p);
                }
            }
        }
        let mut resp = ListOffsetsResponse::default();
        for (ti, t) in r.topics.iter().enumerate() {
            let mut tr = ListOffsetsTopicResponse::default();
            tr.name = t.name.clone();
            for (pi, p) in t.partitions.iter().enumerate() {
                let key = (t.name.0.to_string(), p.partition_index);
                let pr = match (places[ti][pi], got.remove(&key)) {
                    (Ok(_), Some(pr)) => pr,
                    (place, _) => {
                        let mut pr = ListOffsetsPartitionResponse::default();
                        pr.partition_index = p.partition_index;
                        pr.error_code = place
                            .err()
                            .unwrap_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)
                            .code();
                        pr
                    }
                };
                tr.partitions.push(pr);
            }
            resp.topics.push(tr);
        }
        info.encode(&resp).map(Some)
    })))
}

pub(super) async fn offset_for_leader_epoch(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: OffsetForLeaderEpochRequest = decode_body(req)?;
    let wanted: Vec<(String, Vec<i32>, bool)> = r
        .topics
        .iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let ok = broker.authorize(session, Operation::Describe, Resource::Topic(&name));
            (name, t.partitions.iter().map(|p| p.partition).collect(), ok)
        })
        .collect();
    let places = route(up, &wanted, &|_| false).await?;
    let mut split: HashMap<i32, OffsetForLeaderEpochRequest> = HashMap::new();
    for (ti, t) in r.topics.iter().enumerate() {
        for (pi, p) in t.partitions.iter().enumerate() {
            let Ok(leader) = places[ti][pi] else { continue };
            let sub = split.entry(leader).or_insert_with(|| {
                let mut s = r.clone();
                s.topics.clear();
                s
            });
            match sub.topics.iter_mut().find(|x| x.topic == t.topic) {
                Some(x) => x.partitions.push(p.clone()),
                None => {
                    let mut x = t.clone();
                    x.partitions = vec![p.clone()];
                    sub.topics.push(x);
                }
            }
        }
    }
    let mut answers = Vec::new();
    for (leader, sub) in &split {
        let conn = session.links.main(up, *leader, &session.client_id).await?;
        answers.push(conn.send(ApiKey::OffsetForLeaderEpoch, req.version, sub)?);
    }
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    Ok(Reply::Later(Box::pin(async move {
        let mut got: HashMap<(String, i32), EpochEndOffset> = HashMap::new();
        for a in answers {
            let resp: OffsetForLeaderEpochResponse =
                decode(ApiKey::OffsetForLeaderEpoch, info.version, a.await)?;
            for t in resp.topics {
                for p in t.partitions {
                    if p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.code() {
                        up.forget_leader(t.topic.0.as_str(), p.partition);
                    }
                    got.insert((t.topic.0.to_string(), p.partition), p);
                }
            }
        }
        let mut resp = OffsetForLeaderEpochResponse::default();
        for (ti, t) in r.topics.iter().enumerate() {
            let mut tr = OffsetForLeaderTopicResult::default();
            tr.topic = t.topic.clone();
            for (pi, p) in t.partitions.iter().enumerate() {
                let key = (t.topic.0.to_string(), p.partition);
                let e = match (places[ti][pi], got.remove(&key)) {
                    (Ok(_), Some(e)) => e,
                    (place, _) => {
                        let mut e = EpochEndOffset::default();
                        e.partition = p.partition;
                        e.error_code = place
                            .err()
                            .unwrap_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)
                            .code();
                        e
                    }
                };
                tr.partitions.push(e);
            }
            resp.topics.push(tr);
        }
        info.encode(&resp).map(Some)
    })))
}
