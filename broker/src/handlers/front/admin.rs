//! InitProducerId and topic creation and deletion in front mode. Producer ids come from
//! the cluster (transactional ids are refused, as on a single server). CreateTopics and
//! DeleteTopics go to the cluster's controller with the topics the principal may create
//! or manage; the rest are answered here with the single server's refusal.

use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};
use wire::ErrorCode;

use super::super::producer_id::refuse;
use super::super::{respond, sb, topic_admin, Reply};
use super::{raw_reply, ReqInfo};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::producer_ids::Owner;
use crate::protocol::{decode_body, Request};
use crate::upstream::conn::decode;
use crate::upstream::Upstream;

/// Ids come from the cluster; this server remembers whose each one is (as a single server
/// does for the ids it issues), refuses an epoch bump by anyone but the owner, and
/// [`super::data`] refuses batches that carry someone else's id.
pub(super) async fn init_producer_id(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: InitProducerIdRequest = decode_body(req)?;
    if r.transactional_id.is_some() {
        return refuse(req, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    let who = Owner::of(&session.principal, session.peer);
    if r.producer_id.0 >= 0 && r.producer_epoch >= 0 {
        if let Err(refusal) = broker.producer_ids.check(r.producer_id.0, &who) {
            tracing::info!(peer = %session.peer, principal = %session.principal, pid = r.producer_id.0, "InitProducerId refused: {refusal}");
            return refuse(req, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
    }
    let conn = session
        .links()
        .main(up, up.any_node(), &session.client_id)
        .await?;
    let answer = conn
        .send_raw(req.api_key, req.version, &req.body, true)?
        .ok_or_else(|| Error::Upstream("no answer expected".into()))?;
    let info = ReqInfo::of(req);
    let broker = Arc::clone(broker);
    Ok(Reply::Later(Box::pin(async move {
        let body = answer
            .await
            .map_err(|_| Error::Upstream("connection closed".into()))??;
        let resp: InitProducerIdResponse =
            decode(ApiKey::InitProducerId, info.version, Ok(Ok(body.clone())))?;
        if resp.error_code == 0 && resp.producer_id.0 >= 0 {
            if let Err(e) = broker.producer_ids.record(resp.producer_id.0, who).await {
                tracing::error!(error = %e, "could not record a producer id's owner");
                let mut refused = InitProducerIdResponse::default();
                refused.error_code = ErrorCode::COORDINATOR_NOT_AVAILABLE.code(); // retriable
                refused.producer_id = ProducerId(-1);
                refused.producer_epoch = -1;
                return info.encode(&refused).map(Some);
            }
        }
        raw_reply(&info, &body).map(Some)
    })))
}

pub(super) async fn create_topics(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let mut r: CreateTopicsRequest = decode_body(req)?;
    let mut refused = Vec::new();
    r.topics.retain(|t| {
        let name = t.name.0.as_str();
        let why = if name.starts_with("__") {
            Some((
                ErrorCode::INVALID_TOPIC_EXCEPTION,
                format!("topic names starting with '__' are reserved: {name}"),
            ))
        } else if !broker.authorize(session, Operation::Create, Resource::Topic(name)) {
            let reason = broker
                .auth
                .authorizer
                .denial_reason(
                    &session.principal,
                    Operation::Create,
                    &Resource::Topic(name),
                )
                .unwrap_or_else(|| format!("{} may not create topic {name}", session.principal));
            Some((ErrorCode::TOPIC_AUTHORIZATION_FAILED, reason))
        } else {
            None
        };
        let Some((code, message)) = why else {
            return true;
        };
        let mut res = CreatableTopicResult::default();
        res.name = t.name.clone();
        res.error_code = code.code();
        if req.version >= 1 {
            res.error_message = Some(sb(&message));
        }
        if req.version >= 5 {
            res.num_partitions = -1;
            res.replication_factor = -1;
        }
        refused.push(res);
        false
    });
    let mut resp = if r.topics.is_empty() {
        CreateTopicsResponse::default()
    } else {
        let conn = session
            .links()
            .main(up, up.any_node(), &session.client_id)
            .await?;
        let answer = conn.send(ApiKey::CreateTopics, req.version, &r)?;
        decode(ApiKey::CreateTopics, req.version, answer.await)?
    };
    resp.topics.extend(refused);
    respond(req, &resp)
}

pub(super) async fn delete_topics(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let mut r: DeleteTopicsRequest = decode_body(req)?;
    let mut refused = Vec::new();
    let mut check = |name: &str| match topic_admin::may_manage(
        broker,
        session,
        name,
        Operation::Delete,
        "delete",
    ) {
        Ok(()) => true,
        Err((code, message)) => {
            let mut res = DeletableTopicResult::default();
            res.name = Some(super::super::tn(name));
            res.error_code = code.code();
            if req.version >= 5 {
                res.error_message = Some(sb(&message));
            }
            refused.push(res);
            false
        }
    };
    if req.version >= 6 {
        // Topics named by id only cannot be checked here: they are refused.
        let mut by_id = Vec::new();
        r.topics.retain(|t| match &t.name {
            Some(n) => check(n.0.as_str()),
            None => {
                by_id.push(t.topic_id);
                false
            }
        });
        for id in by_id {
            let mut res = DeletableTopicResult::default();
            res.topic_id = id;
            res.error_code = ErrorCode::UNKNOWN_TOPIC_ID.code();
            refused.push(res);
        }
    } else {
        r.topic_names.retain(|n| check(n.0.as_str()));
    }
    let mut resp = if r.topics.is_empty() && r.topic_names.is_empty() {
        DeleteTopicsResponse::default()
    } else {
        let conn = session
            .links()
            .main(up, up.any_node(), &session.client_id)
            .await?;
        let answer = conn.send(ApiKey::DeleteTopics, req.version, &r)?;
        decode(ApiKey::DeleteTopics, req.version, answer.await)?
    };
    resp.responses.extend(refused);
    respond(req, &resp)
}
