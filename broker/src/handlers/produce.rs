//! Produce: validate and append each partition's batches in request order, then answer once
//! they are durable (acks=1/all) or not at all (acks=0).

use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use std::borrow::Cow;

use super::{sb, Reply};
use crate::auth::{policy, Operation, Resource, Verdict};
use crate::broker::{Broker, Checked, Session};
use crate::error::{Error, Result};
use crate::log::manager::validate_topic_name;
use crate::log::Partition;
use crate::protocol::{self, decode_body, Request};

struct Wait {
    topic: usize,
    partition: usize,
    log: Arc<Partition>,
    end_offset: i64,
    failures: u64,
}

/// Looks a topic up, creating it when auto-creation is on.
pub(super) async fn topic_or_create(
    broker: &Arc<Broker>,
    session: &Session,
    name: &str,
) -> Result<Arc<crate::log::Topic>, ErrorCode> {
    if let Some(t) = broker.logs.topic(name) {
        return Ok(t);
    }
    validate_topic_name(name).map_err(|e| e.code)?;
    if !broker.config.auto_create_topics
        || name.starts_with("__")
        || !broker.authorize(session, Operation::Create, Resource::Topic(name))
    {
        return Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    }
    match broker
        .logs
        .create_topic_as(
            name,
            broker.config.default_partitions,
            Default::default(),
            false,
            Some(&session.principal.to_string()),
        )
        .await
    {
        Ok(t) => Ok(t),
        Err(_) => broker
            .logs
            .topic(name)
            .ok_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
    }
}

/// Creates the topics a host's policy said accepted records imply (one partition, the
/// host's settings, `server` as creator), so they exist once the produce is answered.
async fn create_implied(broker: &Broker, implied: Vec<String>) {
    for name in implied {
        if broker.logs.topic(&name).is_some() {
            continue;
        }
        match broker
            .logs
            .create_topic_as(&name, 1, Default::default(), false, Some("server"))
            .await
        {
            Ok(_) => tracing::info!(topic = %name, "created a topic the host's records imply"),
            Err(e) if e.code == ErrorCode::TOPIC_ALREADY_EXISTS => {}
            Err(e) => {
                tracing::error!(topic = %name, code = e.code.code(), error = %e.message, "could not create an implied topic")
            }
        }
    }
}

/// A produce's records as the policy sees them, with each original batch's shape.
type Decoded = (Vec<policy::PolicyRecord>, Vec<policy::Shape>);

/// The policy's cheap checks and the bounded decode, done before the policy lock is
/// taken: a refused principal costs no decompression, and a bomb is refused (MESSAGE_TOO_LARGE)
/// without holding up anyone else's produce.
fn decode_for_policy(
    policy: &dyn policy::RecordPolicy,
    session: &Session,
    topic: &str,
    records: &[u8],
    max_message_bytes: usize,
) -> Result<Decoded, (ErrorCode, Option<String>)> {
    if let Some(Verdict::Reject { code, message }) = policy.admits(&session.principal, topic) {
        tracing::info!(peer = %session.peer, principal = %session.principal, topic, code = code.code(), %message, "records refused before decoding");
        return Err((code, Some(message)));
    }
    let limit = crate::record::bounded::limit_for(max_message_bytes);
    policy::decode(records, limit).map_err(|e| match e {
        Error::Refused { code, message } => {
            tracing::info!(peer = %session.peer, principal = %session.principal, topic, code = code.code(), %message, "records refused while decoding");
            (code, Some(message))
        }
        e => (ErrorCode::CORRUPT_MESSAGE, Some(e.to_string())),
    })
}

/// Runs the host's record policy on one partition's records: the bytes to append, or the
/// error code and message to answer.
fn apply_policy<'a>(
    policy: &dyn policy::RecordPolicy,
    session: &Session,
    topic: &str,
    partition: i32,
    records: &'a [u8],
    (decoded, shapes): Decoded,
) -> Result<Checked<'a>, (ErrorCode, Option<String>)> {
    match policy.check(&session.principal, topic, partition, &decoded) {
        Verdict::Accept => Ok((Cow::Borrowed(records), decoded)),
        Verdict::Reject { code, message } => {
            tracing::info!(peer = %session.peer, principal = %session.principal, topic, partition, code = code.code(), %message, "records rejected by policy");
            Err((code, Some(message)))
        }
        Verdict::Replace(replacement) => match policy::encode(&replacement, &shapes) {
            Ok(bytes) => Ok((Cow::Owned(bytes.to_vec()), replacement)),
            Err(Error::Refused { code, message }) => Err((code, Some(message))),
            Err(e) => Err((ErrorCode::CORRUPT_MESSAGE, Some(e.to_string()))),
        },
    }
}

