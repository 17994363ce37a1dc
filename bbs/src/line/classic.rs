//! The classic port: the command language over plain TCP for `nc`/telnet users. One thread
//! per connection runs the shared interpreter ([`super::driver::serve`]) on its own backend
//! session. Costs are bounded: a session limit (extra connections are told so and closed),
//! an idle timeout on reads, a write timeout for clients that stop reading, and the
//! interpreter's bound on one line.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::interp::NoticeStyle;
use crate::backend::Backend;
use crate::error::{Error, Result};

/// Limits of the classic port.
#[derive(Debug, Clone)]
pub struct ClassicConfig {
    /// Most simultaneous sessions.
    pub max_sessions: usize,
    /// A session that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A client that does not read its output for this long is dropped.
    pub write_timeout: Duration,
    /// The zone of the dates sessions print (`[bbs] timezone`; default: the local zone).
    pub zone: crate::time::Zone,
}

impl Default for ClassicConfig {
    fn default() -> Self {
        ClassicConfig {
            max_sessions: 512,
            idle_timeout: Duration::from_secs(30 * 60),
            write_timeout: Duration::from_secs(30),
            zone: crate::time::Zone::local(),
        }
    }
}

/// A running classic port.
pub struct ClassicHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Sessions open right now (shared with the session threads).
    pub sessions: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl ClassicHandle {
    /// Stops accepting connections (open sessions end with their clients or the process).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

impl Drop for ClassicHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves the command language on `listener` with sessions from `backend`.
pub fn spawn(
    listener: TcpListener,
    backend: Arc<dyn Backend>,
    config: ClassicConfig,
) -> Result<ClassicHandle> {
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let sessions = Arc::new(AtomicUsize::new(0));
    let accept = {
        let stop = Arc::clone(&stop);
        let sessions = Arc::clone(&sessions);
        std::thread::Builder::new()
            .name("classic-accept".into())
            .spawn(move || accept_loop(listener, backend, config, stop, sessions))
            .map_err(Error::Io)?
    };
    tracing::info!(%addr, "classic port listening");
    Ok(ClassicHandle {
        addr,
        sessions,
        stop,
        accept: Some(accept),
    })
}

fn accept_loop(
    listener: TcpListener,
    backend: Arc<dyn Backend>,
    config: ClassicConfig,
    stop: Arc<AtomicBool>,
    sessions: Arc<AtomicUsize>,
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mut stream = match conn {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "classic accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        if sessions.fetch_add(1, Ordering::SeqCst) >= config.max_sessions {
            sessions.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(%peer, "classic port full: refusing a session");
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(b"Too many sessions; try again later.\n");
            continue;
        }
        // Vouch for the real client so the server's login and registration limits (and
        // its logs) see this person's address, not the loopback all sessions share.
        let backend = stream
            .peer_addr()
            .ok()
            .and_then(|a| backend.for_peer(a))
            .unwrap_or_else(|| Arc::clone(&backend));
        let sessions_done = Arc::clone(&sessions);
        let config = config.clone();
        let spawned = std::thread::Builder::new()
            .name("classic-session".into())
            .spawn(move || {
                tracing::info!(%peer, "classic session opened");
                if let Err(e) = session(stream, backend.as_ref(), &config) {
                    tracing::info!(%peer, error = %e, "classic session ended with an error");
                }
                sessions_done.fetch_sub(1, Ordering::SeqCst);
                tracing::info!(%peer, "classic session closed");
            });
        if let Err(e) = spawned {
            sessions.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(error = %e, "could not start a classic session thread");
        }
    }
}

fn session(stream: TcpStream, backend: &dyn Backend, config: &ClassicConfig) -> Result<()> {
    stream.set_read_timeout(Some(config.idle_timeout))?;
    stream.set_write_timeout(Some(config.write_timeout))?;
    let _ = stream.set_nodelay(true);
    let reader = stream.try_clone()?;
    let result = super::driver::serve(
        backend,
        reader,
        &stream,
        NoticeStyle::Newline,
        config.zone.clone(),
    );
    let _ = stream.shutdown(std::net::Shutdown::Both);
    result
}
