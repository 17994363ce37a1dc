//! Produce to a topic the host's record policy applies to, in front mode: such records
//! are never forwarded as sent. After the same checks as on a single server (WRITE on the
//! topic, the policy's cheap [`RecordPolicy::admits`], the bounded decode), they are
//! handed to the policy's [`RecordPolicy::forward`], which decides on them and writes
//! them itself (the BBS: through its ledger in the cluster, so every front server applies
//! one policy in one order); the client is answered with what it wrote or why not.

use std::collections::HashMap;

use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::ProduceRequest;
use wire::ErrorCode;

use crate::auth::policy::{self, ForwardFuture, RecordPolicy, Verdict};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Error;
use crate::handlers::sb;

/// One policed partition's outcome: refused at once, or the policy's pending write.
pub(super) enum Policed {
    /// Refused before the policy wrote anything.
    Refused(ErrorCode, Option<String>),
    /// The policy is deciding and writing.
    Pending(ForwardFuture),
}

/// The policed partitions of `r`, by (topic index, partition index), each started; the
/// caller forwards every other partition as usual.
pub(super) fn start(
    broker: &Broker,
    session: &Session,
    r: &ProduceRequest,
) -> HashMap<(usize, usize), Policed> {
    let mut out = HashMap::new();
    let Some(policy) = broker.auth.policy.as_deref() else {
        return out;
    };
    for (ti, t) in r.topic_data.iter().enumerate() {
        let name = t.name.0.as_str();
        if !policy.applies_to(name)
            || !broker.authorize(session, Operation::Write, Resource::Topic(name))
        {
            continue;
        }
        for (pi, p) in t.partition_data.iter().enumerate() {
            let records = p.records.as_deref().unwrap_or(&[]);
            out.insert((ti, pi), one(policy, session, name, p.index, records));
        }
    }
    out
}

fn one(
    policy: &dyn RecordPolicy,
    session: &Session,
    topic: &str,
    partition: i32,
    records: &[u8],
) -> Policed {
    if let Some(Verdict::Reject { code, message }) = policy.admits(&session.principal, topic) {
        tracing::info!(peer = %session.peer, principal = %session.principal, topic, code = code.code(), %message, "records refused before decoding");
        return Policed::Refused(code, Some(message));
    }
    let limit = crate::record::bounded::limit_for(
        crate::log::topic_config::TopicConfig::default().max_message_bytes,
    );
    let decoded = match policy::decode(records, limit) {
        Ok((decoded, _shapes)) => decoded,
        Err(Error::Refused { code, message }) => return Policed::Refused(code, Some(message)),
        Err(e) => return Policed::Refused(ErrorCode::CORRUPT_MESSAGE, Some(e.to_string())),
    };
    match policy.forward(&session.principal, session.peer, topic, partition, decoded) {
        Some(pending) => Policed::Pending(pending),
        None => Policed::Refused(
            ErrorCode::POLICY_VIOLATION,
            Some(format!("{topic} is not writable through this front server")),
        ),
    }
}

/// The answer for one policed partition, once its outcome is known.
pub(super) async fn answer(
    policed: Policed,
    session_peer: std::net::SocketAddr,
    topic: &str,
    index: i32,
    version: i16,
) -> PartitionProduceResponse {
    let outcome = match policed {
        Policed::Refused(code, message) => Err((code, message)),
        Policed::Pending(pending) => pending.await.map_err(|(c, m)| (c, Some(m))),
    };
    let mut pr = PartitionProduceResponse::default();
    pr.index = index;
    match outcome {
        Ok(base) => {
            pr.base_offset = base;
            pr.log_append_time_ms = -1;
        }
        Err((code, message)) => {
            tracing::info!(peer = %session_peer, topic, partition = index, code = code.code(), ?message, "records refused");
            pr.error_code = code.code();
            pr.base_offset = -1;
            if version >= 8 {
                pr.error_message = message.map(|m| sb(&m));
            }
        }
    }
    pr
}
