//! Committed offsets on the wire: OffsetCommit (answered once the commit is durable) and
//! OffsetFetch (-1 where nothing is committed).

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
};

use super::{respond, sb, tn, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::group::{Committer, OffsetEntry};
use crate::now_ms;
use crate::protocol::{decode_body, encode_response, Request};
use wire::ErrorCode;

pub(super) fn offset_commit(
    broker: &Arc<Broker>,
    session: &Session,
    req: Request,
) -> Result<Reply> {
    let r: OffsetCommitRequest = decode_body(&req)?;
    let group_denied = broker
        .check(
            session,
            Operation::Read,
            Resource::Group(r.group_id.0.as_str()),
        )
        .err();
    let now = now_ms();
    let max_meta = broker.groups.config.offset_metadata_max_bytes;
    // (topic, partition, error) in request order; error None = to be committed.
    let mut results: Vec<(String, i32, Option<ErrorCode>)> = Vec::new();
    let mut valid: Vec<(String, i32, OffsetEntry)> = Vec::new();
    for t in &r.topics {
        let topic = t.name.0.to_string();
        for p in &t.partitions {
            let metadata = p.committed_metadata.as_ref().map(|m| m.to_string());
            let error = if let Some(code) = group_denied {
                Some(code)
            } else if let Err(code) =
                broker.check(session, Operation::Read, Resource::Topic(&topic))
            {
                Some(code)
            } else if broker.logs.partition(&topic, p.partition_index).is_none() {
                Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
            } else if metadata.as_ref().is_some_and(|m| m.len() > max_meta) {
                Some(ErrorCode::OFFSET_METADATA_TOO_LARGE)
            } else {
                valid.push((
                    topic.clone(),
                    p.partition_index,
                    OffsetEntry {
                        offset: p.committed_offset,
                        leader_epoch: if req.version >= 6 {
                            p.committed_leader_epoch
                        } else {
                            -1
                        },
                        metadata: metadata.unwrap_or_default(),
                        commit_ms: now,
                    },
                ));
                None
            };
            results.push((topic.clone(), p.partition_index, error));
        }
    }
    let group_id = r.group_id.0.to_string();
    let member_id = r.member_id.to_string();
    let instance_id = r.group_instance_id.as_ref().map(|s| s.to_string());
    let generation = r.generation_id_or_member_epoch;
    let started = if valid.is_empty() {
        Ok(None)
    } else {
        let who = Committer {
            member_id: &member_id,
            instance_id: instance_id.as_deref(),
            generation,
        };
        broker.groups.commit(&group_id, who, valid).map(Some)
    };
    Ok(Reply::Later(Box::pin(async move {
        let outcome = match started {
            Ok(Some(wait)) => wait.durable().await,
            Ok(None) => Ok(()),
            Err(code) => Err(code),
        };
        if let Err(code) = outcome {
            tracing::debug!(group = %group_id, member = %member_id, generation, code = code.code(), "offset commit refused");
        }
        let mut resp = OffsetCommitResponse::default();
        for (topic, partition, error) in results {
            let code = error.unwrap_or_else(|| outcome.err().unwrap_or(ErrorCode::NONE));
            if resp
                .topics
                .last()
                .is_none_or(|t| t.name.0.as_str() != topic)
            {
                let mut t = OffsetCommitResponseTopic::default();
                t.name = tn(&topic);
                resp.topics.push(t);
            }
            let mut p = OffsetCommitResponsePartition::default();
            p.partition_index = partition;
            p.error_code = code.code();
            if let Some(t) = resp.topics.last_mut() {
                t.partitions.push(p);
            }
        }
        encode_response(req.header.correlation_id, req.api_key, req.version, &resp).map(Some)
    })))
}

pub(super) fn offset_fetch(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: OffsetFetchRequest = decode_body(req)?;
    if let Err(code) = broker.check(
        session,
        Operation::Describe,
        Resource::Group(r.group_id.0.as_str()),
    ) {
        let mut resp = OffsetFetchResponse::default();
        if req.version >= 2 {
            resp.error_code = code.code();
        }
        return respond(req, &resp);
    }
    let wanted = r.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .map(move |p| (t.name.0.to_string(), *p))
            })
            .collect::<Vec<_>>()
    });
    let found: Vec<_> = broker
        .groups
        .fetch(r.group_id.0.as_str(), wanted)
        .into_iter()
        .filter(|(topic, _, _)| {
            broker.authorize(session, Operation::Describe, Resource::Topic(topic))
        })
        .collect();
    let mut resp = OffsetFetchResponse::default();
    for (topic, partition, entry) in found {
        if resp
            .topics
            .last()
            .is_none_or(|t| t.name.0.as_str() != topic)
        {
            let mut t = OffsetFetchResponseTopic::default();
            t.name = tn(&topic);
            resp.topics.push(t);
        }
        let mut p = OffsetFetchResponsePartition::default();
        p.partition_index = partition;
        match entry {
            Some(e) => {
                p.committed_offset = e.offset;
                if req.version >= 5 {
                    p.committed_leader_epoch = e.leader_epoch;
                }
                p.metadata = Some(sb(&e.metadata));
            }
            None => {
                p.committed_offset = -1;
                p.metadata = Some(sb(""));
            }
        }
        if let Some(t) = resp.topics.last_mut() {
            t.partitions.push(p);
        }
    }
    respond(req, &resp)
}