pub(super) async fn produce(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: ProduceRequest = decode_body(req)?;
    broker
        .logs
        .produce_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let version = req.version;
    let relaxed = broker.logs.flusher.relaxed();
    let mut resp = ProduceResponse::default();
    let mut waits = Vec::new();
    // Topics the host's policy wants created because of accepted records.
    let mut implied: Vec<String> = Vec::new();
    for (ti, td) in r.topic_data.into_iter().enumerate() {
        let name = td.name.0.to_string();
        let topic = if broker.authorize(session, Operation::Write, Resource::Topic(&name)) {
            topic_or_create(broker, session, &name).await
        } else {
            Err(ErrorCode::TOPIC_AUTHORIZATION_FAILED)
        };
        let mut tr = TopicProduceResponse::default();
        tr.name = td.name.clone();
        for (pi, pd) in td.partition_data.into_iter().enumerate() {
            let mut pr = PartitionProduceResponse::default();
            pr.index = pd.index;
            let log = match &topic {
                Err(code) => Err((*code, None)),
                Ok(t) => usize::try_from(pd.index)
                    .ok()
                    .and_then(|i| t.partitions.get(i))
                    .map(|p| (Arc::clone(p), t.config()))
                    .ok_or((ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None)),
            };
            let outcome = log.and_then(|(log, cfg)| {
                let records = pd.records.as_deref().unwrap_or(&[]);
                // Producer ids are checked before anything else looks at the records: the
                // log's duplicate detection and the policy's re-stamping trust them.
                super::producer_id::check_producers(broker, session, records)?;
                let failures = log.failures();
                let policy = broker
                    .auth
                    .policy
                    .as_deref()
                    .filter(|p| p.applies_to(&name));
                let Some(policy) = policy else {
                    let appended = log
                        .append(records, &cfg)
                        .map_err(|rej| (rej.code, Some(rej.message)))?;
                    broker.logs.flusher.mark_dirty(&log);
                    return Ok((log, appended, failures));
                };
                let decoded =
                    decode_for_policy(policy, session, &name, records, cfg.max_message_bytes)?;
                // Check, append and fold are one step in log order (see append_checked).
                let (appended, written) = broker.append_checked(
                    policy,
                    &log,
                    &cfg,
                    || apply_policy(policy, session, &name, pd.index, records, decoded),
                    |rej| (rej.code, Some(rej.message)),
                )?;
                if !appended.duplicate {
                    policy.audit(&session.principal, session.peer, &name, &written);
                    implied.extend(policy.implied_topics(&name, &written));
                }
                Ok((log, appended, failures))
            });
            match outcome {
                Ok((log, appended, failures)) => {
                    pr.base_offset = appended.base_offset;
                    pr.log_append_time_ms = appended.log_append_time;
                    if version >= 5 {
                        pr.log_start_offset = log.log_start();
                    }
                    if !relaxed {
                        waits.push(Wait {
                            topic: ti,
                            partition: pi,
                            log,
                            end_offset: appended.end_offset,
                            failures,
                        });
                    }
                }
                Err((code, message)) => {
                    tracing::debug!(topic = %name, partition = pd.index, code = code.code(), ?message, "produce rejected");
                    pr.error_code = code.code();
                    pr.base_offset = -1;
                    if version >= 8 {
                        pr.error_message = message.map(|m| sb(&m));
                    }
                }
            }
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    create_implied(broker, implied).await;
    if r.acks == 0 {
        return Ok(Reply::Nothing);
    }
    let correlation_id = req.header.correlation_id;
    let api_key = req.api_key;
    if waits.is_empty() {
        return Ok(Reply::Now(protocol::encode_response(
            correlation_id,
            api_key,
            version,
            &resp,
        )?));
    }
    Ok(Reply::Later(Box::pin(async move {
        for w in waits {
            if let Err(rej) = w.log.wait_durable(w.end_offset, w.failures).await {
                let pr = &mut resp.responses[w.topic].partition_responses[w.partition];
                pr.error_code = rej.code.code();
                pr.base_offset = -1;
                if version >= 8 {
                    pr.error_message = Some(sb(&rej.message));
                }
            }
        }
        protocol::encode_response(correlation_id, api_key, version, &resp).map(Some)
    })))
}
