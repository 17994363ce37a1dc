//! ListGroups, DescribeGroups and DeleteGroups in front mode. ListGroups asks every
//! upstream node the front knows of and lists only the groups the principal may list
//! (the authorizer's `may_list_group`, as on a single server). DescribeGroups (DESCRIBE)
//! and DeleteGroups (DELETE) send each allowed group to its coordinator and answer the
//! others with GROUP_AUTHORIZATION_FAILED without asking the cluster.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{
    ApiKey, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, GroupId, ListGroupsRequest, ListGroupsResponse,
};
use wire::ErrorCode;

use super::super::{respond, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::{decode_body, Request};
use crate::upstream::conn::decode;
use crate::upstream::Upstream;

pub(super) async fn list_groups(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: ListGroupsRequest = decode_body(req)?;
    let mut resp = ListGroupsResponse::default();
    for node in up.node_ids() {
        let conn = session.links().main(up, node, &session.client_id).await?;
        let part: ListGroupsResponse = conn.call(ApiKey::ListGroups, req.version, &r).await?;
        if part.error_code != 0 && resp.error_code == 0 {
            resp.error_code = part.error_code;
        }
        resp.groups.extend(part.groups.into_iter().filter(|g| {
            !crate::upstream::reserved(g.group_id.0.as_str())
                && broker
                    .auth
                    .authorizer
                    .may_list_group(&session.principal, g.group_id.0.as_str())
        }));
    }
    respond(req, &resp)
}

/// Sends one group's request to its coordinator: the answer, or the code to answer with.
async fn ask_coordinator<Req, Resp>(
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
    group: &str,
    one: &Req,
) -> Result<std::result::Result<Resp, ErrorCode>>
where
    Req: kafka_protocol::protocol::Encodable,
    Resp: kafka_protocol::protocol::Decodable,
{
    let node = match up.coordinator(group).await {
        Ok(n) => n,
        Err(Error::Refused { code, .. }) => return Ok(Err(code)),
        Err(e) => return Err(e),
    };
    let conn = session.links().main(up, node, &session.client_id).await?;
    let answer = conn.send(req.api_key, req.version, one)?;
    Ok(Ok(decode(req.api_key, req.version, answer.await)?))
}

pub(super) async fn describe_groups(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DescribeGroupsRequest = decode_body(req)?;
    let mut resp = DescribeGroupsResponse::default();
    for id in &r.groups {
        let group = id.0.as_str();
        let refused = |code: ErrorCode| {
            let mut g = DescribedGroup::default();
            g.group_id = id.clone();
            g.error_code = code.code();
            g
        };
        if let Err(code) = broker.check(session, Operation::Describe, Resource::Group(group)) {
            resp.groups.push(refused(code));
            continue;
        }
        let mut one = r.clone();
        one.groups = vec![id.clone()];
        match ask_coordinator::<_, DescribeGroupsResponse>(up, session, req, group, &one).await? {
            Ok(answer) => {
                if answer
                    .groups
                    .iter()
                    .any(|g| g.error_code == ErrorCode::NOT_COORDINATOR.code())
                {
                    up.forget_coordinator(group);
                }
                resp.groups.extend(answer.groups);
            }
            Err(code) => resp.groups.push(refused(code)),
        }
    }
    respond(req, &resp)
}

pub(super) async fn delete_groups(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DeleteGroupsRequest = decode_body(req)?;
    let mut resp = DeleteGroupsResponse::default();
    for id in &r.groups_names {
        let group = id.0.as_str();
        let refused = |code: ErrorCode| {
            let mut g = DeletableGroupResult::default();
            g.group_id = GroupId(id.0.clone());
            g.error_code = code.code();
            g
        };
        if let Err(code) = broker.check(session, Operation::Delete, Resource::Group(group)) {
            resp.results.push(refused(code));
            continue;
        }
        let mut one = r.clone();
        one.groups_names = vec![id.clone()];
        match ask_coordinator::<_, DeleteGroupsResponse>(up, session, req, group, &one).await? {
            Ok(answer) => {
                if answer
                    .results
                    .iter()
                    .any(|g| g.error_code == ErrorCode::NOT_COORDINATOR.code())
                {
                    up.forget_coordinator(group);
                }
                resp.results.extend(answer.results);
            }
            Err(code) => resp.results.push(refused(code)),
        }
    }
    respond(req, &resp)
}
