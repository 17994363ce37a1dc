//! The worker thread: it owns the [`Session`] (and so the backend link) and does every
//! backend call, so the UI thread never blocks on the network. Requests arrive on one
//! channel; records seen by the link's record sink arrive on a second one and are folded
//! into replies (new posts, changed posts, mail) before the next request is handled, so a
//! `Ping` answered with `Pong` means "everything before it, and everything it caused, has
//! been sent". When the backend fails, the worker says so, reconnects with backoff and logs
//! in again with the remembered credentials.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::backoff::Backoff;

use super::msg::{op_of, Op, Output, Reply, Request, Wake};
use super::worker_ops::Worker;
use crate::backend::Backend;
use crate::codec::Entry;

/// The UI's handle on the worker thread.
pub struct WorkerHandle {
    /// Requests in.
    tx: Sender<Wake>,
    /// Joined on drop after `Shutdown`.
    join: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Sends a request (never blocks; a dead worker is noticed by the missing replies).
    pub fn send(&self, req: Request) {
        let _ = self.tx.send(Wake::Request(req));
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Wake::Request(Request::Shutdown));
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

/// Starts the worker on `backend`; replies go to `out`.
pub fn spawn(backend: Arc<dyn Backend>, out: Output) -> WorkerHandle {
    let (tx, rx) = channel::<Wake>();
    let (rec_tx, rec_rx) = channel::<Entry>();
    let wake = tx.clone();
    let join = std::thread::Builder::new()
        .name("bbs-worker".into())
        .spawn(move || {
            let worker = Worker::new(backend, out, rec_tx, wake);
            run(worker, &rx, &rec_rx);
        })
        .ok();
    WorkerHandle { tx, join }
}

/// How often an idle worker checks that the server is still there.
/// (Every second, whether or not requests keep arriving, so "reconnecting" shows within
/// 3 s of the server going away while the user types, sends or idles.)
const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Backoff between reconnect attempts: 0.5 s after the first failure, doubling to 5 s.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));

fn run(mut w: Worker, rx: &Receiver<Wake>, records: &Receiver<Entry>) {
    w.connect();
    let mut checked = Instant::now();
    loop {
        if w.retry_attempt().is_none() && checked.elapsed() >= HEALTH_EVERY {
            w.health_check();
            checked = Instant::now();
        }
        let msg = match w.retry_attempt() {
            None => match rx.recv_timeout(HEALTH_EVERY) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            },
            Some(attempt) => match rx.recv_timeout(RECONNECT.delay(attempt)) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            },
        };
        while let Ok(entry) = records.try_recv() {
            w.record(&entry);
        }
        match msg {
            None => w.reconnect(),
            Some(Wake::Records) => {}
            Some(Wake::Request(Request::Shutdown)) => {
                w.close();
                return;
            }
            Some(Wake::Request(req)) => {
                if w.retry_attempt().is_some() && !matches!(req, Request::Ping(_)) {
                    w.reconnect();
                }
                if w.retry_attempt().is_some() && !matches!(req, Request::Ping(_)) {
                    let op = op_of(&req);
                    let msg = if op == Op::Send {
                        super::worker_ops::not_sent(&w.last_error())
                    } else {
                        w.offline_message()
                    };
                    w.send(Reply::Failed(op, msg));
                    continue;
                }
                w.request(req);
                while let Ok(entry) = records.try_recv() {
                    w.record(&entry);
                }
            }
        }
    }
}
