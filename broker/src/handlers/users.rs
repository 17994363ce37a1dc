//! Accounts over the Kafka protocol: AlterUserScramCredentials (registration by anyone
//! when open registration is on, limited to names that do not exist yet; changes and
//! deletions by the account's owner or a principal allowed to alter the cluster, i.e. the
//! operator) and DescribeUserScramCredentials (your own account, or all for the operator).

use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};

use super::{respond, sb, Reply};
use crate::auth::scram::{ScramKeys, MAX_ITERATIONS, MIN_ITERATIONS};
use crate::auth::{names, Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::{decode_body, Request};

/// The mechanism number of SCRAM-SHA-256 in these APIs.
const SCRAM_SHA_256: i8 = 1;

type Outcome = std::result::Result<(), (ErrorCode, String)>;

fn from_store(r: Result<()>) -> Outcome {
    match r {
        Ok(()) => Ok(()),
        Err(Error::Refused { code, message }) => Err((code, message)),
        Err(e) => {
            tracing::error!(error = %e, "credential store write failed");
            Err((
                ErrorCode::KAFKA_STORAGE_ERROR,
                "the credential store could not be written".into(),
            ))
        }
    }
}

/// True when the session may change `name`: its owner or an admin.
fn may_change(broker: &Broker, session: &Session, name: &str) -> bool {
    session.principal.user() == Some(name)
        || broker.authorize(session, Operation::Alter, Resource::Cluster)
}

async fn upsert(
    broker: &Broker,
    session: &Session,
    name: &str,
    mechanism: i8,
    iterations: i32,
    salt: &[u8],
    salted: &[u8],
) -> Outcome {
    if mechanism != SCRAM_SHA_256 {
        return Err((
            ErrorCode::UNSUPPORTED_SASL_MECHANISM,
            "only SCRAM-SHA-256 is supported".into(),
        ));
    }
    let iterations = u32::try_from(iterations).unwrap_or(0);
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err((
            ErrorCode::UNACCEPTABLE_CREDENTIAL,
            format!("iterations must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}"),
        ));
    }
    if salted.len() != 32 || !(8..=128).contains(&salt.len()) {
        return Err((
            ErrorCode::UNACCEPTABLE_CREDENTIAL,
            "salt or salted password has a bad length".into(),
        ));
    }
    names::validate_account_name(name).map_err(|m| (ErrorCode::UNACCEPTABLE_CREDENTIAL, m))?;
    let keys = ScramKeys::from_salted(salt.to_vec(), iterations, salted);
    if broker.auth.store.get(name).is_some() {
        if !may_change(broker, session, name) {
            return Err((
                ErrorCode::DUPLICATE_RESOURCE,
                format!("user {name} already exists"),
            ));
        }
        tracing::info!(peer = %session.peer, principal = %session.principal, user = name, "password changed");
        return from_store(broker.auth.store.update(name, |a| a.keys = keys).await);
    }
    let admin = broker.authorize(session, Operation::Alter, Resource::Cluster);
    if !admin {
        if !broker.auth.config.open_registration {
            return Err((
                ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
                "registration is closed".into(),
            ));
        }
        if !broker.auth.limiter.allow_registration(session.peer.ip()) {
            tracing::warn!(peer = %session.peer, user = name, "registration refused: rate limit");
            return Err((
                ErrorCode::THROTTLING_QUOTA_EXCEEDED,
                "too many registrations from this address; try again later".into(),
            ));
        }
    }
    if let Some(policy) = &broker.auth.policy {
        // Several servers sharing accounts (front mode) agree on who gets a new name
        // first; the local checks go first so a refused name claims nothing.
        from_store(broker.auth.store.check_new(name))?;
        policy
            .claim_account(name)
            .await
            .map_err(|m| (ErrorCode::DUPLICATE_RESOURCE, m))?;
    }
    let r = from_store(broker.auth.store.create(name, keys).await);
    if r.is_ok() {
        tracing::info!(peer = %session.peer, principal = %session.principal, user = name, "account created");
        if let Some(policy) = &broker.auth.policy {
            policy.account_created(broker, name).await;
        }
    }
    r
}

async fn delete(broker: &Broker, session: &Session, name: &str, mechanism: i8) -> Outcome {
    if mechanism != SCRAM_SHA_256 {
        return Err((
            ErrorCode::UNSUPPORTED_SASL_MECHANISM,
            "only SCRAM-SHA-256 is supported".into(),
        ));
    }
    if !may_change(broker, session, name) {
        return Err((
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
            format!("you may not delete user {name}"),
        ));
    }
    let r = from_store(broker.auth.store.remove(name).await);
    if r.is_ok() {
        tracing::info!(peer = %session.peer, principal = %session.principal, user = name, "account removed");
    }
    r
}

pub(super) async fn alter(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: AlterUserScramCredentialsRequest = decode_body(req)?;
    let mut resp = AlterUserScramCredentialsResponse::default();
    let mut push = |user: &str, outcome: Outcome| {
        let mut res = AlterUserScramCredentialsResult::default();
        res.user = sb(user);
        if let Err((code, message)) = outcome {
            res.error_code = code.code();
            res.error_message = Some(sb(&message));
        }
        resp.results.push(res);
    };
    for d in &r.deletions {
        push(
            d.name.as_str(),
            delete(broker, session, d.name.as_str(), d.mechanism).await,
        );
    }
    for u in &r.upsertions {
        let outcome = upsert(
            broker,
            session,
            u.name.as_str(),
            u.mechanism,
            u.iterations,
            &u.salt,
            &u.salted_password,
        )
        .await;
        push(u.name.as_str(), outcome);
    }
    respond(req, &resp)
}

pub(super) fn describe(broker: &Arc<Broker>, session: &Session, req: &Request) -> Result<Reply> {
    let r: DescribeUserScramCredentialsRequest = decode_body(req)?;
    let admin = broker.authorize(session, Operation::Alter, Resource::Cluster);
    // Null or empty means "all": everyone for the operator, yourself for a user.
    let wanted: Vec<String> = match &r.users {
        Some(list) if !list.is_empty() => list.iter().map(|u| u.name.to_string()).collect(),
        _ if admin => broker
            .auth
            .store
            .list()
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
        _ => session
            .principal
            .user()
            .map(|u| vec![u.to_string()])
            .unwrap_or_default(),
    };
    let mut resp = DescribeUserScramCredentialsResponse::default();
    for name in wanted {
        let mut res = DescribeUserScramCredentialsResult::default();
        res.user = sb(&name);
        if !(admin || session.principal.user() == Some(name.as_str())) {
            res.error_code = ErrorCode::CLUSTER_AUTHORIZATION_FAILED.code();
            res.error_message = Some(sb("you may describe only your own account"));
        } else {
            match broker.auth.store.get(&name) {
                Some(a) => {
                    let mut info = CredentialInfo::default();
                    info.mechanism = SCRAM_SHA_256;
                    info.iterations = i32::try_from(a.keys.iterations).unwrap_or(i32::MAX);
                    res.credential_infos.push(info);
                }
                None => {
                    res.error_code = ErrorCode::RESOURCE_NOT_FOUND.code();
                    res.error_message = Some(sb("no such user"));
                }
            }
        }
        resp.results.push(res);
    }
    respond(req, &resp)
}
