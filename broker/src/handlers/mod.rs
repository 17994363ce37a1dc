//! Request dispatch: one function per API, grouped by area. Each handler decodes its body,
//! does the work and returns a [`Reply`]: an encoded response now, one that completes later
//! (produce waiting for fsync, fetch long polls, a JoinGroup waiting for the rebalance), or
//! nothing (acks=0).

mod admin;
mod fetch;
mod front;
#[cfg(test)]
mod fuzz_tests;
mod group;
mod group_admin;
#[cfg(test)]
mod group_tests;
mod meta;
mod offsets;
mod produce;
mod producer_id;
pub mod quotas;
mod sasl;
mod topic_admin;
mod users;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use crate::auth::SaslStage;
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{self, Request};

pub use meta::api_versions_fallback;

/// A response that is still being computed.
pub type Pending = Pin<Box<dyn Future<Output = Result<Option<Bytes>>> + Send>>;

/// What the connection should send for a request.
pub enum Reply {
    /// This encoded frame, in order.
    Now(Bytes),
    /// The frame this future produces, in order.
    Later(Pending),
    /// The frame this future produces, in order, as soon as what it waits for happens (a
    /// held fetch's data) and at the latest when polled at or after the deadline: it sets
    /// no timer of its own, the connection polls it then. One timer per connection, moved
    /// lazily, serves all its held fetches, where a timer each cost two trips through the
    /// runtime's shared timer wheel (and often a wake-up of its driver) per fetch.
    Held(Pending, tokio::time::Instant),
    /// No response (acks=0 produce).
    Nothing,
}

/// Handles one request. Work that must happen in request order (appends) is done before
/// this returns; what waits (durability, long polls) is in the returned future.
pub async fn handle(broker: &Arc<Broker>, session: &mut Session, req: Request) -> Result<Reply> {
    prelude(session, &req)?;
    if let Some(up) = broker.upstream() {
        if req.api_key == ApiKey::ApiVersions {
            return respond(&req, &front::versions_body(up, wire::ErrorCode::NONE));
        }
        if let Some(reply) = front::handle(broker, up, session, &req).await? {
            return Ok(reply);
        }
    }
    let req = match at_once(broker, session, req) {
        Ok(done) => return done,
        Err(req) => req,
    };
    let s = &*session;
    match req.api_key {
        ApiKey::SaslAuthenticate => sasl::authenticate(broker, session, &req).await,
        ApiKey::AlterUserScramCredentials => users::alter(broker, s, &req).await,
        ApiKey::AlterClientQuotas => quotas::alter(broker, s, &req).await,
        ApiKey::Metadata => meta::metadata(broker, s, &req).await,
        ApiKey::Produce => produce::produce(broker, s, &req).await,
        ApiKey::InitProducerId => producer_id::init_producer_id(broker, s, &req).await,
        ApiKey::CreateTopics => admin::create_topics(broker, s, &req).await,
        ApiKey::DeleteTopics => admin::delete_topics(broker, s, &req).await,
        ApiKey::AlterConfigs => topic_admin::alter_configs(broker, s, &req).await,
        ApiKey::IncrementalAlterConfigs => {
            topic_admin::incremental_alter_configs(broker, s, &req).await
        }
        ApiKey::CreatePartitions => topic_admin::create_partitions(broker, s, &req).await,
        ApiKey::DeleteRecords => topic_admin::delete_records(broker, s, &req).await,
        other => Err(crate::error::Error::Malformed(format!(
            "{other:?} is not handled"
        ))),
    }
}

/// Handles `req` here and now when its handler never waits (fetches, heartbeats,
/// commits: most of what a consumer sends), which spares the connection boxing
/// [`handle`]'s future (over 2 KB, as large as its largest waiting handler's) for every
/// request. Gives `req` back for [`handle`] otherwise, and always in front mode.
pub fn handle_at_once(
    broker: &Arc<Broker>,
    session: &mut Session,
    req: Request,
) -> std::result::Result<Result<Reply>, Request> {
    if broker.upstream().is_some() {
        return Err(req);
    }
    if let Err(e) = prelude(session, &req) {
        return Ok(Err(e));
    }
    at_once(broker, session, req)
}

/// What every request goes through first: the client id is noted, and in the middle of a
/// SASL exchange only the rest of the exchange (and ApiVersions) may be sent.
fn prelude(session: &mut Session, req: &Request) -> Result<()> {
    if let Some(id) = &req.header.client_id {
        if session.client_id != id.as_str() {
            session.client_id = id.to_string();
        }
    }
    if matches!(
        session.sasl,
        SaslStage::Chosen(_) | SaslStage::ScramFinal(_) | SaslStage::ProxyChosen
    ) && !matches!(req.api_key, ApiKey::SaslAuthenticate | ApiKey::ApiVersions)
    {
        return Err(crate::error::Error::Malformed(format!(
            "{:?} sent in the middle of a SASL exchange",
            req.api_key
        )));
    }
    Ok(())
}

/// The handlers that never wait, run directly; `req` back for the others.
fn at_once(
    broker: &Arc<Broker>,
    session: &mut Session,
    req: Request,
) -> std::result::Result<Result<Reply>, Request> {
    let s = &*session;
    Ok(match req.api_key {
        ApiKey::ApiVersions => meta::api_versions(&req),
        ApiKey::SaslHandshake => sasl::handshake(broker, session, &req),
        ApiKey::DescribeUserScramCredentials => users::describe(broker, s, &req),
        ApiKey::DescribeClientQuotas => quotas::describe(broker, s, &req),
        ApiKey::Fetch => fetch::fetch(broker, s, req),
        ApiKey::ListOffsets => fetch::list_offsets(broker, s, &req),
        ApiKey::OffsetForLeaderEpoch => fetch::offset_for_leader_epoch(broker, s, &req),
        ApiKey::FindCoordinator => group::find_coordinator(broker, s, &req),
        ApiKey::JoinGroup => group::join_group(broker, session, req),
        ApiKey::SyncGroup => group::sync_group(broker, s, req),
        ApiKey::Heartbeat => group::heartbeat(broker, s, &req),
        ApiKey::LeaveGroup => group::leave_group(broker, s, &req),
        ApiKey::OffsetCommit => offsets::offset_commit(broker, s, req),
        ApiKey::OffsetFetch => offsets::offset_fetch(broker, s, &req),
        ApiKey::ListGroups => group_admin::list_groups(broker, s, &req),
        ApiKey::DescribeGroups => group_admin::describe_groups(broker, s, &req),
        ApiKey::DeleteGroups => group_admin::delete_groups(broker, s, req),
        ApiKey::DescribeConfigs => admin::describe_configs(broker, s, &req),
        _ => return Err(req),
    })
}

/// Encodes `body` as the response to `req`.
pub(crate) fn respond<T: Encodable>(req: &Request, body: &T) -> Result<Reply> {
    Ok(Reply::Now(protocol::encode_response(
        req.header.correlation_id,
        req.api_key,
        req.version,
        body,
    )?))
}

/// A `StrBytes` from a string.
pub(crate) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A `TopicName` from a string.
pub(crate) fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}
