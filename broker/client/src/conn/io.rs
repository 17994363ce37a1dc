//! A connection's socket I/O: writing a request (its waiter registered first), finishing
//! queued writes when the socket takes more, and reading response frames and routing each
//! to its waiter by correlation id (answers may come in any order; nothing here assumes
//! the broker's).
//!
//! Every read and write here and in `conn` asks not to block, whatever the socket's mode:
//! a pumped poller's sockets are left blocking so that its waiter can sleep in `recv`
//! itself ([`Shared::read_blocking`], see `net`).

use std::io::ErrorKind;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rustix::net::{RecvFlags, SendFlags};

use bytes::{Buf, Bytes, BytesMut};

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::{Connection, ReplyTo, Shared, Waiter};
use crate::error::{Error, Result};

thread_local! {
    /// Where a reading thread's `recv`s land before joining a connection's buffer: zeroed
    /// once per thread rather than on every read.
    static CHUNK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 16 * 1024]);
}

impl Shared {
    /// Whether written bytes wait for the socket to take them.
    pub(crate) fn has_queued(&self) -> bool {
        !self.writer.lock().queued.is_empty()
    }

    /// On the network thread, when the socket is writable: writes what is queued; `rearm`
    /// gets whether bytes still wait (called under the writer lock, so a writer queueing
    /// more at the same time cannot lose its wake-up).
    pub(crate) fn flush_queued(&self, rearm: impl FnOnce(bool)) {
        let mut w = self.writer.lock();
        while !w.queued.is_empty() {
            match self.send_now(&w.queued) {
                Ok(0) => return self.fail("write failed: socket closed".into()),
                Ok(n) => w.queued.advance(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.fail(format!("write failed: {e}")),
            }
        }
        if w.queued.is_empty() && w.queued.capacity() > 1 << 20 {
            w.queued = BytesMut::new();
        }
        rearm(!w.queued.is_empty());
    }

    /// On the network thread, when the socket is readable: reads what there is and routes
    /// each complete frame to its waiter; fails the connection on EOF or error. `closing`
    /// (the poller saw the peer's FIN or an error) reads on until the end shows.
    pub(crate) fn read_ready(&self, closing: bool) {
        if let Err(reason) = self.read_frames(closing) {
            tracing::debug!(addr = %self.addr, %reason, "connection closed");
            self.fail(reason);
        }
    }

    /// Writes what the socket takes now, without blocking.
    pub(crate) fn send_now(&self, bytes: &[u8]) -> std::io::Result<usize> {
        rustix::net::send(
            &self.stream,
            bytes,
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        )
        .map_err(std::io::Error::from)
    }

    /// Reads what the socket holds now, without blocking.
    fn recv_now(&self, chunk: &mut [u8]) -> std::io::Result<usize> {
        rustix::net::recv(&self.stream, chunk, RecvFlags::DONTWAIT)
            .map(|(n, _)| n)
            .map_err(std::io::Error::from)
    }

    /// For a pumped poller with this one socket to watch: sleeps in `recv` until bytes
    /// arrive or about `wait` passes (the socket's receive timeout, which the kernel ends
    /// within a clock tick of `wait`; set only when it changes), then reads and routes
    /// like [`Shared::read_ready`]. One system call where `poll` then `recv` were two; the
    /// socket must be in blocking mode. Fails the connection on EOF or error.
    pub(crate) fn read_blocking(&self, wait: Duration) {
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        if self.recv_timeout_ms.swap(ms, Ordering::Relaxed) != ms {
            let set = rustix::net::sockopt::set_socket_timeout(
                &self.stream,
                rustix::net::sockopt::Timeout::Recv,
                Some(wait),
            );
            if let Err(e) = set {
                self.recv_timeout_ms.store(u64::MAX, Ordering::Relaxed);
                return self.fail(format!("setting the receive timeout: {e}"));
            }
        }
        let result = self.read_frames_with(|this, buf, chunk| {
            let first = loop {
                match rustix::net::recv(&this.stream, &mut *chunk, RecvFlags::empty()) {
                    Ok((n, _)) => break n,
                    Err(rustix::io::Errno::INTR) => continue,
                    // The timeout passed with nothing to read.
                    Err(rustix::io::Errno::AGAIN) => return Ok(()),
                    Err(e) => return Err(format!("read failed: {e}")),
                }
            };
            if first == 0 {
                return Err("read failed: connection closed by the broker".into());
            }
            buf.extend_from_slice(&chunk[..first]);
            if first < chunk.len() {
                return Ok(()); // the socket's queue is empty
            }
            this.fill(buf, chunk, false)
        });
        if let Err(reason) = result {
            tracing::debug!(addr = %self.addr, %reason, "connection closed");
            self.fail(reason);
        }
    }

    fn read_frames(&self, closing: bool) -> std::result::Result<(), String> {
        self.read_frames_with(|this, buf, chunk| this.fill(buf, chunk, closing))
    }

    /// Reads with `read` into the connection's buffer, then cuts and routes the frames one
    /// at a time (the buffer is not locked while a frame's waiter runs).
    fn read_frames_with(
        &self,
        read: impl FnOnce(&Self, &mut BytesMut, &mut [u8]) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), String> {
        let result = {
            let mut buf = self.rbuf.lock();
            CHUNK.with(|chunk| read(self, &mut buf, &mut chunk.borrow_mut()))
        };
        // Complete frames are delivered even when the socket then failed.
        loop {
            let frame = {
                let mut buf = self.rbuf.lock();
                let frame = self.cut_frame(&mut buf)?;
                if frame.is_none() && buf.is_empty() && buf.capacity() > 1 << 20 {
                    *buf = BytesMut::new();
                }
                frame
            };
            match frame {
                Some(frame) => self.deliver(frame)?,
                None => return result,
            }
        }
    }

    /// Reads until the socket has nothing more (edge-triggered readiness). A read that
    /// fills less than `chunk` emptied the socket's queue, and bytes arriving later raise a
    /// new edge, so it ends there (one `recv` per answer, not two) unless `closing`: the
    /// FIN's edge has been taken already, so the end must be read now.
    fn fill(
        &self,
        buf: &mut BytesMut,
        chunk: &mut [u8],
        closing: bool,
    ) -> std::result::Result<(), String> {
        loop {
            match self.recv_now(chunk) {
                Ok(0) => return Err("read failed: connection closed by the broker".into()),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if n < chunk.len() && !closing {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read failed: {e}")),
            }
            if self.dead.load(Ordering::SeqCst) {
                return Err("closed by the client".into());
            }
        }
    }

    /// Takes one complete frame's body off the front of `buf`.
    fn cut_frame(&self, buf: &mut BytesMut) -> std::result::Result<Option<Bytes>, String> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let len_bytes = [buf[0], buf[1], buf[2], buf[3]];
        let len = match wire::frame::body_len(len_bytes, self.max_frame) {
            Ok(len) if len >= 4 => len,
            _ => {
                return Err(format!(
                    "bad response frame length {}",
                    i32::from_be_bytes(len_bytes)
                ))
            }
        };
        if buf.len() < 4 + len {
            buf.reserve(4 + len - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(len).freeze()))
    }

    /// Routes one response frame to its waiter.
    fn deliver(&self, mut frame: Bytes) -> std::result::Result<(), String> {
        let Some(id) = wire::header::correlation_id(&frame) else {
            return Err("response frame without a correlation id".into());
        };
        let waiter = self.pending.lock().remove(&id);
        let Some(waiter) = waiter else {
            tracing::debug!(addr = %self.addr, id, "response for an abandoned request");
            return Ok(());
        };
        match wire::header::skip_response_header(&mut frame, waiter.api, waiter.version) {
            Ok(_) => {
                waiter.reply.deliver(Ok(frame));
                Ok(())
            }
            Err(e) => {
                let err = Error::BadResponse {
                    addr: self.addr.to_string(),
                    reason: format!("{:?} response header: {e}", waiter.api),
                };
                waiter.reply.deliver(Err(err));
                Err("undecodable response header".into())
            }
        }
    }
}

impl Connection {
    /// Encodes and writes one request frame, registering its waiter first. A failure
    /// reaches the waiter too (a socket failure through [`Shared::fail`], a dead connection
    /// or an unencodable request here).
    pub(super) fn write<Req: Encodable>(
        &self,
        api: ApiKey,
        version: i16,
        req: &Req,
        reply: Option<ReplyTo>,
    ) -> Result<i32> {
        self.write_with(api, version, |buf, id, client_id| {
            let encoded =
                wire::header::put_request(buf, api, version, id, Some(client_id.clone()), req);
            (encoded, reply)
        })
    }

