//! ApiVersions (with the fallback for clients newer than us) and Metadata (with topic
//! auto-creation).

use std::sync::Arc;
use wire::ErrorCode;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, MetadataRequest, MetadataResponse,
};

use super::{respond, sb, tn, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::log::manager::validate_topic_name;
use crate::log::Topic;
use crate::protocol::{self, decode_body, Request, SUPPORTED};

fn versions_body(error_code: ErrorCode) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = error_code.code();
    resp.api_keys = SUPPORTED
        .iter()
        .map(|(k, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = protocol::advertised_min(*k, *lo);
            v.max_version = *hi;
            v
        })
        .collect();
    resp
}

/// ApiVersions at a version we speak.
pub(super) fn api_versions(req: &Request) -> Result<Reply> {
    respond(req, &versions_body(ErrorCode::NONE))
}

/// The answer to an ApiVersions request newer than ours: a v0 body with UNSUPPORTED_VERSION.
pub fn api_versions_fallback(correlation_id: i32) -> Result<Bytes> {
    protocol::encode_response(
        correlation_id,
        ApiKey::ApiVersions,
        0,
        &versions_body(ErrorCode::UNSUPPORTED_VERSION),
    )
}

pub(super) fn topic_entry(topic: &Topic, version: i16) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(tn(&topic.name));
    if version >= 10 {
        t.topic_id = uuid::Uuid::from_u128(topic.id);
    }
    t.partitions = topic
        .partitions
        .iter()
        .map(|p| {
            let mut mp = MetadataResponsePartition::default();
            mp.partition_index = p.index;
            mp.leader_id = BrokerId(0);
            if version >= 7 {
                mp.leader_epoch = 0;
            }
            mp.replica_nodes = vec![BrokerId(0)];
            mp.isr_nodes = vec![BrokerId(0)];
            mp
        })
        .collect();
    t
}

fn error_entry(name: Option<&str>, code: ErrorCode) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = name.map(tn);
    t.error_code = code.code();
    t
}

/// Metadata: the one broker and the requested (or all) topics.
pub(super) async fn metadata(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let may_see =
        |name: &str| broker.authorize(session, Operation::Describe, Resource::Topic(name));
    let r: MetadataRequest = decode_body(req)?;
    let mut resp = MetadataResponse::default();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(broker.node_id);
    b.host = sb(&broker.advertised.0);
    b.port = broker.advertised.1;
    resp.brokers = vec![b];
    if req.version >= 2 {
        resp.cluster_id = Some(sb(&broker.cluster_id));
    }
    if req.version >= 1 {
        resp.controller_id = BrokerId(broker.node_id);
    }
    // v0 uses an empty list for "all topics"; later versions use null.
    let requested = match r.topics {
        None => None,
        Some(list) if list.is_empty() && req.version == 0 => None,
        Some(list) => Some(list),
    };
    let allow_create =
        broker.config.auto_create_topics && (req.version < 4 || r.allow_auto_topic_creation);
    match requested {
        None => {
            resp.topics = broker
                .logs
                .topics()
                .iter()
                .filter(|t| may_see(&t.name))
                .map(|t| topic_entry(t, req.version))
                .collect();
        }
        Some(list) => {
            for wanted in list {
                let name = match &wanted.name {
                    Some(n) => n.0.to_string(),
                    None => {
                        let id = wanted.topic_id.as_u128();
                        let found = broker.logs.topics().into_iter().find(|t| t.id == id);
                        match found.filter(|t| may_see(&t.name)) {
                            Some(t) => {
                                resp.topics.push(topic_entry(&t, req.version));
                                continue;
                            }
                            None => {
                                let mut e = error_entry(None, ErrorCode::UNKNOWN_TOPIC_ID);
                                e.topic_id = wanted.topic_id;
                                resp.topics.push(e);
                                continue;
                            }
                        }
                    }
                };
                if !may_see(&name) {
                    resp.topics.push(error_entry(
                        Some(&name),
                        ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                    ));
                    continue;
                }
                let entry = match broker.logs.topic(&name) {
                    Some(t) => topic_entry(&t, req.version),
                    None => {
                        if let Err(e) = validate_topic_name(&name) {
                            error_entry(Some(&name), e.code)
                        } else if allow_create
                            && !name.starts_with("__")
                            && broker.authorize(session, Operation::Create, Resource::Topic(&name))
                        {
                            match broker
                                .logs
                                .create_topic_as(
                                    &name,
                                    broker.config.default_partitions,
                                    Default::default(),
                                    false,
                                    Some(&session.principal.to_string()),
                                )
                                .await
                            {
                                Ok(t) => topic_entry(&t, req.version),
                                Err(e) if e.code == ErrorCode::TOPIC_ALREADY_EXISTS => {
                                    match broker.logs.topic(&name) {
                                        Some(t) => topic_entry(&t, req.version),
                                        None => error_entry(
                                            Some(&name),
                                            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                                        ),
                                    }
                                }
                                Err(e) => error_entry(Some(&name), e.code),
                            }
                        } else {
                            error_entry(Some(&name), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
                        }
                    }
                };
                resp.topics.push(entry);
            }
        }
    }
    respond(req, &resp)
}
