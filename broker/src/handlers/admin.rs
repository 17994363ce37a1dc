//! Administration: CreateTopics, DeleteTopics, DescribeConfigs.

use std::collections::BTreeMap;
use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse,
};

use super::{respond, sb, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::log::topic_config::NAMES;
use crate::protocol::{decode_body, Request};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;

pub(super) async fn create_topics(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: CreateTopicsRequest = decode_body(req)?;
    let mut resp = CreateTopicsResponse::default();
    for t in r.topics {
        let name = t.name.0.to_string();
        let mut res = CreatableTopicResult::default();
        res.name = t.name.clone();
        let partitions = if t.num_partitions == -1 {
            broker.config.default_partitions
        } else {
            t.num_partitions
        };
        let mut overrides = BTreeMap::new();
        let mut bad_config = None;
        for c in &t.configs {
            match &c.value {
                Some(v) => {
                    overrides.insert(c.name.to_string(), v.to_string());
                }
                None => bad_config = Some(format!("config {} has no value", c.name.as_str())),
            }
        }
        let outcome = if name.starts_with("__") {
            Err((
                ErrorCode::INVALID_TOPIC_EXCEPTION,
                format!("topic names starting with '__' are reserved: {name}"),
            ))
        } else if !broker.authorize(session, Operation::Create, Resource::Topic(&name)) {
            let resource = Resource::Topic(&name);
            Err((
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                broker
                    .auth
                    .authorizer
                    .denial_reason(&session.principal, Operation::Create, &resource)
                    .unwrap_or_else(|| {
                        format!("{} may not create topic {name}", session.principal)
                    }),
            ))
        } else if !(t.replication_factor == -1 || t.replication_factor == 1) {
            Err((
                ErrorCode::INVALID_REPLICATION_FACTOR,
                format!(
                    "replication factor {} is more than the 1 broker",
                    t.replication_factor
                ),
            ))
        } else if !t.assignments.is_empty() {
            Err((
                ErrorCode::INVALID_REQUEST,
                "manual replica assignment is not supported".to_string(),
            ))
        } else if let Some(msg) = bad_config {
            Err((ErrorCode::INVALID_CONFIG, msg))
        } else {
            broker
                .logs
                .create_topic_as(
                    &name,
                    partitions,
                    overrides,
                    r.validate_only,
                    Some(&session.principal.to_string()),
                )
                .await
                .map_err(|e| (e.code, e.message))
        };
        match outcome {
            Ok(topic) => {
                if req.version >= 7 {
                    res.topic_id = uuid::Uuid::from_u128(topic.id);
                }
                if req.version >= 5 {
                    res.num_partitions = partitions;
                    res.replication_factor = 1;
                    let cfg = topic.config();
                    res.configs = Some(
                        NAMES
                            .iter()
                            .map(|n| {
                                let mut c = CreatableTopicConfigs::default();
                                c.name = sb(n);
                                c.value = cfg.get(n).map(|v| sb(&v));
                                c.config_source = if topic.overrides.contains_key(*n) {
                                    SOURCE_TOPIC
                                } else {
                                    SOURCE_DEFAULT
                                };
                                c
                            })
                            .collect(),
                    );
                }
            }
            Err((code, message)) => {
                res.error_code = code.code();
                if req.version >= 1 {
                    res.error_message = Some(sb(&message));
                }
                if req.version >= 5 {
                    res.num_partitions = -1;
                    res.replication_factor = -1;
                }
            }
        }
        resp.topics.push(res);
    }
    respond(req, &resp)
}

pub(super) async fn delete_topics(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DeleteTopicsRequest = decode_body(req)?;
    let mut names: Vec<(Option<String>, uuid::Uuid)> = r
        .topic_names
        .iter()
        .map(|n| (Some(n.0.to_string()), uuid::Uuid::nil()))
        .collect();
    for t in &r.topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).or_else(|| {
            let id = t.topic_id.as_u128();
            broker
                .logs
                .topics()
                .into_iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
        });
        names.push((name, t.topic_id));
    }
    let mut resp = DeleteTopicsResponse::default();
    for (name, id) in names {
        let mut res = DeletableTopicResult::default();
        res.name = name.as_deref().map(super::tn);
        if req.version >= 6 {
            res.topic_id = id;
        }
        let outcome = match &name {
            None => Err((ErrorCode::UNKNOWN_TOPIC_ID, "unknown topic id".to_string())),
            Some(n) => match super::topic_admin::may_manage(
                broker,
                session,
                n,
                Operation::Delete,
                "delete",
            ) {
                Err(e) => Err(e),
                Ok(()) => broker
                    .logs
                    .delete_topic(n)
                    .await
                    .map_err(|e| (e.code, e.message)),
            },
        };
        if let Err((code, msg)) = outcome {
            res.error_code = code.code();
            if req.version >= 5 {
                res.error_message = Some(sb(&msg));
            }
        }
        resp.responses.push(res);
    }
    respond(req, &resp)
}

