//! Group membership on the wire: FindCoordinator, JoinGroup, SyncGroup, Heartbeat and
//! LeaveGroup. JoinGroup and SyncGroup park until the rebalance gets that far, so they
//! answer with [`Reply::Later`] and the connection keeps reading meanwhile.

use std::sync::Arc;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest,
    SyncGroupResponse,
};

use super::{respond, sb, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::group::{JoinRequest, JoinResult, SyncResult};
use crate::protocol::{decode_body, encode_response, Request};
use wire::ErrorCode;

/// FindCoordinator key type of transactional ids (we have no transaction coordinator).
const KEY_TYPE_TRANSACTION: i8 = 1;

pub(super) fn find_coordinator(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: FindCoordinatorRequest = decode_body(req)?;
    let mut resp = FindCoordinatorResponse::default();
    if r.key_type != KEY_TYPE_TRANSACTION
        && !broker.authorize(
            session,
            Operation::Describe,
            Resource::Group(r.key.as_str()),
        )
    {
        resp.error_code = Resource::Group("").denied_code().code();
        resp.node_id = BrokerId(-1);
        resp.port = -1;
        return respond(req, &resp);
    }
    if r.key_type == KEY_TYPE_TRANSACTION {
        resp.error_code = ErrorCode::COORDINATOR_NOT_AVAILABLE.code();
        resp.node_id = BrokerId(-1);
        resp.port = -1;
        if req.version >= 1 {
            resp.error_message = Some(sb("transactions are not supported"));
        }
        return respond(req, &resp);
    }
    resp.node_id = BrokerId(broker.node_id);
    resp.host = sb(&broker.advertised.0);
    resp.port = broker.advertised.1;
    if req.version >= 1 {
        resp.error_message = None;
    }
    respond(req, &resp)
}

pub(super) fn join_group(broker: &Arc<Broker>, session: &Session, req: Request) -> Result<Reply> {
    let r: JoinGroupRequest = decode_body(&req)?;
    let group_id = r.group_id.0.to_string();
    let member_id = r.member_id.to_string();
    if group_id.is_empty() {
        return respond(
            &req,
            &join_response(
                JoinResult::error(ErrorCode::INVALID_GROUP_ID, &member_id),
                req.version,
            ),
        );
    }
    if let Err(code) = broker.check(session, Operation::Read, Resource::Group(&group_id)) {
        return respond(
            &req,
            &join_response(JoinResult::error(code, &member_id), req.version),
        );
    }
    let rx = broker.groups.join(JoinRequest {
        group_id,
        member_id: member_id.clone(),
        instance_id: r.group_instance_id.map(|s| s.to_string()),
        client_id: session.client_id.clone(),
        client_host: format!("/{}", session.peer.ip()),
        principal: session.principal.clone(),
        session_timeout_ms: r.session_timeout_ms,
        rebalance_timeout_ms: if req.version >= 1 {
            r.rebalance_timeout_ms
        } else {
            r.session_timeout_ms
        },
        protocol_type: r.protocol_type.to_string(),
        protocols: r
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
    });
    Ok(Reply::Later(Box::pin(async move {
        let result = rx.await.unwrap_or_else(|_| {
            JoinResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE, &member_id)
        });
        let resp = join_response(result, req.version);
        encode_response(req.header.correlation_id, req.api_key, req.version, &resp).map(Some)
    })))
}

fn join_response(r: JoinResult, version: i16) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default();
    resp.error_code = r.error.code();
    resp.generation_id = r.generation;
    if version >= 7 {
        resp.protocol_type = r.protocol_type.as_deref().map(sb);
        resp.protocol_name = r.protocol_name.as_deref().map(sb);
    } else {
        resp.protocol_name = Some(sb(r.protocol_name.as_deref().unwrap_or("")));
    }
    resp.leader = sb(&r.leader);
    resp.member_id = sb(&r.member_id);
    resp.members = r
        .members
        .into_iter()
        .map(|m| {
            let mut jm = JoinGroupResponseMember::default();
            jm.member_id = sb(&m.member_id);
            if version >= 5 {
                jm.group_instance_id = m.instance_id.as_deref().map(sb);
            }
            jm.metadata = m.metadata;
            jm
        })
        .collect();
    resp
}

