//! A scripted fake Kafka cluster for client tests: several TCP listeners owned by the test,
//! each a "broker" with its own node id, decoding requests with kafka-protocol's broker side.
//! They answer Metadata from a leader table the test can change, accept Produce and Fetch
//! only on a partition's leader (NOT_LEADER_OR_FOLLOWER elsewhere), store batches in memory,
//! optionally require SASL (PLAIN or SCRAM-SHA-256), and log which node got which request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use hmac::{Hmac, Mac};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};
use sha2::{Digest, Sha256};
use wire::ErrorCode;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One request as a node saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    /// Node id that received it.
    pub node: i32,
    /// API.
    pub api: ApiKey,
    /// `topic/partition` for Produce and Fetch (one entry per partition), else "".
    pub partition: String,
    /// Error code answered for that partition (0 = accepted).
    pub error: i16,
}

/// Mutable cluster state shared by all nodes.
#[derive(Default)]
pub(crate) struct State {
    /// Leader node per (topic, partition).
    pub leaders: HashMap<(String, i32), i32>,
    /// Stored batches per partition: (base offset, bytes).
    pub logs: HashMap<(String, i32), Vec<(i64, Bytes)>>,
    /// Every request.
    pub seen: Vec<Seen>,
    /// Required credentials: (mechanism, user, password).
    pub sasl: Option<(String, String, String)>,
}

/// The running fake cluster.
pub(crate) struct FakeCluster {
    /// `host:port` per node id (index).
    pub addrs: Vec<String>,
    /// Shared state.
    pub state: Arc<Mutex<State>>,
}

