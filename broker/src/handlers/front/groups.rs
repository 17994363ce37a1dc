//! The group APIs in front mode: JoinGroup, SyncGroup, Heartbeat and LeaveGroup pass
//! through untouched to the group's upstream coordinator once the principal may READ the
//! group; OffsetCommit also needs READ on each topic and OffsetFetch DESCRIBE on the group
//! (and lists only topics the principal may describe), as on a single server. An answer
//! saying the coordinator moved makes the next request look it up again; the client,
//! which sees this server as the coordinator, simply retries.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, LeaveGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use wire::ErrorCode;

use super::super::{respond, Reply};
use super::{raw_reply, ReqInfo};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::{decode_body, Request};
use crate::upstream::conn::decode;
use crate::upstream::Upstream;

/// Codes that mean "ask who coordinates this group again".
fn coordinator_moved(code: i16) -> bool {
    [
        ErrorCode::NOT_COORDINATOR,
        ErrorCode::COORDINATOR_NOT_AVAILABLE,
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ]
    .iter()
    .any(|c| c.code() == code)
}

/// An answer with only an error code, for a request refused here.
fn refuse<Resp: Default + Encodable>(
    req: &Request,
    code: ErrorCode,
    set: fn(&mut Resp, i16),
) -> Result<Reply> {
    let mut resp = Resp::default();
    set(&mut resp, code.code());
    respond(req, &resp)
}

/// Passes `req` through to `group`'s coordinator, or refuses it without READ on the group.
async fn pass_through<Resp: Default + Encodable + Decodable + 'static>(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
    group: &str,
    error_of: fn(&Resp) -> i16,
    set: fn(&mut Resp, i16),
) -> Result<Reply> {
    if let Err(code) = broker.check(session, Operation::Read, Resource::Group(group)) {
        return refuse(req, code, set);
    }
    let node = match up.coordinator(group).await {
        Ok(n) => n,
        Err(Error::Refused { code, .. }) => return refuse(req, code, set),
        Err(e) => return Err(e),
    };
    let conn = session.links().main(up, node, &session.client_id).await?;
    let answer = conn
        .send_raw(req.api_key, req.version, &req.body, true)?
        .ok_or_else(|| Error::Upstream("no answer expected".into()))?;
    let (up, group, info) = (Arc::clone(up), group.to_string(), ReqInfo::of(req));
    Ok(Reply::Later(Box::pin(async move {
        let body = answer
            .await
            .map_err(|_| Error::Upstream("connection closed".into()))??;
        let resp: Resp = decode(info.api_key, info.version, Ok(Ok(body.clone())))?;
        if coordinator_moved(error_of(&resp)) {
            up.forget_coordinator(&group);
        }
        raw_reply(&info, &body).map(Some)
    })))
}

/// JoinGroup, SyncGroup, Heartbeat and LeaveGroup.
pub(super) async fn membership(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    match req.api_key {
        ApiKey::JoinGroup => {
            let r: JoinGroupRequest = decode_body(req)?;
            pass_through::<JoinGroupResponse>(
                broker,
                up,
                session,
                req,
                &r.group_id.0,
                |r| r.error_code,
                |r, c| r.error_code = c,
            )
            .await
        }
        ApiKey::SyncGroup => {
            let r: SyncGroupRequest = decode_body(req)?;
            pass_through::<SyncGroupResponse>(
                broker,
                up,
                session,
                req,
                &r.group_id.0,
                |r| r.error_code,
                |r, c| r.error_code = c,
            )
            .await
        }
        ApiKey::Heartbeat => {
            let r: HeartbeatRequest = decode_body(req)?;
            pass_through::<HeartbeatResponse>(
                broker,
                up,
                session,
                req,
                &r.group_id.0,
                |r| r.error_code,
                |r, c| r.error_code = c,
            )
            .await
        }
        _ => {
            let r: LeaveGroupRequest = decode_body(req)?;
            pass_through::<LeaveGroupResponse>(
                broker,
                up,
                session,
                req,
                &r.group_id.0,
                |r| r.error_code,
                |r, c| r.error_code = c,
            )
            .await
        }
    }
}

