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

use super::super::Reply;
use super::split;
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
    let split = split::by_leader(&r, &places, |r| &mut r.topics, |t| &mut t.partitions);
    let mut answers = Vec::new();
    for (leader, sub) in &split {
        let conn = session
            .links()
            .main(up, *leader, &session.client_id)
            .await?;
        answers.push(conn.send(ApiKey::ListOffsets, req.version, sub)?);
    }
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    Ok(Reply::Later(Box::pin(async move {
        let mut got = HashMap::new();
        for a in answers {
            let resp: ListOffsetsResponse = decode(ApiKey::ListOffsets, info.version, a.await)?;
            got.extend(split::gather(
                &up,
                resp.topics.into_iter().flat_map(|t| {
                    let name = t.name.0.to_string();
                    t.partitions
                        .into_iter()
                        .map(move |p| (name.clone(), p.partition_index, p.error_code, p))
                }),
            ));
        }
        let mut resp = ListOffsetsResponse::default();
        for (ti, t) in r.topics.iter().enumerate() {
            let mut tr = ListOffsetsTopicResponse::default();
            tr.name = t.name.clone();
            for (pi, p) in t.partitions.iter().enumerate() {
                let index = p.partition_index;
                let pr = split::answer(&mut got, places[ti][pi], &t.name.0, index, |e| {
                    let mut pr = ListOffsetsPartitionResponse::default();
                    pr.partition_index = index;
                    pr.error_code = e.code();
                    pr
                });
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
    let split = split::by_leader(&r, &places, |r| &mut r.topics, |t| &mut t.partitions);
    let mut answers = Vec::new();
    for (leader, sub) in &split {
        let conn = session
            .links()
            .main(up, *leader, &session.client_id)
            .await?;
        answers.push(conn.send(ApiKey::OffsetForLeaderEpoch, req.version, sub)?);
    }
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    Ok(Reply::Later(Box::pin(async move {
        let mut got = HashMap::new();
        for a in answers {
            let resp: OffsetForLeaderEpochResponse =
                decode(ApiKey::OffsetForLeaderEpoch, info.version, a.await)?;
            got.extend(split::gather(
                &up,
                resp.topics.into_iter().flat_map(|t| {
                    let name = t.topic.0.to_string();
                    t.partitions
                        .into_iter()
                        .map(move |p| (name.clone(), p.partition, p.error_code, p))
                }),
            ));
        }
        let mut resp = OffsetForLeaderEpochResponse::default();
        for (ti, t) in r.topics.iter().enumerate() {
            let mut tr = OffsetForLeaderTopicResult::default();
            tr.topic = t.topic.clone();
            for (pi, p) in t.partitions.iter().enumerate() {
                let e = split::answer(&mut got, places[ti][pi], &t.topic.0, p.partition, |code| {
                    let mut e = EpochEndOffset::default();
                    e.partition = p.partition;
                    e.error_code = code.code();
                    e
                });
                tr.partitions.push(e);
            }
            resp.topics.push(tr);
        }
        info.encode(&resp).map(Some)
    })))
}
