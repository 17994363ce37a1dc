//! One client connection, served by one task: it parses frames and runs handlers in
//! request order, queues their replies and writes them in that same order as they
//! complete ([`Replies`]). Requests are pipelined: while one produce waits for its fsync,
//! later ones are already appended, so one fsync serves them all; a held fetch is polled
//! by this task, so the append that answers it wakes the connection, which writes at once.
//! Reads have deadlines: a first complete request soon after connecting, each request
//! complete soon after its first bytes, SASL finished soon after it starts, and the idle
//! timeout otherwise.
//!
//! An idle connection holds no buffers: the read buffer is released whenever it is empty
//! and the next read first waits for the socket to become readable; it grows with the
//! bytes that actually arrive (so a declared-but-unsent big frame costs nothing).
//! Requests whose handlers never wait (fetches, heartbeats, commits) are handled directly;
//! the others' futures are boxed so the connection task itself stays small.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Poll;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::ReadHalf;
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::limits::{IpSlot, Limits};
use super::replies::{move_lazily, Failure, Replies};
use crate::auth::SaslStage;
use crate::broker::{Broker, Session};
use crate::handlers::{self, Reply};
use crate::protocol::{self, frame, Parsed};

/// Replies a connection may have queued before it stops reading requests.
const IN_FLIGHT: usize = 256;
/// How long a connection whose login failed waits for the client to hang up after the
/// (possibly delayed) error response, before closing it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(7);
/// Smallest read buffer allocated when bytes are about to arrive: most requests fit, it
/// comes from the allocator's fast per-thread cache, and a long-polling Fetch (whose frame
/// shares the buffer until it is answered) pins no more than this.
const READ_CHUNK: usize = 512;

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
    /// When bytes last arrived (or the connection was accepted): the idle time counts
    /// from here.
    active: Instant,
    /// Whether a complete request has arrived yet.
    served: bool,
    /// When the first bytes of the request still incomplete in the buffer arrived.
    frame_started: Option<Instant>,
    /// When the SASL exchange in progress started.
    sasl_started: Option<Instant>,
}