pub(super) async fn offset_commit(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let mut r: OffsetCommitRequest = decode_body(req)?;
    let group = r.group_id.0.to_string();
    let group_denied = broker
        .check(session, Operation::Read, Resource::Group(&group))
        .err();
    let mut refused: Vec<(OffsetCommitResponseTopic, ErrorCode)> = Vec::new();
    r.topics.retain(|t| {
        let code = group_denied.or_else(|| {
            broker
                .check(session, Operation::Read, Resource::Topic(t.name.0.as_str()))
                .err()
        });
        let Some(code) = code else { return true };
        let mut tr = OffsetCommitResponseTopic::default();
        tr.name = t.name.clone();
        tr.partitions = t
            .partitions
            .iter()
            .map(|p| {
                let mut pr = OffsetCommitResponsePartition::default();
                pr.partition_index = p.partition_index;
                pr.error_code = code.code();
                pr
            })
            .collect();
        refused.push((tr, code));
        false
    });
    let info = ReqInfo::of(req);
    let refused: Vec<OffsetCommitResponseTopic> = refused.into_iter().map(|(t, _)| t).collect();
    if r.topics.is_empty() {
        let mut resp = OffsetCommitResponse::default();
        resp.topics = refused;
        return respond(req, &resp);
    }
    let answer = match up.coordinator(&group).await {
        Ok(node) => {
            let conn = session.links().main(up, node, &session.client_id).await?;
            Ok(conn.send(ApiKey::OffsetCommit, req.version, &r)?)
        }
        Err(Error::Refused { code, .. }) => Err(code),
        Err(e) => return Err(e),
    };
    let up = Arc::clone(up);
    Ok(Reply::Later(Box::pin(async move {
        let mut resp = match answer {
            Ok(a) => decode::<OffsetCommitResponse>(ApiKey::OffsetCommit, info.version, a.await)?,
            Err(code) => {
                let mut resp = OffsetCommitResponse::default();
                for t in &r.topics {
                    let mut tr = OffsetCommitResponseTopic::default();
                    tr.name = t.name.clone();
                    for p in &t.partitions {
                        let mut pr = OffsetCommitResponsePartition::default();
                        pr.partition_index = p.partition_index;
                        pr.error_code = code.code();
                        tr.partitions.push(pr);
                    }
                    resp.topics.push(tr);
                }
                resp
            }
        };
        let moved = resp
            .topics
            .iter()
            .flat_map(|t| &t.partitions)
            .any(|p| coordinator_moved(p.error_code));
        if moved {
            up.forget_coordinator(&group);
        }
        resp.topics.extend(refused);
        info.encode(&resp).map(Some)
    })))
}

pub(super) async fn offset_fetch(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: OffsetFetchRequest = decode_body(req)?;
    let group = r.group_id.0.to_string();
    // Before v2 the answer has no group-wide error: it lists nothing.
    let refuse_fetch = |code: ErrorCode| {
        let mut resp = OffsetFetchResponse::default();
        if req.version >= 2 {
            resp.error_code = code.code();
        }
        respond(req, &resp)
    };
    if let Err(code) = broker.check(session, Operation::Describe, Resource::Group(&group)) {
        return refuse_fetch(code);
    }
    let node = match up.coordinator(&group).await {
        Ok(n) => n,
        Err(Error::Refused { code, .. }) => return refuse_fetch(code),
        Err(e) => return Err(e),
    };
    let conn = session.links().main(up, node, &session.client_id).await?;
    let answer = conn.send(ApiKey::OffsetFetch, req.version, &r)?;
    let (info, up) = (ReqInfo::of(req), Arc::clone(up));
    let broker = Arc::clone(broker);
    let principal = session.principal.clone();
    Ok(Reply::Later(Box::pin(async move {
        let mut resp: OffsetFetchResponse =
            decode(ApiKey::OffsetFetch, info.version, answer.await)?;
        let moved = coordinator_moved(resp.error_code)
            || resp
                .topics
                .iter()
                .flat_map(|t| &t.partitions)
                .any(|p| coordinator_moved(p.error_code));
        if moved {
            up.forget_coordinator(&group);
        }
        resp.topics.retain(|t| {
            broker.auth.authorizer.authorize(
                &principal,
                Operation::Describe,
                &Resource::Topic(t.name.0.as_str()),
            )
        });
        info.encode(&resp).map(Some)
    })))
}
