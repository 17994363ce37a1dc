//! One connection to one upstream broker: requests are pipelined, each answer is matched
//! to its request by correlation id, and one task owns the socket. Opening it runs
//! ApiVersions (the broker's ranges, kept for version negotiation) and, with a service
//! account, the SASL exchange (PLAIN, or SCRAM-SHA-256 through the workspace's one SCRAM
//! client, `client::sasl::ScramClient`). When the socket fails, every waiting request gets
//! an [`Error::Upstream`] and the connection reports itself dead so callers open another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use base64::Engine;
use bytes::{Bytes, BytesMut};
use client::Sasl;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Largest answer accepted from upstream (a fetch answer is at most the client's
/// `max_bytes`, 50 MiB by default, plus framing).
const MAX_RESPONSE: usize = 128 << 20;

/// An answer still on its way: the response body (header removed), or why not.
pub type Answer = oneshot::Receiver<Result<Bytes>>;

/// A request handed to the socket task.
struct Outgoing {
    frame: Bytes,
    correlation_id: i32,
    /// The API and version, to strip the right response header; `None`: no answer comes
    /// (acks=0 produce).
    reply: Option<(ApiKey, i16, oneshot::Sender<Result<Bytes>>)>,
}

/// A pipelined connection to one upstream broker.
pub struct UpConn {
    /// The upstream node id (-1 for a bootstrap address).
    pub node: i32,
    /// Requests to the socket task.
    tx: mpsc::UnboundedSender<Outgoing>,
    next_id: AtomicI32,
    /// Cleared by the socket task when the socket fails or closes.
    alive: Arc<AtomicBool>,
    client_id: StrBytes,
}

impl UpConn {
    /// Connects to `addr`, learns its API versions and logs in with `sasl`.
    pub async fn open(
        addr: &str,
        node: i32,
        client_id: &str,
        sasl: Option<&Sasl>,
    ) -> Result<(Arc<UpConn>, Vec<(i16, i16, i16)>)> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| Error::Upstream(format!("connecting to {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::unbounded_channel();
        let alive = Arc::new(AtomicBool::new(true));
        tokio::spawn(run(stream, rx, Arc::clone(&alive), addr.to_string()));
        let conn = Arc::new(UpConn {
            node,
            tx,
            next_id: AtomicI32::new(1),
            alive,
            client_id: StrBytes::from_string(client_id.to_string()),
        });
        let mut av = ApiVersionsRequest::default();
        av.client_software_name = StrBytes::from_static_str("bbs-front");
        av.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let resp: ApiVersionsResponse = conn.call(ApiKey::ApiVersions, 3, &av).await?;
        if resp.error_code != 0 {
            return Err(Error::Upstream(format!(
                "{addr} refused ApiVersions v3 (error {})",
                resp.error_code
            )));
        }
        let ranges: Vec<(i16, i16, i16)> = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        if let Some(sasl) = sasl {
            conn.login(sasl, &ranges).await?;
        }
        Ok((conn, ranges))
    }

    /// False once the socket has failed or closed.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Sends a request whose body is already encoded at `version`; the answer (body
    /// only) arrives on the returned receiver. `want_reply: false` is for acks=0.
    pub fn send_raw(
        &self,
        api: ApiKey,
        version: i16,
        body: &[u8],
        want_reply: bool,
    ) -> Result<Option<Answer>> {
        let correlation_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut header = RequestHeader::default();
        header.request_api_key = api as i16;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(self.client_id.clone());
        let mut out = BytesMut::with_capacity(body.len() + 64);
        out.extend_from_slice(&[0, 0, 0, 0]);
        header
            .encode(&mut out, api.request_header_version(version))
            .map_err(|e| Error::Encode(format!("{api:?} v{version} header: {e}")))?;
        out.extend_from_slice(body);
        let len = (out.len() - 4) as u32;
        out[..4].copy_from_slice(&len.to_be_bytes());
        let (reply, answer) = if want_reply {
            let (t, r) = oneshot::channel();
            (Some((api, version, t)), Some(r))
        } else {
            (None, None)
        };
        self.tx
            .send(Outgoing {
                frame: out.freeze(),
                correlation_id,
                reply,
            })
            .map_err(|_| Error::Upstream(format!("connection to node {} closed", self.node)))?;
        Ok(answer)
    }

    /// Encodes `req` at `version` and sends it (see [`UpConn::send_raw`]).
    pub fn send<Req: Encodable>(&self, api: ApiKey, version: i16, req: &Req) -> Result<Answer> {
        let mut body = BytesMut::new();
        req.encode(&mut body, version)
            .map_err(|e| Error::Encode(format!("{api:?} v{version}: {e}")))?;
        self.send_raw(api, version, &body, true)?
            .ok_or_else(|| Error::Upstream("no answer expected".into()))
    }

    /// Sends `req` and decodes the answer.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp> {
        let answer = self.send(api, version, req)?;
        decode(api, version, answer.await)
    }

    async fn login(&self, sasl: &Sasl, ranges: &[(i16, i16, i16)]) -> Result<()> {
        let auth_version = ranges
            .iter()
            .find(|(k, _, _)| *k == ApiKey::SaslAuthenticate as i16)
            .map(|(_, _, hi)| (*hi).min(2))
            .ok_or_else(|| Error::Upstream("upstream does not offer SASL".into()))?;
        let (mechanism, user, password) = match sasl {
            Sasl::Plain { username, password } => ("PLAIN", username, password),
            Sasl::ScramSha256 { username, password } => ("SCRAM-SHA-256", username, password),
        };
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str(mechanism);
        let resp: SaslHandshakeResponse = self.call(ApiKey::SaslHandshake, 1, &hs).await?;
        if resp.error_code != 0 {
            return Err(Error::Upstream(format!(
                "upstream refused {mechanism} (error {})",
                resp.error_code
            )));
        }
        if mechanism == "PLAIN" {
            let token = format!("\0{user}\0{password}");
            self.sasl_step(auth_version, token.into_bytes()).await?;
            return Ok(());
        }
        let mut raw = [0u8; 24];
        getrandom::fill(&mut raw).map_err(|e| Error::Upstream(format!("no randomness: {e}")))?;
        let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
        let mut scram = client::sasl::ScramClient::new(user, password, &nonce);
        let first = self
            .sasl_step(auth_version, scram.client_first().into_bytes())
            .await?;
        let last = scram
            .client_final(&first)
            .map_err(|e| Error::Upstream(format!("SCRAM: {e}")))?;
        let server_final = self.sasl_step(auth_version, last.into_bytes()).await?;
        scram
            .verify_server_final(&server_final)
            .map_err(|e| Error::Upstream(format!("SCRAM: {e}")))
    }

    async fn sasl_step(&self, version: i16, token: Vec<u8>) -> Result<Vec<u8>> {
        let mut req = SaslAuthenticateRequest::default();
        req.auth_bytes = Bytes::from(token);
        let resp: SaslAuthenticateResponse =
            self.call(ApiKey::SaslAuthenticate, version, &req).await?;
        if resp.error_code != 0 {
            return Err(Error::Upstream(format!(
                "the service account's login failed (error {}): {}",
                resp.error_code,
                resp.error_message.as_deref().unwrap_or("")
            )));
        }
        Ok(resp.auth_bytes.to_vec())
    }
}

/// Decodes an answer's body.
pub fn decode<Resp: Decodable>(
    api: ApiKey,
    version: i16,
    answer: std::result::Result<Result<Bytes>, oneshot::error::RecvError>,
) -> Result<Resp> {
    let mut body = answer.map_err(|_| Error::Upstream("connection closed".into()))??;
    Resp::decode(&mut body, version)
        .map_err(|e| Error::Upstream(format!("{api:?} v{version} answer: {e}")))
}

/// The socket task: writes requests in the order sent, reads answers and hands each to
/// its waiter. Ends when every [`UpConn`] handle is gone or the socket fails.
async fn run(
    stream: TcpStream,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    alive: Arc<AtomicBool>,
    addr: String,
) {
    let (mut rd, mut wr) = stream.into_split();
    let mut waiting: HashMap<i32, (ApiKey, i16, oneshot::Sender<Result<Bytes>>)> = HashMap::new();
    let mut buf = BytesMut::new();
    let why = loop {
        tokio::select! {
            out = rx.recv() => {
                let Some(out) = out else { break "closed".to_string() };
                if let Some(reply) = out.reply {
                    waiting.insert(out.correlation_id, reply);
                }
                if let Err(e) = wr.write_all(&out.frame).await {
                    break format!("write failed: {e}");
                }
            }
            read = rd.read_buf(&mut buf) => {
                match read {
                    Ok(0) => break "upstream closed the connection".to_string(),
                    Err(e) => break format!("read failed: {e}"),
                    Ok(_) => {}
                }
                if let Err(e) = dispatch(&mut buf, &mut waiting) {
                    break e.to_string();
                }
            }
        }
    };
    alive.store(false, Ordering::Release);
    tracing::debug!(upstream = %addr, reason = %why, "upstream connection ended");
    for (_, (_, _, tx)) in waiting.drain() {
        let _ = tx.send(Err(Error::Upstream(format!("{addr}: {why}"))));
    }
}

/// Hands every whole answer in `buf` to its waiter.
fn dispatch(
    buf: &mut BytesMut,
    waiting: &mut HashMap<i32, (ApiKey, i16, oneshot::Sender<Result<Bytes>>)>,
) -> Result<()> {
    while let Some(mut frame) = wire::frame::take_frame(buf, MAX_RESPONSE)? {
        let id = wire::header::correlation_id(&frame)
            .ok_or_else(|| Error::Upstream("answer without a header".into()))?;
        let Some((api, version, tx)) = waiting.remove(&id) else {
            return Err(Error::Upstream(format!("answer to unknown request {id}")));
        };
        wire::header::skip_response_header(&mut frame, api, version)?;
        let _ = tx.send(Ok(frame));
    }
    Ok(())
}
