//! Produce and Fetch in front mode: each partition goes to its upstream leader (the
//! request is split when the partitions have several), after the same checks as on a
//! single server (WRITE to produce, READ to fetch); the answers are merged back in the
//! request's order. Requests are sent upstream before the
//! handler returns, so a client's pipelined produces reach the cluster in its order.
//!
//! Fetches use the client's fetch connections ([`crate::upstream::Links`]); a fetch the
//! cluster holds gives up waiting as soon as the client sends another request behind it
//! (as on a single server, see [`crate::broker::RequestCount`]) and answers with an
//! immediate fetch of the same partitions instead. Fetch sessions (KIP-227) are not
//! forwarded: every fetch is a full one, and the answer says no session was made.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ProduceRequest, ProduceResponse,
};
use wire::ErrorCode;

use super::super::Reply;
use super::policed;
use super::split::{self, Place};
use super::{route, ReqInfo};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::{Error, Result};
use crate::protocol::{decode_body, Request};
use crate::upstream::conn::{decode, Answer};
use crate::upstream::Upstream;

pub(super) async fn produce(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: ProduceRequest = decode_body(req)?;
    let may_create = |name: &str| {
        broker.config.auto_create_topics
            && !name.starts_with("__")
            && broker.authorize(session, Operation::Create, Resource::Topic(name))
    };
    // Records the host's policy writes itself (BBS topics) never go upstream as sent.
    let mut policed = policed::start(broker, session, &r);
    let wanted: Vec<(String, Vec<i32>, bool)> = r
        .topic_data
        .iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let ok = broker.authorize(session, Operation::Write, Resource::Topic(&name))
                && !broker
                    .auth
                    .policy
                    .as_ref()
                    .is_some_and(|p| p.applies_to(&name));
            (name, t.partition_data.iter().map(|p| p.index).collect(), ok)
        })
        .collect();
    let mut places = route(up, &wanted, &may_create).await?;
    // As on a single server, a batch may carry only a producer id its sender was given.
    for (ti, t) in r.topic_data.iter().enumerate() {
        for (pi, p) in t.partition_data.iter().enumerate() {
            if policed.contains_key(&(ti, pi)) || places[ti][pi].is_err() {
                continue;
            }
            let records = p.records.as_deref().unwrap_or(&[]);
            if let Err((code, message)) =
                super::super::producer_id::check_producers(broker, session, records)
            {
                places[ti][pi] = Err(code);
                policed.insert((ti, pi), policed::Policed::Refused(code, message));
            }
        }
    }
    let split = split::by_leader(
        &r,
        &places,
        |r| &mut r.topic_data,
        |t| &mut t.partition_data,
    );
    let mut answers: Vec<Answer> = Vec::new();
    for (leader, sub) in &split {
        let conn = session
            .links()
            .main(up, *leader, &session.client_id)
            .await?;
        let mut body = bytes::BytesMut::new();
        kafka_protocol::protocol::Encodable::encode(sub, &mut body, req.version)
            .map_err(|e| Error::Encode(format!("Produce: {e}")))?;
        if let Some(a) = conn.send_raw(ApiKey::Produce, req.version, &body, r.acks != 0)? {
            answers.push(a);
        }
    }
    if r.acks == 0 {
        // Nobody waits for the answers, but the policed writes still happen.
        for p in policed.into_values() {
            if let policed::Policed::Pending(pending) = p {
                tokio::spawn(pending);
            }
        }
        return Ok(Reply::Nothing);
    }
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    let peer = session.peer;
    Ok(Reply::Later(Box::pin(async move {
        let mut got = HashMap::new();
        for a in answers {
            let resp: ProduceResponse = decode(ApiKey::Produce, info.version, a.await)?;
            got.extend(split::gather(
                &up,
                resp.responses.into_iter().flat_map(|t| {
                    let name = t.name.0.to_string();
                    t.partition_responses
                        .into_iter()
                        .map(move |p| (name.clone(), p.index, p.error_code, p))
                }),
            ));
        }
        let mut resp = ProduceResponse::default();
        for (ti, t) in r.topic_data.iter().enumerate() {
            let mut tr = TopicProduceResponse::default();
            tr.name = t.name.clone();
            for (pi, p) in t.partition_data.iter().enumerate() {
                if let Some(one) = policed.remove(&(ti, pi)) {
                    let pr = policed::answer(one, peer, &t.name.0, p.index, info.version).await;
                    tr.partition_responses.push(pr);
                    continue;
                }
                let pr = split::answer(&mut got, places[ti][pi], &t.name.0, p.index, |e| {
                    let mut pr = PartitionProduceResponse::default();
                    pr.index = p.index;
                    pr.base_offset = -1;
                    pr.error_code = e.code();
                    pr
                });
                tr.partition_responses.push(pr);
            }
            resp.responses.push(tr);
        }
        info.encode(&resp).map(Some)
    })))
}

