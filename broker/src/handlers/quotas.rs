//! AlterClientQuotas and DescribeClientQuotas, used for one per-user setting: the
//! `bbs.disabled` flag (1.0 = disabled) on entity `user=NAME`, which is how the operator
//! CLI disables and enables accounts on a running server. Only principals allowed to
//! alter the cluster (the operator) may use them.

use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::{
    alter_client_quotas_response, describe_client_quotas_response, AlterClientQuotasRequest,
    AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
};

use super::{respond, sb, Reply};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::{decode_body, Request};

/// The one quota key we understand.
pub const DISABLED_KEY: &str = "bbs.disabled";
/// Removing this key from entity `user=NAME` releases the retired name NAME (the
/// operator's `users release`), so it can be registered again.
pub const RETIRED_KEY: &str = "bbs.retired";

pub(super) async fn alter(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: AlterClientQuotasRequest = decode_body(req)?;
    let admin = broker.authorize(session, Operation::Alter, Resource::Cluster);
    let mut resp = AlterClientQuotasResponse::default();
    for entry in r.entries {
        let mut out = alter_client_quotas_response::EntryData::default();
        out.entity = entry
            .entity
            .iter()
            .map(|e| {
                let mut d = alter_client_quotas_response::EntityData::default();
                d.entity_type = e.entity_type.clone();
                d.entity_name = e.entity_name.clone();
                d
            })
            .collect();
        let user = match entry.entity.as_slice() {
            [e] if e.entity_type.as_str() == "user" => {
                e.entity_name.as_ref().map(|n| n.to_string())
            }
            _ => None,
        };
        let outcome: std::result::Result<(), (ErrorCode, String)> = match (admin, user) {
            (false, _) => Err((
                ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
                "only the operator may change accounts".into(),
            )),
            (true, None) => Err((
                ErrorCode::INVALID_REQUEST,
                "the entity must be one named user".into(),
            )),
            (true, Some(_))
                if entry
                    .ops
                    .iter()
                    .any(|o| !matches!(o.key.as_str(), DISABLED_KEY | RETIRED_KEY)) =>
            {
                Err((
                    ErrorCode::INVALID_REQUEST,
                    format!("only the {DISABLED_KEY} and {RETIRED_KEY} keys are supported"),
                ))
            }
            (true, Some(_)) if r.validate_only => Ok(()),
            (true, Some(name)) if entry.ops.iter().any(|o| o.key.as_str() == RETIRED_KEY) => {
                release(broker, session, &name, &entry.ops).await
            }
            (true, Some(name)) => {
                let disabled = entry.ops.last().map(|o| !o.remove && o.value != 0.0);
                match disabled {
                    None => Ok(()),
                    Some(d) => match broker.auth.store.update(&name, |a| a.disabled = d).await {
                        Ok(()) => {
                            tracing::info!(principal = %session.principal, user = %name, disabled = d, "account changed");
                            Ok(())
                        }
                        Err(Error::Refused { code, message }) => Err((code, message)),
                        Err(e) => Err((ErrorCode::KAFKA_STORAGE_ERROR, e.to_string())),
                    },
                }
            }
        };
        if let Err((code, message)) = outcome {
            out.error_code = code.code();
            out.error_message = Some(sb(&message));
        }
        resp.entries.push(out);
    }
    respond(req, &resp)
}

/// Releases a retired name: the only change of [`RETIRED_KEY`] is its removal.
async fn release(
    broker: &Broker,
    session: &Session,
    name: &str,
    ops: &[kafka_protocol::messages::alter_client_quotas_request::OpData],
) -> std::result::Result<(), (ErrorCode, String)> {
    if ops.len() != 1 || !ops.iter().all(|o| o.remove) {
        return Err((
            ErrorCode::INVALID_REQUEST,
            format!("{RETIRED_KEY} can only be removed, alone (names are retired by removing the account)"),
        ));
    }
    match broker.auth.store.release(name).await {
        Ok(()) => {
            tracing::info!(principal = %session.principal, user = %name, "retired name released");
            Ok(())
        }
        Err(Error::Refused { code, message }) => Err((code, message)),
        Err(e) => Err((ErrorCode::KAFKA_STORAGE_ERROR, e.to_string())),
    }
}

pub(super) fn describe(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: DescribeClientQuotasRequest = decode_body(req)?;
    let mut resp = DescribeClientQuotasResponse::default();
    if !broker.authorize(session, Operation::Alter, Resource::Cluster) {
        resp.error_code = ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code();
        resp.error_message = Some(sb("only the operator may describe accounts"));
        return respond(req, &resp);
    }
    // An exact user filter (match type 0) narrows the answer; anything else lists all.
    let only: Option<String> = r
        .components
        .iter()
        .find(|c| c.entity_type.as_str() == "user" && c.match_type == 0)
        .and_then(|c| c._match.as_ref().map(|m| m.to_string()));
    let entries = broker
        .auth
        .store
        .list()
        .into_iter()
        .filter(|(n, a)| a.disabled && only.as_ref().is_none_or(|o| o == n))
        .map(|(name, _)| {
            let mut e = describe_client_quotas_response::EntryData::default();
            let mut ent = describe_client_quotas_response::EntityData::default();
            ent.entity_type = sb("user");
            ent.entity_name = Some(sb(&name));
            e.entity = vec![ent];
            let mut v = describe_client_quotas_response::ValueData::default();
            v.key = sb(DISABLED_KEY);
            v.value = 1.0;
            e.values = vec![v];
            e
        })
        .collect();
    resp.entries = Some(entries);
    respond(req, &resp)
}
