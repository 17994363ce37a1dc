//! InitProducerId for idempotent producers, and the ownership check Produce runs on every
//! batch that carries a producer id: an id is used only by the identity it was issued to
//! (see [`crate::producer_ids`]), so nobody can bump another client's epoch, write as that
//! client, or make the server drop another client's batch as a duplicate.

use std::sync::Arc;
use wire::ErrorCode;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{respond, Reply};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::producer_ids::Owner;
use crate::protocol::{decode_body, Request};
use crate::record;

/// An InitProducerId error (the response has no message field; the log says why).
pub(super) fn refuse(req: &Request, code: ErrorCode) -> Result<Reply> {
    let mut resp = InitProducerIdResponse::default();
    resp.error_code = code.code();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    respond(req, &resp)
}

pub(super) async fn init_producer_id(
    broker: &Arc<Broker>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: InitProducerIdRequest = decode_body(req)?;
    if r.transactional_id.is_some() {
        return refuse(req, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    let who = Owner::of(&session.principal, session.peer);
    if r.producer_id.0 >= 0 && r.producer_epoch >= 0 {
        // KIP-360: a known producer bumps its epoch instead of taking a new id, but only
        // the id's owner may.
        if let Err(refusal) = broker.producer_ids.check(r.producer_id.0, &who) {
            tracing::info!(peer = %session.peer, principal = %session.principal, pid = r.producer_id.0, owner = ?broker.producer_ids.owner(r.producer_id.0).map(|o| o.to_string()), "InitProducerId refused: {refusal}");
            return refuse(req, ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if r.producer_epoch < i16::MAX - 1 {
            let mut resp = InitProducerIdResponse::default();
            resp.producer_id = r.producer_id;
            resp.producer_epoch = r.producer_epoch + 1;
            return respond(req, &resp);
        }
    }
    let mut resp = InitProducerIdResponse::default();
    match broker.producer_ids.allocate(who).await {
        Ok(id) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err(e) => {
            tracing::error!(error = %e, "could not allocate a producer id");
            return refuse(req, ErrorCode::COORDINATOR_NOT_AVAILABLE); // retriable
        }
    }
    respond(req, &resp)
}

/// Checks that every batch in `records` that carries a producer id carries one this
/// session owns. Only batch headers are read (no CRC, no decompression); records the log
/// would reject as malformed are left for the append to refuse.
pub(super) fn check_producers(
    broker: &Broker,
    session: &Session,
    records: &[u8],
) -> std::result::Result<(), (ErrorCode, Option<String>)> {
    let who = Owner::of(&session.principal, session.peer);
    let mut at = 0;
    while at < records.len() {
        let rest = &records[at..];
        let Ok(Some(size)) = record::peek_size(rest) else {
            return Ok(());
        };
        let Some(batch) = rest.get(..size) else {
            return Ok(());
        };
        let Ok(h) = record::parse_header(batch) else {
            return Ok(());
        };
        if h.producer_id >= 0 {
            if let Err(refusal) = broker.producer_ids.check(h.producer_id, &who) {
                tracing::info!(peer = %session.peer, principal = %session.principal, pid = h.producer_id, "produce refused: {refusal}");
                return Err((
                    ErrorCode::INVALID_PRODUCER_ID_MAPPING,
                    Some(refusal.to_string()),
                ));
            }
        }
        at += size.max(1);
    }
    Ok(())
}
