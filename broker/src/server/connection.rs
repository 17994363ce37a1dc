//! One client connection: a reader that parses frames and runs handlers in request order,
//! and a writer that sends responses in that same order as they complete. Requests are
//! pipelined: while one produce waits for its fsync, later ones are already appended, so
//! one fsync serves them all. Reads have deadlines: a first complete request soon after
//! connecting, each request complete soon after its first bytes, SASL finished soon after
//! it starts, and the idle timeout otherwise.
//!
//! An idle connection holds no buffers: the read buffer is released whenever it is empty
//! and the next read first waits for the socket to become readable; it grows with the
//! bytes that actually arrive (so a declared-but-unsent big frame costs nothing). The
//! writer gathers only replies already queued behind each other. Requests whose handlers
//! never wait (fetches, heartbeats, commits) are handled directly; the others' futures
//! are boxed so the connection task itself stays small.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};

use tokio::time::Instant;

use super::limits::{IpSlot, Limits};
use crate::auth::SaslStage;
use crate::broker::{Broker, Session};
use crate::handlers::{self, Reply};
use crate::protocol::{self, frame, Parsed};

/// Requests a connection may have in flight before the reader waits for the writer.
const IN_FLIGHT: usize = 256;
/// How long a connection whose login failed waits for the client to hang up after the
/// (possibly delayed) error response, before closing it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(7);
/// Smallest read buffer allocated when bytes are about to arrive: most requests fit, it
/// comes from the allocator's fast per-thread cache, and a long-polling Fetch (whose frame
/// shares the buffer until it is answered) pins no more than this.
const READ_CHUNK: usize = 512;
/// Most bytes of queued replies gathered into one write.
const WRITE_BATCH: usize = 64 * 1024;

/// Which deadline the next read is waiting against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Idle,
    FirstRequest,
    Request,
    Sasl,
}

impl Deadline {
    /// Which of [`Limits::deadline`]'s throttles logs this kind.
    fn throttle(self) -> usize {
        match self {
            Deadline::Idle | Deadline::FirstRequest => 0,
            Deadline::Request => 1,
            Deadline::Sasl => 2,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Deadline::Idle => "idle",
            Deadline::FirstRequest => "no complete request within first_request_timeout_secs",
            Deadline::Request => "request not completed within request_timeout_secs",
            Deadline::Sasl => "login not completed within sasl_timeout_secs",
        }
    }
}

/// When the connection's clocks started: the times the deadlines count from.
struct Clocks {
    accepted: Instant,
    /// Whether a complete request has arrived yet.
    served: bool,
    /// When the first bytes of the request still incomplete in the buffer arrived.
    frame_started: Option<Instant>,
    /// When the SASL exchange in progress started.
    sasl_started: Option<Instant>,
}

impl Clocks {
    /// The earliest deadline for the next read, and which one it is.
    fn next(&self, broker: &Broker, now: Instant) -> (Instant, Deadline) {
        let c = &broker.config;
        let secs = std::time::Duration::from_secs;
        let mut best = (now + c.idle_timeout(), Deadline::Idle);
        let mut consider = |at: Instant, why: Deadline| {
            if at < best.0 {
                best = (at, why);
            }
        };
        if !self.served {
            consider(
                self.accepted + secs(c.first_request_timeout_secs),
                Deadline::FirstRequest,
            );
        }
        if let Some(t) = self.frame_started {
            consider(t + secs(c.request_timeout_secs), Deadline::Request);
        }
        if let Some(t) = self.sasl_started {
            consider(t + secs(c.sasl_timeout_secs), Deadline::Sasl);
        }
        best
    }
}

