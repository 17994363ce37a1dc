//! One TCP connection to one broker: correlation ids and pipelining (framing and headers
//! are the wire crate's).
//!
//! Requests are written by the calling thread under a lock (`io`; what the socket does not
//! take at once is queued, and the client's network thread, [`crate::net`], finishes the
//! write). That thread also reads the response frames of the client's
//! connections (a consumer's own are read by its poll thread instead, see
//! [`Net::pumped`]) and hands each to whoever waits for its correlation id: a blocked caller
//! ([`Connection::call`]) or a callback ([`Connection::send`], used by the producer, the
//! fetcher and heartbeats to keep many requests in flight), so answers may come in any
//! order. When the socket fails, every waiter gets an [`Error::Connection`] and the
//! connection is dead for good; the pool (`pool`) opens a new one. Opening a connection
//! negotiates versions (ApiVersions) and authenticates (SASL, [`crate::sasl`], over this
//! connection as its [`sasl::Channel`]) before anyone can use it.

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use parking_lot::Mutex;

mod io;

use super::config::ClientConfig;
use super::net::Net;
use super::sasl;
use super::versions::Versions;
use crate::error::{Error, Result};

/// Called on the client's network thread with a response body (header removed); it must
/// not block.
pub type Callback = Box<dyn FnOnce(Result<Bytes>) + Send>;

/// Who gets a response.
enum ReplyTo {
    /// A caller blocked in [`Connection::call`].
    Channel(mpsc::SyncSender<Result<Bytes>>),
    /// A callback run on the network thread.
    Callback(Callback),
}

impl ReplyTo {
    fn deliver(self, result: Result<Bytes>) {
        match self {
            ReplyTo::Channel(tx) => {
                let _ = tx.send(result);
            }
            ReplyTo::Callback(cb) => cb(result),
        }
    }
}

/// A request waiting for its response.
struct Waiter {
    /// Needed to read the response header (its version depends on the request's).
    api: ApiKey,
    /// The request's version.
    version: i16,
    /// Where the body goes.
    reply: ReplyTo,
}

/// Hashes correlation ids with one multiplication instead of SipHash: the keys are the
/// client's own sequence numbers (an answer only looks one up), so nothing to defend.
#[derive(Default, Clone, Copy)]
struct IdHash(u64);

impl std::hash::Hasher for IdHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_i32(&mut self, id: i32) {
        self.0 = u64::from(id as u32).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// Requests waiting for their answers, by correlation id.
type Pending = HashMap<i32, Waiter, std::hash::BuildHasherDefault<IdHash>>;

/// State shared by the connection handle and the network thread.
pub(crate) struct Shared {
    /// `host:port`, for errors and logs (shared with the callbacks that report them).
    addr: Arc<str>,
    /// The socket (non-blocking).
    pub(crate) stream: TcpStream,
    /// Serializes writes so that frames never interleave; holds what waits to be written.
    writer: Mutex<Writer>,
    /// Bytes read and not yet cut into frames (only the network thread locks it).
    rbuf: Mutex<BytesMut>,
    /// Largest response frame accepted.
    max_frame: usize,
    /// Requests sent and not yet answered, by correlation id.
    pending: Mutex<Pending>,
    /// Set once the socket failed or was closed; the reason is in `failure`.
    dead: AtomicBool,
    /// Why the connection died.
    failure: Mutex<Option<String>>,
    /// The socket's receive timeout as last set, in milliseconds (`u64::MAX`: never set),
    /// so that [`Shared::read_blocking`] sets it only when it changes.
    recv_timeout_ms: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// False once the socket failed or was closed.
    pub(crate) fn is_alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst)
    }

    /// Marks the connection dead and fails every waiter.
    pub(crate) fn fail(&self, reason: String) {
        let _ = self.stream.shutdown(Shutdown::Both);
        self.failure.lock().get_or_insert(reason.clone());
        self.dead.store(true, Ordering::SeqCst);
        let waiters: Vec<Waiter> = self.pending.lock().drain().map(|(_, w)| w).collect();
        for w in waiters {
            w.reply.deliver(Err(Error::Connection {
                addr: self.addr.to_string(),
                reason: reason.clone(),
            }));
        }
    }

    fn error(&self) -> Error {
        let reason = self
            .failure
            .lock()
            .clone()
            .unwrap_or_else(|| "connection closed".into());
        Error::Connection {
            addr: self.addr.to_string(),
            reason,
        }
    }
}

/// The writing side's buffers.
struct Writer {
    /// Reused encode buffer.
    buf: BytesMut,
    /// Encoded bytes the socket has not taken yet (the network thread writes them).
    queued: BytesMut,
}

/// A live, authenticated connection to one broker.
pub struct Connection {
    /// Shared with the network thread.
    shared: Arc<Shared>,
    /// The client's network thread, which reads this socket.
    net: Arc<Net>,
    /// This socket's token with the network thread.
    token: mio::Token,
    /// Next correlation id.
    next_id: AtomicI32,
    /// What the broker speaks; set once by the handshake.
    versions: OnceLock<Versions>,
    /// The broker's node id (-1 for a bootstrap address).
    node_id: i32,
    /// Client id sent in every request header.
    client_id: StrBytes,
    /// How long [`Connection::call`] waits for a response.
    timeout: Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .field("node_id", &self.node_id)
            .finish()
    }
}