impl Clocks {
    /// The earliest deadline for the next read, and which one it is.
    fn next(&self, broker: &Broker) -> (Instant, Deadline) {
        let c = &broker.config;
        let secs = std::time::Duration::from_secs;
        let mut best = (self.active + c.idle_timeout(), Deadline::Idle);
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
    mut stream: TcpStream,
    peer: SocketAddr,
    ip_slot: IpSlot,
    mut shutdown: broadcast::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    // The halves only borrow the stream: replies are written through `wr`'s socket
    // beside the reads of `rd`, in this one task.
    let (mut rd, mut wr) = stream.split();
    let mut replies = Replies::default();
    let mut session = Session::new(peer);
    session.ip_slot = Some(ip_slot);
    let mut buf = BytesMut::new();
    let limit = broker.config.max_request_bytes;
    let accepted = Instant::now();
    let mut clocks = Clocks {
        accepted,
        active: accepted,
        served: false,
        frame_started: None,
        sasl_started: None,
    };
    // Set when the replies cannot be written any more.
    let mut failed = false;
    let (first, _) = clocks.next(&broker);
    // The read deadline's timer, moved lazily: only an earlier deadline moves it at once;
    // when it fires before the deadline now in force it is moved on.
    let mut read_timer = std::pin::pin!(tokio::time::sleep_until(first));
    let mut stop = std::pin::pin!(shutdown.recv());
    'conn: loop {
        while replies.len() < IN_FLIGHT {
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
                        Err(req) => {
                            // Earlier replies keep going out while this one is handled.
                            let handling = Box::pin(handlers::handle(&broker, &mut session, req));
                            tokio::select! {
                                biased;
                                handled = handling => handled,
                                Err(f) = drive(&mut replies, wr.as_ref(), 0) => {
                                    failed = report(peer, f);
                                    break 'conn;
                                }
                            }
                        }
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
            replies.push(reply);
            // With more requests buffered, answers already finished (a produce whose fsync
            // is done) go out now, not after all of them were handled: a pipelining
            // producer's window moves while this task works through its later requests.
            if !buf.is_empty() {
                if let Err(f) = drive(&mut replies, wr.as_ref(), usize::MAX).await {
                    failed = report(peer, f);
                    break 'conn;
                }
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
                // FIN, so keep the socket open until the client hangs up, for a while,
                // writing the (possibly delayed) answer meanwhile.
                let lingered = tokio::time::timeout(LINGER, async {
                    tokio::select! {
                        biased;
                        Err(f) = drive(&mut replies, wr.as_ref(), 0) => Some(f),
                        () = discard_until_eof(&mut rd) => None,
                    }
                })
                .await;
                if let Ok(Some(f)) = lingered {
                    failed = report(peer, f);
                }
                break 'conn;
            }
        }
        let idle = buf.is_empty();
        if idle {
            clocks.frame_started = None;
            // Nothing pending: hold no buffer while waiting.
            buf = BytesMut::new();
        } else {
            clocks.frame_started.get_or_insert(clocks.active);
        }
        let (deadline, why) = clocks.next(&broker);
        move_lazily(read_timer.as_mut(), deadline);
        // With IN_FLIGHT replies queued, read nothing until one is written.
        let full = replies.len() >= IN_FLIGHT;
        let read = async {
            if idle {
                rd.as_ref().readable().await?;
            }
            grow(&mut buf);
            rd.read_buf(&mut buf).await
        };
        tokio::select! {
            biased;
            drove = drive(&mut replies, wr.as_ref(), if full { IN_FLIGHT } else { 0 }) => {
                if let Err(f) = drove {
                    failed = report(peer, f);
                    break;
                }
            }
            read = read, if !full => match read {
                Ok(0) => break,
                Ok(_) => clocks.active = Instant::now(),
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
            },
            () = &mut read_timer, if !full => match why {
                // It fired for a deadline no longer in force: moved on, next turn.
                _ if Instant::now() < deadline => {}
                Deadline::Idle => {
                    tracing::info!(%peer, "closing idle connection");
                    break;
                }
                _ => {
                    let reason = why.reason();
                    tracing::debug!(%peer, reason, "closing connection: deadline passed");
                    if let Some(left_out) = limits.deadline[why.throttle()].hit() {
                        tracing::info!(%peer, reason, left_out, "closing connection: deadline passed; further closings are logged at debug level");
                    }
                    break;
                }
            },
            _ = &mut stop => break,
        }
    }
    // Write what was already accepted, then close.
    if !failed {
        match drive(&mut replies, wr.as_ref(), 1).await {
            Ok(()) => {
                let _ = wr.shutdown().await;
            }
            Err(f) => {
                report(peer, f);
            }
        }
    }
    tracing::debug!(%peer, "connection closed");
}

/// Writes `replies` until fewer than `below` are left (never, for 0; at once, after
/// writing what is finished, for `usize::MAX`), or until they cannot go on.
fn drive<'a>(
    replies: &'a mut Replies,
    stream: &'a TcpStream,
    below: usize,
) -> impl Future<Output = Result<(), Failure>> + 'a {
    std::future::poll_fn(move |cx| match replies.poll_flush(cx, stream) {
        Poll::Ready(Err(f)) => Poll::Ready(Err(f)),
        _ if replies.len() < below => Poll::Ready(Ok(())),
        _ => Poll::Pending,
    })
}

/// Logs why the replies stopped; true, for the caller's `failed`.
fn report(peer: SocketAddr, failure: Failure) -> bool {
    match failure {
        Failure::Write(e) => tracing::debug!(%peer, error = %e, "write failed"),
        Failure::Response(e) => {
            tracing::warn!(%peer, error = %e, "closing connection: response failed")
        }
    }
    true
}

/// Reads and drops whatever the client still sends, until it hangs up (or fails).
async fn discard_until_eof(rd: &mut ReadHalf<'_>) {
    let mut sink = [0u8; 512];
    while let Ok(n) = rd.read(&mut sink).await {
        if n == 0 {
            return;
        }
    }
}

/// Makes room for the next read: at least [`READ_CHUNK`], and as much again as is already
/// buffered (a big frame's buffer doubles as its bytes arrive, never ahead of them).
fn grow(buf: &mut BytesMut) {
    let room = READ_CHUNK.max(buf.len());
    if buf.capacity() - buf.len() < room {
        buf.reserve(room);
    }
}
