//! One client connection: a reader that parses frames and runs handlers in request order,
//! and a writer that sends responses in that same order as they complete. Requests are
//! pipelined: while one produce waits for its fsync, later ones are already appended, so
//! one fsync serves them all.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};

use crate::broker::{Broker, Session};
use crate::handlers::{self, Reply};
use crate::protocol::{self, frame, Parsed};

/// Requests a connection may have in flight before the reader waits for the writer.
const IN_FLIGHT: usize = 256;
/// How long a connection whose login failed waits for the client to hang up after the
/// (possibly delayed) error response, before closing it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(7);

/// Serves one connection until the client leaves, misbehaves, idles out or shutdown.
pub async fn serve(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: broadcast::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let (mut rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Reply>(IN_FLIGHT);
    let writer = tokio::spawn(write_loop(wr, rx, peer));
    let mut session = Session::new(peer);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let limit = broker.config.max_request_bytes;
    let idle = broker.config.idle_timeout();
    'conn: loop {
        loop {
            let frame = match frame::take_frame(&mut buf, limit) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "closing connection: bad frame");
                    break 'conn;
                }
            };
            let reply = match protocol::parse_request(frame) {
                Ok(Parsed::Request(req)) => {
                    let api = req.api_key;
                    match handlers::handle(&broker, &mut session, req).await {
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
        tokio::select! {
            read = tokio::time::timeout(idle, rd.read_buf(&mut buf)) => match read {
                Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
                Err(_) => {
                    tracing::info!(%peer, "closing idle connection");
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

async fn write_loop(
    wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Reply>,
    peer: SocketAddr,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, wr);
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
            if out.write_all(&b).await.is_err() {
                return;
            }
        }
        if rx.is_empty() && out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.flush().await;
    let _ = out.shutdown().await;
}