impl Connection {
    /// Connects to `addr`, negotiates API versions and authenticates as configured. The
    /// connection gets a network thread of its own; a client's pools use
    /// [`Connection::open_in`] to share theirs.
    pub fn open(addr: &str, node_id: i32, config: &ClientConfig) -> Result<Arc<Connection>> {
        Connection::open_in(addr, node_id, config, &Net::start()?)
    }

    /// Like [`Connection::open`], read by the network thread `net`.
    pub fn open_in(
        addr: &str,
        node_id: i32,
        config: &ClientConfig,
        net: &Arc<Net>,
    ) -> Result<Arc<Connection>> {
        let conn_err = |reason: String| Error::Connection {
            addr: addr.to_string(),
            reason,
        };
        let addrs: Vec<_> = addr
            .to_socket_addrs()
            .map_err(|e| conn_err(format!("cannot resolve: {e}")))?
            .collect();
        let mut last = conn_err("no address".into());
        let mut stream = None;
        for a in addrs {
            match connect(a, config) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = conn_err(e.to_string()),
            }
        }
        let stream = stream.ok_or(last)?;
        let _ = stream.set_nodelay(true);
        // Reads and writes never block (they ask not to); a pumped poller's waiter sleeps
        // in `recv` itself, which needs a blocking socket (see `net`).
        stream
            .set_nonblocking(!net.is_pumped())
            .map_err(|e| conn_err(format!("socket mode: {e}")))?;
        let shared = Arc::new(Shared {
            addr: Arc::from(addr),
            stream,
            writer: Mutex::new(Writer {
                buf: BytesMut::new(),
                queued: BytesMut::new(),
            }),
            rbuf: Mutex::new(BytesMut::new()),
            max_frame: config.max_response_size,
            pending: Mutex::new(Pending::default()),
            dead: AtomicBool::new(false),
            failure: Mutex::new(None),
            recv_timeout_ms: std::sync::atomic::AtomicU64::new(u64::MAX),
        });
        let token = net.add(shared.clone())?;
        let conn = Arc::new(Connection {
            shared,
            net: net.clone(),
            token,
            next_id: AtomicI32::new(1),
            versions: OnceLock::new(),
            node_id,
            client_id: StrBytes::from_string(config.client_id.clone()),
            timeout: config.request_timeout,
        });
        let versions = conn.api_versions()?;
        let _ = conn.versions.set(versions);
        if let Some((secret, peer)) = &config.proxy {
            sasl::proxy(&*conn, secret, *peer)?;
        }
        if let Some(sasl) = &config.sasl {
            sasl::authenticate(&*conn, sasl)?;
        }
        tracing::debug!(%addr, node_id, "connected");
        Ok(conn)
    }

    /// Asks the broker which versions it speaks (ApiVersions v3, falling back to v0 when
    /// the broker answers UNSUPPORTED_VERSION with a v0 body).
    fn api_versions(&self) -> Result<Versions> {
        let mut req = ApiVersionsRequest::default();
        req.client_software_name = StrBytes::from_static_str("bbs-broker-client");
        req.client_software_version = StrBytes::from_static_str(env!("CARGO_PKG_VERSION"));
        let body = self.call_raw(ApiKey::ApiVersions, 3, &req, self.timeout)?;
        let code = if body.len() >= 2 {
            i16::from_be_bytes([body[0], body[1]])
        } else {
            -1
        };
        let version = if code == 0 { 3 } else { 0 };
        let resp: ApiVersionsResponse = self.decode(ApiKey::ApiVersions, version, body)?;
        if resp.error_code != 0 && resp.api_keys.is_empty() {
            return Err(Error::kafka(resp.error_code, Some("ApiVersions".into())));
        }
        Ok(Versions::from_ranges(
            resp.api_keys
                .iter()
                .map(|k| (k.api_key, k.min_version, k.max_version)),
        ))
    }

    /// `host:port` of the broker.
    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    /// `host:port` of the broker, for a callback to name in its errors without copying it.
    pub(crate) fn addr_shared(&self) -> Arc<str> {
        Arc::clone(&self.shared.addr)
    }

    /// The broker's node id (-1 for a bootstrap connection).
    pub fn node_id(&self) -> i32 {
        self.node_id
    }

    /// False once the socket failed or was closed.
    pub fn is_alive(&self) -> bool {
        self.shared.is_alive()
    }

    /// The version of `api` to use with this broker.
    pub fn version(&self, api: ApiKey) -> Result<i16> {
        match self.versions.get() {
            Some(v) => v.pick(api),
            None => Err(Error::Unsupported {
                api: format!("{api:?}"),
                detail: "versions not negotiated yet".into(),
            }),
        }
    }

    /// True when the broker advertised `api`.
    pub fn supports(&self, api: ApiKey) -> bool {
        self.versions.get().is_some_and(|v| v.has(api))
    }

    /// Sends `req` at the negotiated version and waits for the decoded response.
    pub fn request<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        req: &Req,
    ) -> Result<(i16, Resp)> {
        let version = self.version(api)?;
        let resp = self.call(api, version, req)?;
        Ok((version, resp))
    }

    /// Sends `req` at `version` and waits for the decoded response.
    pub fn call<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp> {
        let body = self.call_raw(api, version, req, self.timeout)?;
        self.decode(api, version, body)
    }

    /// Like [`Connection::call`] with a longer wait (requests the broker holds on purpose,
    /// such as JoinGroup).
    pub fn call_timeout<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        version: i16,
        req: &Req,
        extra: Duration,
    ) -> Result<Resp> {
        let body = self.call_raw(api, version, req, self.timeout + extra)?;
        self.decode(api, version, body)
    }

    /// Sends and waits for the response body, undecoded.
    fn call_raw<Req: Encodable>(
        &self,
        api: ApiKey,
        version: i16,
        req: &Req,
        timeout: Duration,
    ) -> Result<Bytes> {
        let (tx, rx) = mpsc::sync_channel(1);
        let id = self.write(api, version, req, Some(ReplyTo::Channel(tx)))?;
        // On a pumped poller this thread reads the socket while it waits.
        match self.net.wait_for(&rx, std::time::Instant::now() + timeout) {
            Some(r) => r,
            None => {
                self.shared.pending.lock().remove(&id);
                Err(Error::Timeout(format!(
                    "{api:?} to {} after {timeout:?}",
                    self.shared.addr
                )))
            }
        }
    }

    /// Sends `req` at `version`; `callback` gets the response body or the failure on the
    /// network thread (or, when the send itself fails, on this one before `send` returns):
    /// it is called exactly once, so callers report failures in one place.
    pub fn send<Req: Encodable>(&self, api: ApiKey, version: i16, req: &Req, callback: Callback) {
        let _ = self.write(api, version, req, Some(ReplyTo::Callback(callback)));
    }

    /// Like [`Connection::send`] for a request encoded by `encode`, which appends the whole
    /// frame (length prefix, header, body) given `state`, the correlation id and the client
    /// id: for requests with a codec of their own (the consumer's Fetch, `wire::fetch`).
    /// `callback` gets `state` back with the answer.
    pub fn send_encoded<S: Send + 'static>(
        &self,
        api: ApiKey,
        version: i16,
        state: S,
        encode: impl FnOnce(&S, &mut BytesMut, i32, &str) -> wire::Result<()>,
        callback: impl FnOnce(S, Result<Bytes>) + Send + 'static,
    ) {
        let _ = self.write_with(api, version, move |buf, id, client_id| {
            let encoded = encode(&state, buf, id, client_id.as_str());
            let reply = ReplyTo::Callback(Box::new(move |res| callback(state, res)));
            (encoded, Some(reply))
        });
    }

    /// Sends a request that gets no response (Produce with acks=0).
    pub fn send_oneway<Req: Encodable>(&self, api: ApiKey, version: i16, req: &Req) -> Result<()> {
        self.write(api, version, req, None).map(|_| ())
    }

    /// Decodes a response body, turning decode failures into [`Error::BadResponse`].
    pub fn decode<Resp: Decodable>(&self, api: ApiKey, version: i16, body: Bytes) -> Result<Resp> {
        decode_body(&self.shared.addr, api, version, body)
    }

    /// Closes the socket; waiters get a connection error.
    pub fn close(&self) {
        self.shared.fail("closed by the client".into());
    }
}

