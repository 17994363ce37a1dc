//! Group administration on the wire: ListGroups, DescribeGroups and DeleteGroups.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    GroupId, ListGroupsRequest, ListGroupsResponse,
};

use super::{respond, sb, Reply};
use crate::auth::{Operation, Principal, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{decode_body, encode_response, Request};
use wire::ErrorCode;

/// The only group type this coordinator runs (KIP-848 groups are "consumer").
const GROUP_TYPE: &str = "classic";

pub(super) fn list_groups(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: ListGroupsRequest = decode_body(req)?;
    let mut resp = ListGroupsResponse::default();
    let type_ok = r.types_filter.is_empty()
        || r.types_filter
            .iter()
            .any(|t| t.as_str().eq_ignore_ascii_case(GROUP_TYPE));
    for g in broker.groups.list() {
        let state_ok = r.states_filter.is_empty()
            || r.states_filter
                .iter()
                .any(|s| s.as_str().eq_ignore_ascii_case(g.state));
        if !(state_ok
            && type_ok
            && broker
                .auth
                .authorizer
                .may_list_group(&session.principal, &g.group_id))
        {
            continue;
        }
        let mut l = ListedGroup::default();
        l.group_id = GroupId(sb(&g.group_id));
        l.protocol_type = sb(&g.protocol_type);
        if req.version >= 4 {
            l.group_state = sb(g.state);
        }
        if req.version >= 5 {
            l.group_type = sb(GROUP_TYPE);
        }
        resp.groups.push(l);
    }
    respond(req, &resp)
}

pub(super) fn describe_groups(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DescribeGroupsRequest = decode_body(req)?;
    let mut resp = DescribeGroupsResponse::default();
    for id in r.groups {
        let mut d = DescribedGroup::default();
        d.group_id = id.clone();
        if let Err(code) =
            broker.check(session, Operation::Describe, Resource::Group(id.0.as_str()))
        {
            d.error_code = code.code();
            resp.groups.push(d);
            continue;
        }
        match broker.groups.describe(id.0.as_str()) {
            None => {
                d.group_state = sb("Dead");
                if req.version >= 6 {
                    d.error_code = ErrorCode::GROUP_ID_NOT_FOUND.code();
                    d.error_message = Some(sb("no such group"));
                }
            }
            Some(g) => {
                d.group_state = sb(g.state);
                d.protocol_type = sb(&g.protocol_type);
                d.protocol_data = sb(&g.protocol);
                d.members = g
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut dm = DescribedGroupMember::default();
                        dm.member_id = sb(&m.member_id);
                        if req.version >= 4 {
                            dm.group_instance_id = m.instance_id.as_deref().map(sb);
                        }
                        dm.client_id = sb(&m.client_id);
                        // A member's address is shown only to the principal that joined
                        // it and to the operator (anonymous members are nobody's).
                        let own = match &session.principal {
                            Principal::Operator => true,
                            Principal::User(u) => m.principal.user() == Some(u.as_str()),
                            Principal::Anonymous => false,
                        };
                        dm.client_host = if own { sb(&m.client_host) } else { sb("") };
                        dm.member_metadata = m.metadata;
                        dm.member_assignment = m.assignment;
                        dm
                    })
                    .collect();
            }
        }
        resp.groups.push(d);
    }
    respond(req, &resp)
}

pub(super) fn delete_groups(
    broker: &Arc<Broker>,
    session: &Session,
    req: Request,
) -> Result<Reply> {
    let r: DeleteGroupsRequest = decode_body(&req)?;
    let started: Vec<_> = r
        .groups_names
        .into_iter()
        .map(|id| {
            let outcome = if id.0.is_empty() {
                Err(ErrorCode::INVALID_GROUP_ID)
            } else if let Err(code) =
                broker.check(session, Operation::Delete, Resource::Group(id.0.as_str()))
            {
                Err(code)
            } else {
                broker.groups.delete(id.0.as_str())
            };
            (id, outcome)
        })
        .collect();
    Ok(Reply::Later(Box::pin(async move {
        let mut resp = DeleteGroupsResponse::default();
        for (id, outcome) in started {
            let mut res = DeletableGroupResult::default();
            res.error_code = match outcome {
                Ok(wait) => wait.durable().await.err().unwrap_or(ErrorCode::NONE),
                Err(code) => code,
            }
            .code();
            res.group_id = id;
            resp.results.push(res);
        }
        encode_response(req.header.correlation_id, req.api_key, req.version, &resp).map(Some)
    })))
}