pub(super) fn sync_group(broker: &Arc<Broker>, session: &Session, req: Request) -> Result<Reply> {
    let r: SyncGroupRequest = decode_body(&req)?;
    let group_id = r.group_id.0.to_string();
    let denied = broker
        .check(session, Operation::Read, Resource::Group(&group_id))
        .err();
    let rx = if group_id.is_empty() || denied.is_some() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let _ = tx.send(SyncResult::error(
            denied.unwrap_or(ErrorCode::INVALID_GROUP_ID),
        ));
        rx
    } else {
        broker.groups.sync(
            &group_id,
            r.member_id.as_str(),
            r.group_instance_id.as_ref().map(|s| s.as_str()),
            r.generation_id,
            r.protocol_type.as_ref().map(|s| s.as_str()),
            r.protocol_name.as_ref().map(|s| s.as_str()),
            r.assignments
                .into_iter()
                .map(|a| (a.member_id.to_string(), a.assignment))
                .collect(),
        )
    };
    Ok(Reply::Later(Box::pin(async move {
        let result = rx
            .await
            .unwrap_or_else(|_| SyncResult::error(ErrorCode::COORDINATOR_NOT_AVAILABLE));
        let mut resp = SyncGroupResponse::default();
        resp.error_code = result.error.code();
        if req.version >= 5 {
            resp.protocol_type = result.protocol_type.as_deref().map(sb);
            resp.protocol_name = result.protocol_name.as_deref().map(sb);
        }
        resp.assignment = result.assignment;
        encode_response(req.header.correlation_id, req.api_key, req.version, &resp).map(Some)
    })))
}

pub(super) fn heartbeat(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: HeartbeatRequest = decode_body(req)?;
    let mut resp = HeartbeatResponse::default();
    let denied = broker
        .check(
            session,
            Operation::Read,
            Resource::Group(r.group_id.0.as_str()),
        )
        .err();
    let code = if r.group_id.0.is_empty() {
        ErrorCode::INVALID_GROUP_ID
    } else if let Some(code) = denied {
        code
    } else {
        broker.groups.heartbeat(
            r.group_id.0.as_str(),
            r.member_id.as_str(),
            r.group_instance_id.as_ref().map(|s| s.as_str()),
            r.generation_id,
        )
    };
    resp.error_code = code.code();
    respond(req, &resp)
}

pub(super) fn leave_group(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: LeaveGroupRequest = decode_body(req)?;
    let members: Vec<(String, Option<String>)> = if req.version >= 3 {
        r.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(r.member_id.to_string(), None)]
    };
    let mut resp = LeaveGroupResponse::default();
    if r.group_id.0.is_empty() {
        resp.error_code = ErrorCode::INVALID_GROUP_ID.code();
        return respond(req, &resp);
    }
    if let Err(code) = broker.check(
        session,
        Operation::Read,
        Resource::Group(r.group_id.0.as_str()),
    ) {
        resp.error_code = code.code();
        return respond(req, &resp);
    }
    let codes = broker.groups.leave(r.group_id.0.as_str(), &members);
    if req.version >= 3 {
        resp.members = members
            .into_iter()
            .zip(&codes)
            .map(|((id, inst), code)| {
                let mut m = MemberResponse::default();
                m.member_id = sb(&id);
                m.group_instance_id = inst.as_deref().map(sb);
                m.error_code = code.code();
                m
            })
            .collect();
    } else {
        resp.error_code = codes.first().copied().unwrap_or(ErrorCode::NONE).code();
    }
    respond(req, &resp)
}
