//! A connection's replies, in request order, and their writing. The connection's one task
//! pushes each request's [`Reply`] here and polls [`Replies::poll_flush`] beside its reads:
//! answers that wait (a held fetch, a produce waiting for its fsync) are polled in place,
//! so the notification that completes one wakes the connection itself, which writes the
//! answer at once. Nothing is handed to another task and nothing is copied: finished
//! frames queue as they are and go out together in one vectored write when several are
//! ready.
//!
//! A held reply ([`Reply::Held`], a fetch waiting for data) has no timer of its own: the
//! queue keeps one timer, made on the first held reply, that wakes the connection at the
//! oldest held reply's deadline. It moves lazily: a later deadline leaves it where it is
//! (when it fires early it is moved on), so a consumer's stream of fetches costs a timer
//! operation or two per max_wait, not two per fetch.

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::error::Error;
use crate::handlers::Reply;

/// Most frames gathered into one vectored write.
const MAX_SLICES: usize = 64;
/// Bytes of finished replies held before more are computed: answers are made only as
/// fast as the socket takes them, so a client that pipelines big fetches and never reads
/// holds one or two answers in the server, not its whole queue of them. (One reply may
/// exceed it: a big fetch answer goes out whole.)
const READY_BYTES: usize = 256 * 1024;

/// Why a connection's replies cannot go on.
#[derive(Debug)]
pub(super) enum Failure {
    /// Writing to the socket failed (the client went away).
    Write(io::Error),
    /// Computing a waiting reply failed.
    Response(Error),
}

/// The replies of one connection not yet written, oldest first.
#[derive(Default)]
pub(super) struct Replies {
    /// Replies not yet computed (or not yet moved to `ready`), in request order.
    waiting: VecDeque<Reply>,
    /// Encoded frames ready to go, in request order (the front one may be partly
    /// written: its written bytes were advanced past).
    ready: VecDeque<Bytes>,
    /// Bytes in `ready`.
    ready_bytes: usize,
    /// Wakes the connection at the deadline of the held reply at the front (or earlier).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Replies {
    /// Replies not yet completely written.
    pub(super) fn len(&self) -> usize {
        self.waiting.len() + self.ready.len()
    }

    /// Queues the reply to the latest request.
    pub(super) fn push(&mut self, reply: Reply) {
        self.waiting.push_back(reply);
    }

    /// Moves finished replies to the ready queue and writes them, in order, as far as the
    /// socket takes them. Ready when everything was written; pending while a reply is
    /// still being computed or the socket is full (the task is woken when either moves).
    pub(super) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        stream: &TcpStream,
    ) -> Poll<Result<(), Failure>> {
        loop {
            let computing = self.collect(cx)?;
            if self.ready.is_empty() {
                return if computing {
                    Poll::Pending
                } else {
                    Poll::Ready(Ok(()))
                };
            }
            match stream.poll_write_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(Failure::Write(e))),
                Poll::Ready(Ok(())) => {}
            }
            let written = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut n = 0;
                for (slot, frame) in slices.iter_mut().zip(&self.ready) {
                    *slot = IoSlice::new(frame);
                    n += 1;
                }
                stream.try_write_vectored(&slices[..n])
            };
            match written {
                Ok(0) => {
                    let e = io::Error::new(io::ErrorKind::WriteZero, "the socket took nothing");
                    return Poll::Ready(Err(Failure::Write(e)));
                }
                Ok(n) => self.advance(n),
                // Readiness was cleared: the next turn registers for it.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(Failure::Write(e))),
            }
        }
    }

    /// Moves the leading finished replies to `ready`; true when one is still being
    /// computed.
    fn collect(&mut self, cx: &mut Context<'_>) -> Result<bool, Failure> {
        while self.ready_bytes < READY_BYTES {
            let Some(front) = self.waiting.front_mut() else {
                break;
            };
            let frame = match front {
                Reply::Now(bytes) => Some(std::mem::take(bytes)),
                Reply::Nothing => None,
                Reply::Later(fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => return Ok(true),
                    Poll::Ready(Ok(frame)) => frame,
                    Poll::Ready(Err(e)) => return Err(Failure::Response(e)),
                },
                Reply::Held(fut, at) => match poll_held(fut, *at, &mut self.timer, cx) {
                    Poll::Pending => return Ok(true),
                    Poll::Ready(Ok(frame)) => frame,
                    Poll::Ready(Err(e)) => return Err(Failure::Response(e)),
                },
            };
            self.waiting.pop_front();
            if let Some(frame) = frame.filter(|f| !f.is_empty()) {
                self.ready_bytes += frame.len();
                self.ready.push_back(frame);
            }
        }
        Ok(false)
    }

    /// Drops `n` written bytes from the front of `ready`.
    fn advance(&mut self, mut n: usize) {
        self.ready_bytes = self.ready_bytes.saturating_sub(n);
        while n > 0 {
            let Some(front) = self.ready.front_mut() else {
                return;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.ready.pop_front();
        }
    }
}

/// Polls a held reply, and when it is still waiting makes sure `timer` wakes the task at
/// its deadline `at` or before (at `at` the reply answers when polled).
fn poll_held(
    fut: &mut crate::handlers::Pending,
    at: Instant,
    timer: &mut Option<Pin<Box<Sleep>>>,
    cx: &mut Context<'_>,
) -> Poll<crate::error::Result<Option<Bytes>>> {
    // Twice at most: the timer may have fired for an earlier deadline (then it is moved to
    // this one), or this one may have passed between the two polls.
    for _ in 0..2 {
        if let Poll::Ready(answer) = fut.as_mut().poll(cx) {
            return Poll::Ready(answer);
        }
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        move_lazily(timer.as_mut(), at);
        if timer.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
    }
    Poll::Pending
}

/// Makes `timer` fire at `at` or before, moving it only when it must: when it already
/// fired, or when `at` is earlier. A later deadline leaves it where it is (its owner moves
/// it on when it fires early), which spares a trip through the runtime's timer wheel for
/// each of a stream of ever later deadlines.
pub(super) fn move_lazily(timer: Pin<&mut Sleep>, at: Instant) {
    if timer.is_elapsed() || timer.deadline() > at {
        timer.reset(at);
    }
}