impl FakeCluster {
    /// Starts `nodes` brokers.
    pub(crate) fn start(nodes: usize) -> FakeCluster {
        let state = Arc::new(Mutex::new(State::default()));
        let listeners: Vec<TcpListener> = (0..nodes)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
            .collect();
        let addrs: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().expect("addr").to_string())
            .collect();
        for (node, l) in listeners.into_iter().enumerate() {
            let (st, addrs) = (state.clone(), addrs.clone());
            std::thread::spawn(move || {
                for conn in l.incoming().flatten() {
                    let (st, addrs) = (st.clone(), addrs.clone());
                    std::thread::spawn(move || serve(node as i32, conn, st, addrs));
                }
            });
        }
        FakeCluster { addrs, state }
    }

    /// Sets the leader of `topic`/`partition`.
    pub(crate) fn set_leader(&self, topic: &str, partition: i32, node: i32) {
        self.state
            .lock()
            .expect("state")
            .leaders
            .insert((topic.to_string(), partition), node);
    }

    /// Requires SASL with `mechanism` for `user`/`password`.
    pub(crate) fn require_sasl(&self, mechanism: &str, user: &str, password: &str) {
        self.state.lock().expect("state").sasl =
            Some((mechanism.into(), user.into(), password.into()));
    }

    /// Every request so far.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.state.lock().expect("state").seen.clone()
    }

    /// Clears the request log.
    pub(crate) fn clear_seen(&self) {
        self.state.lock().expect("state").seen.clear();
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Per-connection SASL progress.
#[derive(Default)]
struct Session {
    authenticated: bool,
    mechanism: Option<String>,
    scram: Option<(String, String)>, // (client-first-bare, server-first)
}

fn serve(node: i32, mut conn: TcpStream, state: Arc<Mutex<State>>, addrs: Vec<String>) {
    let mut session = Session::default();
    loop {
        let Ok(frame) = crate::common::read_frame(&mut conn) else {
            return;
        };
        let mut frame = Bytes::from(frame);
        let key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let Ok(api) = ApiKey::try_from(key) else {
            return;
        };
        let Ok(header) = wire::header::decode_request_header(&mut frame, api, version) else {
            return;
        };
        let needs_auth = state.lock().expect("state").sasl.is_some();
        if needs_auth
            && !session.authenticated
            && !matches!(
                api,
                ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
            )
        {
            return; // like a real broker: drop unauthenticated requests
        }
        let reply = handle(node, api, version, frame, &state, &addrs, &mut session);
        let Some(reply) = reply else { return };
        let out = match reply {
            Reply::Body(enc) => enc(header.correlation_id),
        };
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}

enum Reply {
    Body(Box<dyn FnOnce(i32) -> Bytes>),
}

fn respond<T: kafka_protocol::protocol::Encodable + 'static>(
    api: ApiKey,
    version: i16,
    body: T,
) -> Option<Reply> {
    Some(Reply::Body(Box::new(move |id| {
        wire::header::response(id, api, version, &body).expect("encode response")
    })))
}

fn log(state: &Arc<Mutex<State>>, node: i32, api: ApiKey, partition: String, error: i16) {
    state.lock().expect("state").seen.push(Seen {
        node,
        api,
        partition,
        error,
    });
}

#[allow(clippy::too_many_lines)]
fn handle(
    node: i32,
    api: ApiKey,
    version: i16,
    mut body: Bytes,
    state: &Arc<Mutex<State>>,
    addrs: &[String],
    session: &mut Session,
) -> Option<Reply> {
    match api {
        ApiKey::ApiVersions => {
            let mut r = ApiVersionsResponse::default();
            for (k, lo, hi) in [
                (ApiKey::Produce, 3, 9),
                (ApiKey::Fetch, 4, 12),
                (ApiKey::ListOffsets, 1, 7),
                (ApiKey::Metadata, 1, 12),
                (ApiKey::ApiVersions, 0, 3),
                (ApiKey::InitProducerId, 0, 4),
                (ApiKey::SaslHandshake, 1, 1),
                (ApiKey::SaslAuthenticate, 0, 2),
            ] {
                let mut v = ApiVersion::default();
                v.api_key = k as i16;
                v.min_version = lo;
                v.max_version = hi;
                r.api_keys.push(v);
            }
            respond(api, version.min(3), r)
        }
        ApiKey::Metadata => {
            log(state, node, api, String::new(), 0);
            let req = MetadataRequest::decode(&mut body, version).ok()?;
            let wanted: Option<Vec<String>> = req.topics.map(|ts| {
                ts.iter()
                    .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                    .collect()
            });
            let st = state.lock().expect("state");
            let mut r = MetadataResponse::default();
            for (id, a) in addrs.iter().enumerate() {
                let (host, port) = a.rsplit_once(':').expect("host:port");
                let mut b = MetadataResponseBroker::default();
                b.node_id = BrokerId(id as i32);
                b.host = sb(host);
                b.port = port.parse().expect("port");
                r.brokers.push(b);
            }
            r.controller_id = BrokerId(0);
            let mut topics: HashMap<&str, Vec<(i32, i32)>> = HashMap::new();
            for ((t, p), l) in &st.leaders {
                if wanted.as_ref().is_none_or(|w| w.contains(t)) {
                    topics.entry(t.as_str()).or_default().push((*p, *l));
                }
            }
            for (t, mut parts) in topics {
                parts.sort();
                let mut mt = MetadataResponseTopic::default();
                mt.name = Some(TopicName(sb(t)));
                for (p, l) in parts {
                    let mut mp = MetadataResponsePartition::default();
                    mp.partition_index = p;
                    mp.leader_id = BrokerId(l);
                    mp.replica_nodes = vec![BrokerId(l)];
                    mp.isr_nodes = vec![BrokerId(l)];
                    mt.partitions.push(mp);
                }
                r.topics.push(mt);
            }
            respond(api, version, r)
        }
        ApiKey::InitProducerId => {
            log(state, node, api, String::new(), 0);
            let mut r = InitProducerIdResponse::default();
            r.producer_id = ProducerId(7);
            r.producer_epoch = 0;
            respond(api, version, r)
        }
        ApiKey::Produce => {
            let req = ProduceRequest::decode(&mut body, version).ok()?;
            let mut r = ProduceResponse::default();
            for t in req.topic_data {
                let mut tr = TopicProduceResponse::default();
                tr.name = t.name.clone();
                for p in t.partition_data {
                    let key = (t.name.0.to_string(), p.index);
                    let mut st = state.lock().expect("state");
                    let leader = st.leaders.get(&key).copied();
                    let mut pr = PartitionProduceResponse::default();
                    pr.index = p.index;
                    if leader != Some(node) {
                        pr.error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
                        pr.base_offset = -1;
                    } else {
                        let log = st.logs.entry(key.clone()).or_default();
                        let next = log.last().map_or(0, |(base, b)| {
                            let h = broker::record::parse_header(b).expect("stored batch");
                            base + i64::from(h.last_offset_delta) + 1
                        });
                        let mut batch = BytesMut::from(&p.records.unwrap_or_default()[..]);
                        broker::record::set_base_offset(&mut batch, next);
                        log.push((next, batch.freeze()));
                        pr.base_offset = next;
                    }
                    pr.log_append_time_ms = -1;
                    let code = pr.error_code;
                    drop(st);
                    log(state, node, api, format!("{}/{}", key.0, key.1), code);
                    tr.partition_responses.push(pr);
                }
                r.responses.push(tr);
            }
            if req.acks == 0 {
                return Some(Reply::Body(Box::new(|_| Bytes::new())));
            }
            respond(api, version, r)
        }
        ApiKey::Fetch => {
            let req = FetchRequest::decode(&mut body, version).ok()?;
            let mut r = FetchResponse::default();
            let mut any = false;
            for t in req.topics {
                let mut tr = FetchableTopicResponse::default();
                tr.topic = t.topic.clone();
                for p in t.partitions {
                    let key = (t.topic.0.to_string(), p.partition);
                    let st = state.lock().expect("state");
                    let mut pd = PartitionData::default();
                    pd.partition_index = p.partition;
                    if st.leaders.get(&key).copied() != Some(node) {
                        pd.error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
                    } else {
                        let mut data = BytesMut::new();
                        let mut hw = 0;
                        for (base, b) in st.logs.get(&key).into_iter().flatten() {
                            let h = broker::record::parse_header(b).expect("stored batch");
                            let last = base + i64::from(h.last_offset_delta);
                            hw = last + 1;
                            if last >= p.fetch_offset {
                                data.extend_from_slice(b);
                            }
                        }
                        any |= !data.is_empty();
                        pd.high_watermark = hw;
                        pd.last_stable_offset = hw;
                        pd.records = Some(data.freeze());
                    }
                    let code = pd.error_code;
                    drop(st);
                    log(state, node, api, format!("{}/{}", key.0, key.1), code);
                    tr.partitions.push(pd);
                }
                r.responses.push(tr);
            }
            if !any {
                std::thread::sleep(Duration::from_millis(20));
            }
            respond(api, version, r)
        }
        ApiKey::ListOffsets => {
            let req = ListOffsetsRequest::decode(&mut body, version).ok()?;
            let mut r = ListOffsetsResponse::default();
            let st = state.lock().expect("state");
            for t in req.topics {
                let mut tr = ListOffsetsTopicResponse::default();
                tr.name = t.name.clone();
                for p in t.partitions {
                    let key = (t.name.0.to_string(), p.partition_index);
                    let mut pr = ListOffsetsPartitionResponse::default();
                    pr.partition_index = p.partition_index;
                    if st.leaders.get(&key).copied() != Some(node) {
                        pr.error_code = ErrorCode::NOT_LEADER_OR_FOLLOWER.code();
                    } else {
                        let end =
                            st.logs
                                .get(&key)
                                .and_then(|l| l.last())
                                .map_or(0, |(base, b)| {
                                    let h = broker::record::parse_header(b).expect("stored batch");
                                    base + i64::from(h.last_offset_delta) + 1
                                });
                        pr.offset = if p.timestamp == -2 { 0 } else { end };
                        pr.timestamp = -1;
                    }
                    tr.partitions.push(pr);
                }
                r.topics.push(tr);
            }
            respond(api, version, r)
        }
        ApiKey::SaslHandshake => {
            let req = SaslHandshakeRequest::decode(&mut body, version).ok()?;
            let mut r = SaslHandshakeResponse::default();
            r.mechanisms = vec![sb("PLAIN"), sb("SCRAM-SHA-256")];
            session.mechanism = Some(req.mechanism.to_string());
            respond(api, version, r)
        }
        ApiKey::SaslAuthenticate => {
            let req = SaslAuthenticateRequest::decode(&mut body, version).ok()?;
            let creds = state.lock().expect("state").sasl.clone();
            let (mech, user, pass) = creds.unwrap_or_default();
            let mut r = SaslAuthenticateResponse::default();
            let token = String::from_utf8_lossy(&req.auth_bytes).into_owned();
            match session.mechanism.as_deref() {
                Some("PLAIN") if mech == "PLAIN" => {
                    if token == format!("\0{user}\0{pass}") {
                        session.authenticated = true;
                    } else {
                        r.error_code = ErrorCode::SASL_AUTHENTICATION_FAILED.code();
                        r.error_message = Some(sb("bad credentials"));
                    }
                }
                Some("SCRAM-SHA-256") if mech == "SCRAM-SHA-256" => match session.scram.take() {
                    None => {
                        let bare = token.trim_start_matches("n,,").to_string();
                        let cnonce = bare.split(",r=").nth(1).unwrap_or("").to_string();
                        let first = format!("r={cnonce}SERVER,s={},i=4096", B64.encode(b"salty"));
                        r.auth_bytes = Bytes::from(first.clone());
                        session.scram = Some((bare, first));
                    }
                    Some((bare, first)) => {
                        match scram_verify(&user, &pass, &bare, &first, &token) {
                            Some(server_final) => {
                                session.authenticated = true;
                                r.auth_bytes = Bytes::from(server_final);
                            }
                            None => {
                                r.error_code = ErrorCode::SASL_AUTHENTICATION_FAILED.code();
                                r.error_message = Some(sb("bad proof"));
                            }
                        }
                    }
                },
                _ => {
                    r.error_code = ErrorCode::UNSUPPORTED_SASL_MECHANISM.code();
                }
            }
            respond(api, version, r)
        }
        _ => None,
    }
}

type HmacSha256 = Hmac<Sha256>;
fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("hmac");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// Checks a SCRAM client-final; returns server-final when the proof is right.
fn scram_verify(user: &str, pass: &str, bare: &str, first: &str, fin: &str) -> Option<String> {
    if !bare.starts_with(&format!("n={user},")) {
        return None;
    }
    let (without_proof, proof) = fin.rsplit_once(",p=")?;
    let proof = B64.decode(proof).ok()?;
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(pass.as_bytes(), b"salty", 4096, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored = Sha256::digest(&client_key);
    let auth = format!("{bare},{first},{without_proof}");
    let sig = hmac(&stored, auth.as_bytes());
    let recovered: Vec<u8> = proof.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    if Sha256::digest(&recovered).as_slice() != stored.as_slice() {
        return None;
    }
    let server_key = hmac(&salted, b"Server Key");
    Some(format!(
        "v={}",
        B64.encode(hmac(&server_key, auth.as_bytes()))
    ))
}
