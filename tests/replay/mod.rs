//! A scripted fake broker that replays a capture made by `bbs-bench capture` (the real
//! exchange between our client and an independent broker such as Tansu). Each request is
//! answered with the recorded response to the same request: the same API, version and body
//! (header aside) when one was recorded, served in recorded order with the last one
//! repeating; otherwise the next unused recorded response of the same API and version.
//! Produce bodies carry times and group records differently from run to run, so a Produce
//! is answered partition by partition with each partition's next recorded answer. Metadata and
//! FindCoordinator responses are rewritten to advertise the fake's own address. The fake
//! keeps a log of what it could not match, for the test's failure message.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorResponse, MetadataResponse, ProduceRequest, ProduceResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

/// One recorded request and the response it got.
#[derive(Debug, Clone)]
struct Pair {
    api: i16,
    version: i16,
    /// The request body after its header.
    request: Bytes,
    /// The response body after its header.
    response: Bytes,
}

/// A recorded response body, written as it is after the header the wire crate encodes.
struct Raw(Bytes);

impl Encodable for Raw {
    fn encode<B: kafka_protocol::protocol::buf::ByteBufMut>(
        &self,
        buf: &mut B,
        _version: i16,
    ) -> anyhow::Result<()> {
        buf.put_slice(&self.0);
        Ok(())
    }
    fn compute_size(&self, _version: i16) -> anyhow::Result<usize> {
        Ok(self.0.len())
    }
}

/// Recorded responses, consumed as requests arrive.
#[derive(Default)]
struct Script {
    pairs: Vec<Pair>,
    /// How many times each pair was served.
    served: Vec<usize>,
    /// Recorded per-partition Produce answers already handed out, by `(topic, partition)`.
    produce_used: HashMap<(String, i32), usize>,
    /// Requests that had no recorded response of their API and version.
    unmatched: Vec<String>,
}