impl sasl::Channel for Connection {
    fn request<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        req: &Req,
    ) -> Result<(i16, Resp)> {
        Connection::request(self, api, req)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.shared.stream.shutdown(Shutdown::Both);
    }
}

/// Decodes a response body, turning decode failures (and decoder panics) into
/// [`Error::BadResponse`].
pub fn decode_body<Resp: Decodable>(
    addr: &str,
    api: ApiKey,
    version: i16,
    mut body: Bytes,
) -> Result<Resp> {
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Resp::decode(&mut body, version)
    }));
    match decoded {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(Error::BadResponse {
            addr: addr.to_string(),
            reason: format!("{api:?} v{version}: {e}"),
        }),
        Err(_) => Err(Error::BadResponse {
            addr: addr.to_string(),
            reason: format!("{api:?} v{version}: decoder panicked"),
        }),
    }
}

/// Opens a TCP connection to `addr`, from `config.local_addr` when one is set.
fn connect(addr: std::net::SocketAddr, config: &ClientConfig) -> std::io::Result<TcpStream> {
    let Some(local) = config.local_addr else {
        return TcpStream::connect_timeout(&addr, config.connect_timeout);
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&std::net::SocketAddr::new(local, 0).into())?;
    socket.connect_timeout(&addr.into(), config.connect_timeout)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests;
