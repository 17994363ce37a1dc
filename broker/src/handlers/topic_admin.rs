//! Who may manage a topic ([`may_manage`]: reserved names, the authorizer, then the
//! recorded creator) and the topic administration APIs besides create/delete:
//! AlterConfigs, IncrementalAlterConfigs, CreatePartitions and DeleteRecords.

use std::collections::BTreeMap;
use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncrementalResult;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};

use super::{respond, sb, Reply};
use crate::auth::{Operation, Principal, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{decode_body, Request};

const RESOURCE_TOPIC: i8 = 2;
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// An error code and the message clients that can show one get.
pub(super) type Refusal = (ErrorCode, String);

/// Whether the session may `op` (`verb` in messages) the topic `name`: never a `__`
/// topic; then the authorizer (with the host's reason when it gives one); then, for a
/// logged-in user, the recorded creator: a topic another user (or the operator, or the
/// server) created is theirs. Topics created anonymously, or before creators were
/// recorded, follow the authorizer alone (`[[auth.acl]]` and the defaults).
pub(super) fn may_manage(
    broker: &Broker,
    session: &Session,
    name: &str,
    op: Operation,
    verb: &str,
) -> Result<(), Refusal> {
    if name.starts_with("__") {
        return Err((
            ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            format!("topic {name} holds the broker's internal state; no client may {verb} it"),
        ));
    }
    let resource = Resource::Topic(name);
    if !broker.authorize(session, op, resource) {
        let reason = broker
            .auth
            .authorizer
            .denial_reason(&session.principal, op, &resource)
            .unwrap_or_else(|| format!("{} may not {verb} topic {name}", session.principal));
        return Err((ErrorCode::TOPIC_AUTHORIZATION_FAILED, reason));
    }
    if let Principal::User(u) = &session.principal {
        if let Some(creator) = broker.logs.creator(name) {
            if creator != "anonymous" && creator != format!("user:{u}") {
                return Err((
                    ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                    format!(
                        "topic {name} was created by {creator}; only its creator or the operator may {verb} it"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The refusal for a non-topic config resource: broker settings live in the config file.
fn broker_resource(broker: &Broker, session: &Session, kind: i8) -> Refusal {
    if broker.authorize(session, Operation::Alter, Resource::Cluster) {
        (
            ErrorCode::INVALID_REQUEST,
            format!("config resource type {kind} cannot be altered here; broker settings come from the config file"),
        )
    } else {
        (
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
            format!("{} may not alter broker settings", session.principal),
        )
    }
}

/// Applies one IncrementalAlterConfigs operation to `overrides`.
fn apply_op(
    overrides: &mut BTreeMap<String, String>,
    name: &str,
    op: i8,
    value: Option<&str>,
) -> Result<(), Refusal> {
    let need = |v: Option<&str>| {
        v.map(str::to_string).ok_or((
            ErrorCode::INVALID_CONFIG,
            format!("config {name} has no value"),
        ))
    };
    match op {
        OP_SET => {
            overrides.insert(name.to_string(), need(value)?);
        }
        OP_DELETE => {
            overrides.remove(name);
        }
        OP_APPEND | OP_SUBTRACT if name == "cleanup.policy" => {
            let v = need(value)?;
            let mut items: Vec<String> = overrides
                .get(name)
                .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
                .unwrap_or_else(|| vec!["delete".to_string()]);
            for part in v.split(',').map(str::trim) {
                if op == OP_APPEND {
                    if !items.iter().any(|x| x == part) {
                        items.push(part.to_string());
                    }
                } else {
                    items.retain(|x| x != part);
                }
            }
            overrides.insert(name.to_string(), items.join(","));
        }
        OP_APPEND | OP_SUBTRACT => {
            return Err((
                ErrorCode::INVALID_CONFIG,
                format!("config {name} is not a list; APPEND and SUBTRACT apply to lists only"),
            ))
        }
        other => {
            return Err((
                ErrorCode::INVALID_REQUEST,
                format!("unknown config operation {other}"),
            ))
        }
    }
    Ok(())
}

/// AlterConfigs: replaces a topic's overrides with the given set.
pub(super) async fn alter_configs(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: AlterConfigsRequest = decode_body(req)?;
    let mut resp = AlterConfigsResponse::default();
    for res in r.resources {
        let name = res.resource_name.to_string();
        let outcome = if res.resource_type != RESOURCE_TOPIC {
            Err(broker_resource(broker, session, res.resource_type))
        } else {
            match may_manage(
                broker,
                session,
                &name,
                Operation::Alter,
                "alter the settings of",
            ) {
                Err(e) => Err(e),
                Ok(()) => {
                    let overrides = res
                        .configs
                        .iter()
                        .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                        .collect();
                    broker
                        .logs
                        .alter_topic_config(&name, overrides, r.validate_only)
                        .await
                        .map(drop)
                        .map_err(|e| (e.code, e.message))
                }
            }
        };
        let mut out = AlterConfigsResourceResponse::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        if let Err((code, message)) = outcome {
            tracing::info!(peer = %session.peer, principal = %session.principal, topic = %name, code = code.code(), %message, "AlterConfigs refused");
            out.error_code = code.code();
            out.error_message = Some(sb(&message));
        }
        resp.responses.push(out);
    }
    respond(req, &resp)
}

/// IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on a topic's overrides.
pub(super) async fn incremental_alter_configs(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: IncrementalAlterConfigsRequest = decode_body(req)?;
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in r.resources {
        let name = res.resource_name.to_string();
        let outcome = if res.resource_type != RESOURCE_TOPIC {
            Err(broker_resource(broker, session, res.resource_type))
        } else {
            match may_manage(
                broker,
                session,
                &name,
                Operation::Alter,
                "alter the settings of",
            ) {
                Err(e) => Err(e),
                Ok(()) => match broker.logs.topic(&name) {
                    None => Err((
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("no topic '{name}'"),
                    )),
                    Some(topic) => {
                        let mut overrides = topic.overrides.clone();
                        let applied = res.configs.iter().try_for_each(|c| {
                            apply_op(
                                &mut overrides,
                                c.name.as_str(),
                                c.config_operation,
                                c.value.as_ref().map(|v| v.as_str()),
                            )
                        });
                        match applied {
                            Err(e) => Err(e),
                            Ok(()) => broker
                                .logs
                                .alter_topic_config(&name, overrides, r.validate_only)
                                .await
                                .map(drop)
                                .map_err(|e| (e.code, e.message)),
                        }
                    }
                },
            }
        };
        let mut out = IncrementalResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name;
        if let Err((code, message)) = outcome {
            tracing::info!(peer = %session.peer, principal = %session.principal, topic = %name, code = code.code(), %message, "IncrementalAlterConfigs refused");
            out.error_code = code.code();
            out.error_message = Some(sb(&message));
        }
        resp.responses.push(out);
    }
    respond(req, &resp)
}

/// CreatePartitions: grows a topic (ALTER on the topic, as in Kafka).
pub(super) async fn create_partitions(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: CreatePartitionsRequest = decode_body(req)?;
    let mut resp = CreatePartitionsResponse::default();
    for t in r.topics {
        let name = t.name.0.to_string();
        let outcome = match may_manage(
            broker,
            session,
            &name,
            Operation::Alter,
            "add partitions to",
        ) {
            Err(e) => Err(e),
            Ok(()) if t.assignments.as_ref().is_some_and(|a| !a.is_empty()) => Err((
                ErrorCode::INVALID_REQUEST,
                "manual replica assignment is not supported".to_string(),
            )),
            Ok(()) => broker
                .logs
                .add_partitions(&name, t.count, r.validate_only)
                .await
                .map(drop)
                .map_err(|e| (e.code, e.message)),
        };
        let mut out = CreatePartitionsTopicResult::default();
        out.name = t.name;
        if let Err((code, message)) = outcome {
            tracing::info!(peer = %session.peer, principal = %session.principal, topic = %name, code = code.code(), %message, "CreatePartitions refused");
            out.error_code = code.code();
            out.error_message = Some(sb(&message));
        }
        resp.results.push(out);
    }
    respond(req, &resp)
}

/// DeleteRecords: refused for topics the session may not manage; for the others, moving
/// the log start is not supported yet and is answered with INVALID_REQUEST (the response
/// has no message field, so the reason is logged).
pub(super) async fn delete_records(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: DeleteRecordsRequest = decode_body(req)?;
    let mut resp = DeleteRecordsResponse::default();
    for t in r.topics {
        let name = t.name.0.to_string();
        let allowed = may_manage(
            broker,
            session,
            &name,
            Operation::Delete,
            "delete records of",
        );
        let mut out = DeleteRecordsTopicResult::default();
        out.name = t.name;
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            let outcome = match &allowed {
                Err(e) => Err(e.clone()),
                Ok(()) => match broker.logs.partition(&name, p.partition_index) {
                    None => Err((
                        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("no partition {name}-{}", p.partition_index),
                    )),
                    Some(log) => log
                        .delete_records_before(p.offset)
                        .map_err(|rej| (rej.code, rej.message)),
                },
            };
            match outcome {
                Ok(low) => pr.low_watermark = low,
                Err((code, message)) => {
                    tracing::info!(peer = %session.peer, principal = %session.principal, topic = %name, code = code.code(), %message, "DeleteRecords refused");
                    pr.error_code = code.code();
                }
            }
            out.partitions.push(pr);
        }
        resp.topics.push(out);
    }
    respond(req, &resp)
}
