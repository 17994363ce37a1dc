//! Produce: validate and append each partition's batches in request order, then answer once
//! they are durable (acks=1/all) or not at all (acks=0).

use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::{sb, Reply};
use crate::broker::Broker;
use crate::error::Result;
use crate::log::manager::{codes, validate_name};
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
    name: &str,
) -> Result<Arc<crate::log::Topic>, i16> {
    if let Some(t) = broker.logs.topic(name) {
        return Ok(t);
    }
    validate_name(name).map_err(|e| e.code)?;
    if !broker.config.auto_create_topics || name.starts_with("__") {
        return Err(codes::UNKNOWN_TOPIC_OR_PARTITION);
    }
    match broker
        .logs
        .create_topic(
            name,
            broker.config.default_partitions,
            Default::default(),
            false,
        )
        .await
    {
        Ok(t) => Ok(t),
        Err(_) => broker
            .logs
            .topic(name)
            .ok_or(codes::UNKNOWN_TOPIC_OR_PARTITION),
    }
}

pub(super) async fn produce(broker: &Arc<Broker>, req: &Request) -> Result<Reply> {
    let r: ProduceRequest = decode_body(req)?;
    broker
        .logs
        .produce_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let version = req.version;
    let relaxed = broker.logs.flusher.relaxed();
    let mut resp = ProduceResponse::default();
    let mut waits = Vec::new();
    for (ti, td) in r.topic_data.into_iter().enumerate() {
        let name = td.name.0.to_string();
        let topic = topic_or_create(broker, &name).await;
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
                    .ok_or((codes::UNKNOWN_TOPIC_OR_PARTITION, None)),
            };
            let outcome = log.and_then(|(log, cfg)| {
                let records = pd.records.as_deref().unwrap_or(&[]);
                let failures = log.failures();
                log.append(records, &cfg, relaxed)
                    .map(|a| (log, a, failures))
                    .map_err(|rej| (rej.code, Some(rej.message)))
            });
            match outcome {
                Ok((log, appended, failures)) => {
                    pr.base_offset = appended.base_offset;
                    pr.log_append_time_ms = appended.log_append_time;
                    if version >= 5 {
                        pr.log_start_offset = log.log_start();
                    }
                    broker.logs.flusher.mark_dirty(&log);
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
                    tracing::debug!(topic = %name, partition = pd.index, code, ?message, "produce rejected");
                    pr.error_code = code;
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
                pr.error_code = rej.code;
                pr.base_offset = -1;
                if version >= 8 {
                    pr.error_message = Some(sb(&rej.message));
                }
            }
        }
        protocol::encode_response(correlation_id, api_key, version, &resp).map(Some)
    })))
}