/// Serves one connection until the client leaves, misbehaves, idles out, misses a
/// deadline or shutdown.
pub(super) async fn serve(
    broker: Arc<Broker>,
    limits: Arc<Limits>,
    stream: TcpStream,
    peer: SocketAddr,
    ip_slot: IpSlot,
    mut shutdown: broadcast::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Reply>(IN_FLIGHT);
    let writer = tokio::spawn(write_loop(wr, rx, peer));
    let mut session = Session::new(peer);
    session.ip_slot = Some(ip_slot);
    let mut buf = BytesMut::new();
    let limit = broker.config.max_request_bytes;
    let mut clocks = Clocks {
        accepted: Instant::now(),
        served: false,
        frame_started: None,
        sasl_started: None,
    };
    'conn: loop {
        loop {
            let frame = match frame::take_frame(&mut buf, limit) {
                Ok(Some(f)) => {
                    clocks.served = true;
                    clocks.frame_started = None;
                    f
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: bad frame");
                    break 'conn;
                }
            };
            let reply = match protocol::parse_request(frame) {
                Ok(Parsed::Request(req)) => {
                    let api = req.api_key;
                    session.requests.arrived();
                    let handled = match handlers::handle_at_once(&broker, &mut session, req) {
                        Ok(done) => done,
                        Err(req) => Box::pin(handlers::handle(&broker, &mut session, req)).await,
                    };
                    match handled {
                        Ok(reply) => reply,
                        Err(e) => {
                            tracing::warn!(%peer, ?api, error = %e, "closing connection: request failed");
                            break 'conn;
                        }
                    }
                }
                Ok(Parsed::ApiVersionsTooNew { correlation_id }) => {
                    match handlers::api_versions_fallback(correlation_id) {
                        Ok(bytes) => Reply::Now(bytes),
                        Err(e) => {
                            tracing::warn!(%peer, error = %e, "closing connection");
                            break 'conn;
                        }
                    }
                }
                Ok(Parsed::Unsupported { api_key, version }) => {
                    tracing::warn!(%peer, api_key, version, "closing connection: unsupported API or version");
                    break 'conn;
                }
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: malformed request");
                    break 'conn;
                }
            };
            if tx.send(reply).await.is_err() {
                break 'conn;
            }
            if matches!(
                session.sasl,
                SaslStage::Chosen(_) | SaslStage::ScramFinal(_)
            ) {
                clocks.sasl_started.get_or_insert_with(Instant::now);
            } else {
                clocks.sasl_started = None;
            }
            if session.close {
                tracing::info!(%peer, "closing connection after a failed login");
                // Some clients (kafka-python) drop data that arrives together with the
                // FIN, so keep the socket open until the client hangs up, for a while.
                let linger = async {
                    let mut sink = [0u8; 512];
                    while let Ok(n) = rd.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                };
                let _ = tokio::time::timeout(LINGER, linger).await;
                break 'conn;
            }
        }
        let now = Instant::now();
        if buf.is_empty() {
            clocks.frame_started = None;
        } else {
            clocks.frame_started.get_or_insert(now);
        }
        let (deadline, why) = clocks.next(&broker, now);
        let idle = buf.is_empty();
        if idle {
            // Nothing pending: hold no buffer while waiting.
            buf = BytesMut::new();
        }
        let read = async {
            if idle {
                rd.readable().await?;
            }
            grow(&mut buf);
            rd.read_buf(&mut buf).await
        };
        tokio::select! {
            read = tokio::time::timeout_at(deadline, read) => match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
                Err(_) if why == Deadline::Idle => {
                    tracing::info!(%peer, "closing idle connection");
                    break;
                }
                Err(_) => {
                    let reason = why.reason();
                    tracing::debug!(%peer, reason, "closing connection: deadline passed");
                    if let Some(left_out) = limits.deadline[why.throttle()].hit() {
                        tracing::info!(%peer, reason, left_out, "closing connection: deadline passed; further closings are logged at debug level");
                    }
                    break;
                }
            },
            _ = shutdown.recv() => break,
        }
    }
    // Let the writer finish what was already accepted, then close.
    drop(tx);
    let _ = writer.await;
    tracing::debug!(%peer, "connection closed");
}

/// Makes room for the next read: at least [`READ_CHUNK`], and as much again as is already
/// buffered (a big frame's buffer doubles as its bytes arrive, never ahead of them).
fn grow(buf: &mut BytesMut) {
    let room = READ_CHUNK.max(buf.len());
    if buf.capacity() - buf.len() < room {
        buf.reserve(room);
    }
}

async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Reply>,
    peer: SocketAddr,
) {
    // Replies queued behind each other are gathered into one write; the buffer exists only
    // while there is such a backlog, so an idle connection holds none.
    let mut out: Vec<u8> = Vec::new();
    while let Some(reply) = rx.recv().await {
        let bytes = match reply {
            Reply::Now(b) => Some(b),
            Reply::Nothing => None,
            Reply::Later(fut) => match fut.await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: response failed");
                    return;
                }
            },
        };
        if let Some(b) = bytes {
            if out.is_empty() && rx.is_empty() {
                if wr.write_all(&b).await.is_err() {
                    return;
                }
            } else {
                out.extend_from_slice(&b);
            }
        }
        if !out.is_empty() && (rx.is_empty() || out.len() >= WRITE_BATCH) {
            let gathered = std::mem::take(&mut out);
            if wr.write_all(&gathered).await.is_err() {
                return;
            }
        }
    }
    if !out.is_empty() {
        let _ = wr.write_all(&out).await;
    }
    let _ = wr.shutdown().await;
}
