//! Front mode's data plane: the handlers that forward a client's request to the upstream
//! cluster (see [`crate::upstream`]) after the same authorization checks the local
//! handlers make, and rewrite the answers so the client only ever sees this server.
//! What stays local in front mode: ApiVersions (the versions both sides speak), SASL and
//! the account and quota APIs (this server authenticates its clients itself), and
//! FindCoordinator (this server is every group's coordinator as far as clients know).
//!
//! [`meta`]: Metadata rewriting and ApiVersions; [`data`]: Produce and Fetch, split by
//! partition leader and merged; [`offsets`]: ListOffsets and OffsetForLeaderEpoch, the
//! same; [`groups`]: the group APIs and committed offsets, routed to each group's
//! coordinator; [`group_admin`]: ListGroups, DescribeGroups and DeleteGroups;
//! [`admin`]: InitProducerId and topic creation and deletion.

mod admin;
mod data;
mod group_admin;
mod groups;
mod meta;
mod offsets;
mod policed;
mod split;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;
use wire::ErrorCode;

use super::Reply;
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::Request;
use crate::upstream::Upstream;

pub(super) use meta::versions_body;

/// The APIs forwarded upstream in front mode (each advertised only at the versions the
/// cluster speaks too).
const FORWARDED: &[ApiKey] = &[
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::ListGroups,
    ApiKey::DescribeGroups,
    ApiKey::DeleteGroups,
    ApiKey::InitProducerId,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
];

/// The APIs answered here in front mode as on a single server.
const LOCAL: &[ApiKey] = &[
    ApiKey::ApiVersions,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::FindCoordinator,
    ApiKey::DescribeUserScramCredentials,
    ApiKey::AlterUserScramCredentials,
    ApiKey::DescribeClientQuotas,
    ApiKey::AlterClientQuotas,
];

/// Handles `req` in front mode: `Some` when forwarded, `None` when it is answered
/// locally; an API neither forwarded nor local closes the connection, as an API a
/// single server does not speak does.
pub(super) async fn handle(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Option<Reply>> {
    let reply = match req.api_key {
        ApiKey::Metadata => meta::metadata(broker, up, session, req).await?,
        ApiKey::Produce => data::produce(broker, up, session, req).await?,
        ApiKey::Fetch => data::fetch(broker, up, session, req).await?,
        ApiKey::ListOffsets => offsets::list_offsets(broker, up, session, req).await?,
        ApiKey::OffsetForLeaderEpoch => {
            offsets::offset_for_leader_epoch(broker, up, session, req).await?
        }
        ApiKey::JoinGroup | ApiKey::SyncGroup | ApiKey::Heartbeat | ApiKey::LeaveGroup => {
            groups::membership(broker, up, session, req).await?
        }
        ApiKey::OffsetCommit => groups::offset_commit(broker, up, session, req).await?,
        ApiKey::OffsetFetch => groups::offset_fetch(broker, up, session, req).await?,
        ApiKey::ListGroups => group_admin::list_groups(broker, up, session, req).await?,
        ApiKey::DescribeGroups => group_admin::describe_groups(broker, up, session, req).await?,
        ApiKey::DeleteGroups => group_admin::delete_groups(broker, up, session, req).await?,
        ApiKey::InitProducerId => admin::init_producer_id(broker, up, session, req).await?,
        ApiKey::CreateTopics => admin::create_topics(broker, up, session, req).await?,
        ApiKey::DeleteTopics => admin::delete_topics(broker, up, session, req).await?,
        k if LOCAL.contains(&k) => return Ok(None),
        other => {
            return Err(Error::Malformed(format!(
                "{other:?} is not available in front mode"
            )))
        }
    };
    Ok(Some(reply))
}

/// Where each requested partition goes: `wanted` is (topic, partitions, allowed) in
/// request order; the answer has one leader (or error) per partition, in the same shape.
/// Unknown leaders are looked up once (creating the topics `may_create` allows).
async fn route(
    up: &Upstream,
    wanted: &[(String, Vec<i32>, bool)],
    may_create: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Vec<Result<i32, ErrorCode>>>> {
    let missing = |up: &Upstream| -> Vec<String> {
        let mut names: Vec<String> = wanted
            .iter()
            .filter(|(name, parts, ok)| *ok && parts.iter().any(|p| up.leader(name, *p).is_none()))
            .map(|(name, _, _)| name.clone())
            .collect();
        names.dedup();
        names
    };
    let names = missing(up);
    if !names.is_empty() {
        let (create, plain): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| may_create(n));
        for (list, create) in [(create, true), (plain, false)] {
            if !list.is_empty() {
                up.metadata_for(Some(list), create).await?;
            }
        }
        // A cluster that does not create topics on first use: the front does.
        let still: Vec<String> = missing(up).into_iter().filter(|n| may_create(n)).collect();
        up.create_missing(&still).await?;
    }
    Ok(wanted
        .iter()
        .map(|(name, parts, ok)| {
            parts
                .iter()
                .map(|p| match (ok, up.leader(name, *p)) {
                    (false, _) => Err(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
                    (true, Some(l)) => Ok(l),
                    (true, None) => Err(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                })
                .collect()
        })
        .collect())
}

/// A response frame around a body already encoded at the request's version (an
/// upstream answer passed through untouched).
fn raw_reply(req: &ReqInfo, body: &[u8]) -> Result<Bytes> {
    let mut out = BytesMut::with_capacity(body.len() + 16);
    out.extend_from_slice(&[0, 0, 0, 0]);
    let mut header = ResponseHeader::default();
    header.correlation_id = req.correlation_id;
    header
        .encode(&mut out, req.api_key.response_header_version(req.version))
        .map_err(|e| Error::Encode(format!("{:?} header: {e}", req.api_key)))?;
    out.extend_from_slice(body);
    let len = (out.len() - 4) as u32;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out.freeze())
}

/// What the reply future needs of the request (it outlives the borrow).
#[derive(Clone, Copy)]
struct ReqInfo {
    correlation_id: i32,
    api_key: ApiKey,
    version: i16,
}

impl ReqInfo {
    fn of(req: &Request) -> Self {
        ReqInfo {
            correlation_id: req.header.correlation_id,
            api_key: req.api_key,
            version: req.version,
        }
    }

    fn encode<T: Encodable>(&self, body: &T) -> Result<Bytes> {
        crate::protocol::encode_response(self.correlation_id, self.api_key, self.version, body)
    }
}