    /// Like [`Connection::write`], with the whole frame (length prefix, header, body)
    /// appended to the buffer by `encode`, given the correlation id and the client id;
    /// `encode` also gives who gets the answer (so that it may move into the callback what
    /// it encoded from).
    pub(super) fn write_with(
        &self,
        api: ApiKey,
        version: i16,
        encode: impl FnOnce(&mut BytesMut, i32, &StrBytes) -> (wire::Result<()>, Option<ReplyTo>),
    ) -> Result<i32> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) & i32::MAX;
        let mut w = self.shared.writer.lock();
        let w = &mut *w;
        w.buf.clear();
        let (encoded, reply) = encode(&mut w.buf, id, &self.client_id);
        if !self.is_alive() {
            if let Some(reply) = reply {
                reply.deliver(Err(self.shared.error()));
            }
            return Err(self.shared.error());
        }
        if let Err(e) = encoded {
            let err = Error::from(e);
            if let Some(reply) = reply {
                reply.deliver(Err(Error::Encode(err.to_string())));
            }
            return Err(err);
        }
        if let Some(reply) = reply {
            self.shared.pending.lock().insert(
                id,
                Waiter {
                    api,
                    version,
                    reply,
                },
            );
        }
        let mut written = 0;
        if w.queued.is_empty() {
            // Nothing waits before this frame: write what the socket takes now.
            while written < w.buf.len() {
                match self.shared.send_now(&w.buf[written..]) {
                    Ok(0) => {
                        self.shared.fail("write failed: socket closed".into());
                        return Err(self.shared.error());
                    }
                    Ok(n) => written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.shared.fail(format!("write failed: {e}"));
                        return Err(self.shared.error());
                    }
                }
            }
        }
        if written < w.buf.len() {
            let rest = w.buf.split_off(written);
            w.queued.unsplit(rest);
            self.net.want_write(&self.shared, self.token);
        }
        // Don't keep a huge buffer around after one big produce request.
        if w.buf.capacity() > 4 << 20 {
            w.buf = BytesMut::new();
        }
        Ok(id)
    }
}