fn config_entry(
    name: &str,
    value: String,
    source: i8,
    version: i16,
) -> DescribeConfigsResourceResult {
    let mut c = DescribeConfigsResourceResult::default();
    c.name = sb(name);
    c.value = Some(sb(&value));
    if version == 0 {
        c.config_source = if source == SOURCE_DEFAULT {
            SOURCE_DEFAULT
        } else {
            -1
        };
    } else {
        c.config_source = source;
    }
    c
}

pub(super) fn describe_configs(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DescribeConfigsRequest = decode_body(req)?;
    let mut resp = DescribeConfigsResponse::default();
    for res in r.resources {
        let mut out = DescribeConfigsResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let wanted = |n: &str| {
            res.configuration_keys
                .as_ref()
                .is_none_or(|keys| keys.is_empty() || keys.iter().any(|k| k.as_str() == n))
        };
        let resource = match res.resource_type {
            RESOURCE_TOPIC => Resource::Topic(res.resource_name.as_str()),
            _ => Resource::Cluster,
        };
        if !broker.authorize(session, Operation::Describe, resource) {
            out.error_code = resource.denied_code().code();
            out.error_message = Some(sb("not authorized"));
            resp.results.push(out);
            continue;
        }
        match res.resource_type {
            RESOURCE_TOPIC => match broker.logs.topic(res.resource_name.as_str()) {
                None => {
                    out.error_code = ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code();
                    out.error_message = Some(sb("unknown topic"));
                }
                Some(topic) => {
                    let cfg = topic.config();
                    for n in NAMES.iter().filter(|n| wanted(n)) {
                        let source = if topic.overrides.contains_key(*n) {
                            SOURCE_TOPIC
                        } else {
                            SOURCE_DEFAULT
                        };
                        if let Some(v) = cfg.get(n) {
                            out.configs.push(config_entry(n, v, source, req.version));
                        }
                    }
                }
            },
            RESOURCE_BROKER => {
                let c = &broker.config;
                let entries = [
                    (
                        "auto.create.topics.enable",
                        c.auto_create_topics.to_string(),
                    ),
                    ("num.partitions", c.default_partitions.to_string()),
                    ("socket.request.max.bytes", c.max_request_bytes.to_string()),
                    (
                        "connections.max.idle.ms",
                        (c.idle_timeout_secs * 1000).to_string(),
                    ),
                    ("log.flush.policy", c.flush.clone()),
                ];
                for (n, v) in entries.into_iter().filter(|(n, _)| wanted(n)) {
                    out.configs
                        .push(config_entry(n, v, SOURCE_STATIC_BROKER, req.version));
                }
            }
            other => {
                out.error_code = ErrorCode::INVALID_REQUEST.code();
                out.error_message = Some(sb(&format!("resource type {other} has no configs here")));
            }
        }
        resp.results.push(out);
    }
    respond(req, &resp)
}
