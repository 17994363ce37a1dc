//! SaslHandshake and SaslAuthenticate: choosing a mechanism, then SCRAM-SHA-256's two
//! rounds or PLAIN's one. Success sets the session's principal. Any failure (an exchange
//! out of order, an unknown mechanism, a huge or malformed token, a wrong password) gets a
//! Kafka error, is logged, is answered after the per-address delay, and closes the
//! connection.

use std::sync::Arc;
use std::time::Duration;
use wire::ErrorCode;

use bytes::Bytes;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};

use super::{respond, sb, Reply};
use crate::auth::operator::OPERATOR_USER;
use crate::auth::{plain, proxy, scram, Mechanism, Principal, SaslStage};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{self, decode_body, Request};

/// Largest SASL token accepted; real ones are well under 1 KiB.
pub(super) const MAX_TOKEN: usize = 4096;

pub(super) fn handshake(
    broker: &Arc<Broker>,
    session: &mut Session,
    req: &Request,
) -> Result<Reply> {
    let r: SaslHandshakeRequest = decode_body(req)?;
    let mut resp = SaslHandshakeResponse::default();
    resp.mechanisms = broker
        .auth
        .mechanisms
        .iter()
        .map(|m| sb(m.name()))
        .collect();
    let wanted = r.mechanism.as_str();
    if req.version == 0 {
        resp.error_code = ErrorCode::UNSUPPORTED_VERSION.code();
        session.close = true;
        tracing::warn!(peer = %session.peer, "SaslHandshake v0 (raw SASL framing) is not supported");
    } else if wanted == proxy::MECHANISM {
        // Only the in-process classic port knows the secret; it connects over loopback.
        let allowed = broker.auth.config.proxy_token.is_some()
            && session.peer.ip().is_loopback()
            && matches!(session.sasl, SaslStage::Idle);
        if allowed {
            session.sasl = SaslStage::ProxyChosen;
        } else {
            resp.error_code = ErrorCode::UNSUPPORTED_SASL_MECHANISM.code();
            session.close = true;
            tracing::warn!(peer = %session.peer, "BBS-PROXY refused");
        }
    } else if !matches!(session.sasl, SaslStage::Idle | SaslStage::Proxied) {
        resp.error_code = ErrorCode::ILLEGAL_SASL_STATE.code();
        session.close = true;
        tracing::warn!(peer = %session.peer, "SaslHandshake out of order");
    } else {
        match Mechanism::parse(wanted).filter(|m| broker.auth.mechanisms.contains(m)) {
            Some(m) => session.sasl = SaslStage::Chosen(m),
            None => {
                resp.error_code = ErrorCode::UNSUPPORTED_SASL_MECHANISM.code();
                session.close = true;
                tracing::warn!(peer = %session.peer, mechanism = %wanted.escape_debug(), "unsupported SASL mechanism");
            }
        }
    }
    respond(req, &resp)
}

/// The answer to a SaslAuthenticate.
fn answer(req: &Request, code: ErrorCode, message: Option<String>, bytes: Bytes) -> Result<Bytes> {
    let mut resp = SaslAuthenticateResponse::default();
    resp.error_code = code.code();
    resp.error_message = message.map(|m| sb(&m));
    resp.auth_bytes = bytes;
    protocol::encode_response(req.header.correlation_id, req.api_key, req.version, &resp)
}

/// Fails the exchange: logs, closes after the reply, and delays it per address.
fn fail(
    broker: &Broker,
    session: &mut Session,
    req: &Request,
    code: ErrorCode,
    user: Option<&str>,
    reason: &str,
) -> Result<Reply> {
    session.close = true;
    session.sasl = SaslStage::Done;
    let delay = if code == ErrorCode::SASL_AUTHENTICATION_FAILED {
        broker.auth.limiter.login_failed(session.peer.ip(), user)
    } else {
        Duration::ZERO
    };
    tracing::warn!(peer = %session.peer, user = ?user, reason, delay_ms = delay.as_millis() as u64, "failed login");
    let message = match code {
        ErrorCode::SASL_AUTHENTICATION_FAILED => format!("Authentication failed: {reason}"),
        _ => reason.to_string(),
    };
    let bytes = answer(req, code, Some(message), Bytes::new())?;
    if delay.is_zero() {
        return Ok(Reply::Now(bytes));
    }
    Ok(Reply::Later(Box::pin(async move {
        tokio::time::sleep(delay).await;
        Ok(Some(bytes))
    })))
}

/// Refuses a login from an address (or account and address) over its failure limit,
/// saying when it may try again; the refusal itself is not counted as a further failure.
fn blocked_fail(
    session: &mut Session,
    req: &Request,
    user: Option<&str>,
    left: Option<Duration>,
) -> Result<Reply> {
    let secs = left.map_or(1, |d| d.as_secs().max(1));
    tracing::warn!(peer = %session.peer, user = ?user, retry_in_s = secs, "login refused: too many failures");
    refuse(
        session,
        req,
        format!("too many failed logins from this address; try again in {secs} s"),
    )
}

/// Refuses the exchange without counting a failure or delaying the answer (the caller
/// logs why): the connection closes after the reply.
fn refuse(session: &mut Session, req: &Request, message: String) -> Result<Reply> {
    session.close = true;
    session.sasl = SaslStage::Done;
    Ok(Reply::Now(answer(
        req,
        ErrorCode::SASL_AUTHENTICATION_FAILED,
        Some(message),
        Bytes::new(),
    )?))
}