/// A running replay on a port of its own.
pub(crate) struct Replay {
    pub addr: String,
    script: Arc<Mutex<Script>>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// A request frame's api key, version and correlation id, and its body (after the header,
/// decoded by the wire crate).
fn request_header(frame: &Bytes) -> Option<(i16, i16, i32, Bytes)> {
    let api = i16::from_be_bytes(frame.get(..2)?.try_into().ok()?);
    let version = i16::from_be_bytes(frame.get(2..4)?.try_into().ok()?);
    let key = ApiKey::try_from(api).ok()?;
    let mut body = frame.clone();
    let header = wire::header::decode_request_header(&mut body, key, version).ok()?;
    Some((api, version, header.correlation_id, body))
}

/// A response frame's body (after the header) for `api` at `version`.
fn response_body(api: i16, version: i16, frame: &Bytes) -> Option<Bytes> {
    let key = ApiKey::try_from(api).ok()?;
    let mut body = frame.clone();
    wire::header::decode_response_header(&mut body, key, version).ok()?;
    Some(body)
}

/// Parses a capture file into request/response pairs (matched by connection and
/// correlation id).
fn load(path: &Path) -> Vec<Pair> {
    let text = std::fs::read_to_string(path).expect("capture file");
    let mut open: HashMap<(u64, i32), (i16, i16, Bytes)> = HashMap::new();
    let mut pairs = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (Some(dir), Some(conn), Some(hex)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(conn) = conn.parse::<u64>() else {
            continue;
        };
        let frame = Bytes::from(unhex(hex));
        match dir {
            ">" => {
                if let Some((api, version, corr, body)) = request_header(&frame) {
                    open.insert((conn, corr), (api, version, body));
                }
            }
            "<" => {
                let Some(corr) = wire::header::correlation_id(&frame) else {
                    continue;
                };
                if let Some((api, version, request)) = open.remove(&(conn, corr)) {
                    if let Some(response) = response_body(api, version, &frame) {
                        pairs.push(Pair {
                            api,
                            version,
                            request,
                            response,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    pairs
}

impl Replay {
    /// Starts replaying the capture at `path` on a free loopback port.
    pub(crate) fn start(path: &Path) -> Replay {
        let pairs = load(path);
        assert!(!pairs.is_empty(), "no exchanges in {}", path.display());
        let served = vec![0; pairs.len()];
        let script = Arc::new(Mutex::new(Script {
            produce_used: HashMap::new(),
            pairs,
            served,
            unmatched: Vec::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (s, a) = (script.clone(), addr.clone());
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, a) = (s.clone(), a.clone());
                thread::spawn(move || serve(conn, &s, &a));
            }
        });
        Replay { addr, script }
    }

    /// Requests that found no recorded response, as `api vVERSION` lines.
    pub(crate) fn unmatched(&self) -> Vec<String> {
        self.script
            .lock()
            .map(|s| s.unmatched.clone())
            .unwrap_or_default()
    }
}

fn serve(mut conn: TcpStream, script: &Mutex<Script>, addr: &str) {
    let _ = conn.set_nodelay(true);
    loop {
        let Ok(frame) = crate::common::read_frame(&mut conn) else {
            return;
        };
        let Some((api, version, corr, request)) = request_header(&Bytes::from(frame)) else {
            return;
        };
        let Some(body) = answer(script, api, version, &request, addr) else {
            return;
        };
        let Ok(key) = ApiKey::try_from(api) else {
            return;
        };
        let Ok(out) = wire::header::response(corr, key, version, &Raw(body)) else {
            return;
        };
        if conn.write_all(&out).is_err() {
            return;
        }
    }
}

/// The recorded response for one request (see the module docs), rewritten for this address.
fn answer(
    script: &Mutex<Script>,
    api: i16,
    version: i16,
    body: &[u8],
    addr: &str,
) -> Option<Bytes> {
    let mut s = script.lock().ok()?;
    let same = |p: &Pair| p.api == api && p.version == version;
    let exact: Vec<usize> = (0..s.pairs.len())
        .filter(|&i| same(&s.pairs[i]) && s.pairs[i].request == body)
        .collect();
    let pick = if !exact.is_empty() {
        exact
            .iter()
            .copied()
            .find(|&i| s.served[i] == 0)
            .unwrap_or(exact[exact.len() - 1])
    } else if api == ApiKey::Produce as i16 {
        // Produce bodies carry times, and how records group into requests varies from run
        // to run: answer each partition with that partition's next recorded answer.
        let response = produce_answer(&mut s, version, body);
        if response.is_none() {
            s.unmatched.push(format!("{api} v{version}"));
        }
        return response;
    } else {
        let any: Vec<usize> = (0..s.pairs.len()).filter(|&i| same(&s.pairs[i])).collect();
        match any.iter().copied().find(|&i| s.served[i] == 0) {
            Some(i) => i,
            None => match any.last() {
                Some(&i) => i,
                None => {
                    s.unmatched.push(format!("{api} v{version}"));
                    return None;
                }
            },
        }
    };
    s.served[pick] += 1;
    let response = s.pairs[pick].response.clone();
    drop(s);
    Some(rewrite(api, version, response, addr))
}

/// A Produce response for `body` made of the recorded per-partition answers (in recorded
/// order per partition, the last one repeating).
fn produce_answer(s: &mut Script, version: i16, body: &[u8]) -> Option<Bytes> {
    let req = ProduceRequest::decode(&mut Bytes::copy_from_slice(body), version).ok()?;
    let mut recorded: HashMap<(String, i32), Vec<PartitionProduceResponse>> = HashMap::new();
    for p in s
        .pairs
        .iter()
        .filter(|p| p.api == ApiKey::Produce as i16 && p.version == version)
    {
        let Ok(r) = ProduceResponse::decode(&mut p.response.clone(), version) else {
            continue;
        };
        for t in r.responses {
            for pr in t.partition_responses {
                recorded
                    .entry((t.name.0.to_string(), pr.index))
                    .or_default()
                    .push(pr);
            }
        }
    }
    let mut resp = ProduceResponse::default();
    for t in &req.topic_data {
        let mut tr = TopicProduceResponse::default();
        tr.name = t.name.clone();
        for p in &t.partition_data {
            let key = (t.name.0.to_string(), p.index);
            let answers = recorded.get(&key)?;
            let used = s.produce_used.entry(key).or_insert(0);
            let pick = answers.get(*used).or(answers.last())?.clone();
            *used += 1;
            tr.partition_responses.push(pick);
        }
        resp.responses.push(tr);
    }
    let mut out = BytesMut::new();
    resp.encode(&mut out, version).ok()?;
    Some(out.freeze())
}

/// Points the brokers and coordinators of a Metadata or FindCoordinator response at `addr`.
fn rewrite(api: i16, version: i16, body: Bytes, addr: &str) -> Bytes {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return body;
    };
    let port: i32 = port.parse().unwrap_or(0);
    let host = StrBytes::from_string(host.to_string());
    let encode = |r: &dyn Fn(&mut BytesMut) -> anyhow::Result<()>| -> Option<Bytes> {
        let mut out = BytesMut::new();
        r(&mut out).ok().map(|()| out.freeze())
    };
    if api == ApiKey::Metadata as i16 {
        let Ok(mut m) = MetadataResponse::decode(&mut body.clone(), version) else {
            return body;
        };
        for b in &mut m.brokers {
            b.host = host.clone();
            b.port = port;
        }
        return encode(&|out| m.encode(out, version)).unwrap_or(body);
    }
    if api == ApiKey::FindCoordinator as i16 {
        let Ok(mut f) = FindCoordinatorResponse::decode(&mut body.clone(), version) else {
            return body;
        };
        f.host = host.clone();
        f.port = port;
        for c in &mut f.coordinators {
            c.host = host.clone();
            c.port = port;
        }
        return encode(&|out| f.encode(out, version)).unwrap_or(body);
    }
    body
}