/// One fetch's sub-requests, by leader.
fn split_fetch(r: &FetchRequest, places: &[Vec<Place>], max_wait: i32) -> Vec<(i32, FetchRequest)> {
    let mut split: Vec<(i32, FetchRequest)> = Vec::new();
    for (ti, t) in r.topics.iter().enumerate() {
        for (pi, p) in t.partitions.iter().enumerate() {
            let Ok(leader) = places[ti][pi] else { continue };
            let idx = match split.iter().position(|(l, _)| *l == leader) {
                Some(i) => i,
                None => {
                    let mut s = r.clone();
                    s.topics.clear();
                    s.forgotten_topics_data.clear();
                    s.session_id = 0;
                    s.session_epoch = -1;
                    s.max_wait_ms = max_wait;
                    split.push((leader, s));
                    split.len() - 1
                }
            };
            let sub = &mut split[idx].1;
            match sub.topics.iter_mut().find(|x| x.topic == t.topic) {
                Some(x) => x.partitions.push(p.clone()),
                None => {
                    let mut x = t.clone();
                    x.partitions = vec![p.clone()];
                    sub.topics.push(x);
                }
            }
        }
    }
    split
}

/// Sends each sub-fetch on one of the client's fetch connections.
async fn send_fetches(
    up: &Upstream,
    session_links: &crate::upstream::Links,
    client_id: &str,
    version: i16,
    split: &[(i32, FetchRequest)],
) -> Result<Vec<(Arc<crate::upstream::UpConn>, Answer)>> {
    let mut out = Vec::new();
    for (leader, sub) in split {
        let conn = session_links.take_fetch(up, *leader, client_id).await?;
        let answer = conn.send(ApiKey::Fetch, version, sub)?;
        out.push((conn, answer));
    }
    Ok(out)
}

pub(super) async fn fetch(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let r: FetchRequest = decode_body(req)?;
    let wanted: Vec<(String, Vec<i32>, bool)> = r
        .topics
        .iter()
        .map(|t| {
            let name = t.topic.0.to_string();
            let ok = broker.authorize(session, Operation::Read, Resource::Topic(&name));
            (name, t.partitions.iter().map(|p| p.partition).collect(), ok)
        })
        .collect();
    let places = route(up, &wanted, &|_| false).await?;
    let split = split_fetch(&r, &places, r.max_wait_ms);
    let client_id = session.client_id.clone();
    let mut pending = send_fetches(up, session.links(), &client_id, req.version, &split).await?;
    let info = ReqInfo::of(req);
    let up = Arc::clone(up);
    let links = Arc::clone(session.links());
    let requests = Arc::clone(&session.requests);
    let seq = requests.count();
    Ok(Reply::Later(Box::pin(async move {
        let mut answers = Vec::new();
        let mut behind = Box::pin(requests.next());
        behind.as_mut().enable();
        let interrupted = requests.count() > seq || {
            let gather = async {
                for (_, a) in pending.iter_mut() {
                    answers.push(a.await);
                }
            };
            tokio::select! {
                () = gather => false,
                () = &mut behind => true,
            }
        };
        let done = answers.len();
        for (i, (conn, answer)) in pending.into_iter().enumerate() {
            if i < done {
                links.give_back(conn);
            } else {
                // Still held upstream: the connection is free again once it answers.
                let links = Arc::clone(&links);
                tokio::spawn(async move {
                    let _ = answer.await;
                    links.give_back(conn);
                });
            }
        }
        if interrupted {
            let quick = split_fetch(&r, &places, 0);
            answers.clear();
            for (conn, a) in send_fetches(&up, &links, &client_id, info.version, &quick).await? {
                answers.push(a.await);
                links.give_back(conn);
            }
        }
        let mut got: HashMap<(String, i32), PartitionData> = HashMap::new();
        for a in answers {
            let resp: FetchResponse = decode(ApiKey::Fetch, info.version, a)?;
            for t in resp.responses {
                for p in t.partitions {
                    if p.error_code == ErrorCode::NOT_LEADER_OR_FOLLOWER.code() {
                        up.forget_leader(t.topic.0.as_str(), p.partition_index);
                    }
                    got.insert((t.topic.0.to_string(), p.partition_index), p);
                }
            }
        }
        let mut resp = FetchResponse::default();
        for (ti, t) in r.topics.iter().enumerate() {
            let mut tr =
                kafka_protocol::messages::fetch_response::FetchableTopicResponse::default();
            tr.topic = t.topic.clone();
            tr.topic_id = t.topic_id;
            for (pi, p) in t.partitions.iter().enumerate() {
                let key = (t.topic.0.to_string(), p.partition);
                let pd = match (places[ti][pi], got.remove(&key)) {
                    (Ok(_), Some(pd)) => pd,
                    (place, _) => {
                        let mut pd = PartitionData::default();
                        pd.partition_index = p.partition;
                        pd.high_watermark = -1;
                        pd.error_code = place
                            .err()
                            .unwrap_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)
                            .code();
                        pd
                    }
                };
                tr.partitions.push(pd);
            }
            resp.responses.push(tr);
        }
        info.encode(&resp).map(Some)
    })))
}