fn succeed(
    broker: &Broker,
    session: &mut Session,
    req: &Request,
    principal: Principal,
    bytes: Bytes,
) -> Result<Reply> {
    let name = match &principal {
        Principal::User(u) => u.as_str(),
        Principal::Operator => OPERATOR_USER,
        Principal::Anonymous => "",
    };
    broker.auth.limiter.login_succeeded(session.peer.ip(), name);
    let refusal = broker.auth.login_refusal(&principal);
    if let Some(why) = refusal {
        // The password was right: not a failed login, nothing is counted or delayed.
        tracing::info!(peer = %session.peer, %principal, reason = %why, "login refused");
        return refuse(session, req, format!("Authentication failed: {why}"));
    }
    tracing::info!(peer = %session.peer, %principal, "login");
    session.principal = principal;
    session.sasl = SaslStage::Done;
    Ok(Reply::Now(answer(req, ErrorCode::NONE, None, bytes)?))
}

pub(super) async fn authenticate(
    broker: &Arc<Broker>,
    session: &mut Session,
    req: &Request,
) -> Result<Reply> {
    let r: SaslAuthenticateRequest = match decode_body(req) {
        Ok(r) => r,
        Err(_) => {
            return fail(
                broker,
                session,
                req,
                ErrorCode::SASL_AUTHENTICATION_FAILED,
                None,
                "malformed SaslAuthenticate",
            )
        }
    };
    let token = r.auth_bytes;
    if token.len() > MAX_TOKEN {
        return fail(
            broker,
            session,
            req,
            ErrorCode::SASL_AUTHENTICATION_FAILED,
            None,
            "SASL token is too large",
        );
    }
    let ip = session.peer.ip();
    let blocked = |user: Option<&str>| broker.auth.limiter.login_blocked(ip, user);
    match std::mem::take(&mut session.sasl) {
        SaslStage::ProxyChosen => {
            let secret = broker.auth.config.proxy_token.as_deref().unwrap_or("");
            match proxy::verify(secret, &token) {
                Ok(real) => {
                    tracing::info!(peer = %session.peer, real = %real, "proxied connection");
                    if let Some(slot) = session.ip_slot.take() {
                        match slot.rebind(real.ip()) {
                            Ok(slot) => session.ip_slot = Some(slot),
                            Err(limit) => {
                                tracing::info!(real = %real, limit, "refusing proxied connection: too many connections from this address");
                                // Not a failed login: nothing is counted against anyone.
                                return refuse(
                                    session,
                                    req,
                                    "too many connections from this address".to_string(),
                                );
                            }
                        }
                    }
                    session.peer = real;
                    session.sasl = SaslStage::Proxied;
                    Ok(Reply::Now(answer(
                        req,
                        ErrorCode::NONE,
                        None,
                        Bytes::new(),
                    )?))
                }
                Err(why) => fail(
                    broker,
                    session,
                    req,
                    ErrorCode::SASL_AUTHENTICATION_FAILED,
                    None,
                    why,
                ),
            }
        }
        SaslStage::Idle | SaslStage::Proxied | SaslStage::Done => fail(
            broker,
            session,
            req,
            ErrorCode::ILLEGAL_SASL_STATE,
            None,
            "SaslAuthenticate without a SaslHandshake",
        ),
        SaslStage::Chosen(_) if blocked(None).is_some() => {
            blocked_fail(session, req, None, blocked(None))
        }
        SaslStage::Chosen(Mechanism::Plain) => {
            let (user, password) = match plain::parse(&token) {
                Ok(x) => x,
                Err(e) => {
                    return fail(
                        broker,
                        session,
                        req,
                        ErrorCode::SASL_AUTHENTICATION_FAILED,
                        None,
                        &e,
                    )
                }
            };
            if let Some(left) = blocked(Some(&user)) {
                return blocked_fail(session, req, Some(&user), Some(left));
            }
            let found = broker.auth.login_keys(&user);
            let ok = match &found {
                Some((_, keys)) => {
                    let keys = keys.clone();
                    tokio::task::spawn_blocking(move || keys.verify_password(&password))
                        .await
                        .unwrap_or(false)
                }
                None => false,
            };
            match found {
                Some((principal, _)) if ok => {
                    succeed(broker, session, req, principal, Bytes::new())
                }
                _ => fail(
                    broker,
                    session,
                    req,
                    ErrorCode::SASL_AUTHENTICATION_FAILED,
                    Some(&user),
                    "invalid credentials (PLAIN)",
                ),
            }
        }
        SaslStage::Chosen(Mechanism::ScramSha256) => {
            let first = match scram::parse_client_first(&token) {
                Ok(f) => f,
                Err(e) => {
                    return fail(
                        broker,
                        session,
                        req,
                        ErrorCode::SASL_AUTHENTICATION_FAILED,
                        None,
                        &e.0,
                    )
                }
            };
            let keys = broker.auth.login_keys(&first.user).map(|(_, k)| k);
            let sf = scram::server_first(first, keys, &broker.auth.fake_seed)?;
            let bytes = answer(req, ErrorCode::NONE, None, Bytes::from(sf.message.clone()))?;
            session.sasl = SaslStage::ScramFinal(Box::new(sf));
            Ok(Reply::Now(bytes))
        }
        SaslStage::ScramFinal(sf) if blocked(Some(&sf.user)).is_some() => {
            blocked_fail(session, req, Some(&sf.user), blocked(Some(&sf.user)))
        }
        SaslStage::ScramFinal(sf) => match sf.finish(&token) {
            Ok(server_final) => {
                let principal = if sf.user == OPERATOR_USER {
                    Principal::Operator
                } else {
                    Principal::User(sf.user.clone())
                };
                succeed(broker, session, req, principal, Bytes::from(server_final))
            }
            Err(e) => fail(
                broker,
                session,
                req,
                ErrorCode::SASL_AUTHENTICATION_FAILED,
                Some(&sf.user),
                &format!("invalid credentials (SCRAM-SHA-256: {})", e.0),
            ),
        },
    }
}
