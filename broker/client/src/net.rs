//! The client's network thread: one per [`crate::Client`], it reads every socket the
//! client's pools open and runs the client's timers (group heartbeats).
//!
//! Sockets are non-blocking and registered with one `mio` poller (edge-triggered). When one
//! is readable the thread reads what is there, cuts it into response frames and hands each
//! to its connection (`conn`), which routes it by correlation id to a blocked caller or a
//! callback — callbacks therefore run on this thread and must not block. Callers write
//! their requests themselves; what the socket does not take at once is queued and this
//! thread finishes writing it when the socket becomes writable. Connections are added from
//! any thread (the poller's registry is shared); a waker interrupts the poll when a timer
//! is added or the thread must stop.
//!
//! A *pumped* poller ([`Net::pumped`]) has no thread: whoever waits for one of its
//! connections' answers polls their sockets itself ([`Net::wait_for`], `poll(2)` on the
//! few sockets, so it holds no descriptor of its own; with one socket, nothing to write
//! and no bell, a blocking `recv` on it instead: `pump`). A consumer's own connections use
//! one, so that its poll-loop thread, which is going to wait for the fetch anyway, is the
//! thread the kernel wakes when the answer arrives: one wake-up per fetch answer instead of
//! two (the network thread's, then the hand-off to the poll thread), which is what fan-out
//! to many consumers on few cores spends its time on.
//!
//! A pumped poller's `poll(2)` wakes for its sockets only, so a waiter looks at its
//! channel at least every [`PUMP_SLICE`]. One that other threads must reach at once (a
//! feed asked to read a board again, or to stop) asks for a bell ([`Net::add_bell`]): an
//! eventfd polled with the sockets, rung by [`Net::wake`]; its waiters then sleep until
//! something happens instead of waking every second.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use parking_lot::Mutex;

use crate::conn::Shared;
use crate::error::{Error, Result};

mod pump;

use pump::Pump;

/// The waker's token; sockets get tokens from 1 up.
const WAKE: Token = Token(0);

/// How long a waiter that finds another thread pumping waits on its channel before trying
/// to pump again (the pumping thread delivers its answer meanwhile, or stops pumping).
const HANDOFF: Duration = Duration::from_millis(1);

/// Longest single wait of a pumped poller without a bell: nothing can interrupt it, so a
/// value sent to the waiter's channel from elsewhere ([`Net::wake`]) is seen within this.
/// (Only a pattern subscription's news of a topic comes that way; a waiter that must be
/// reached at once takes a bell.) Waking more often would cost every idle consumer.
const PUMP_SLICE: Duration = Duration::from_secs(1);

/// A timer task: runs on the network thread, returns when to run again (`None`: never).
pub type Task = Box<dyn FnMut() -> Option<Duration> + Send>;

/// A scheduled task.
struct Timer {
    /// When it runs next.
    at: Instant,
    /// What runs.
    task: Task,
}

/// The network thread's epoll instance, as the handles see it.
struct Epoll {
    /// Registers sockets from any thread.
    registry: Registry,
    /// Interrupts the poll (new timer, stop).
    waker: Waker,
}

/// State shared by the handles and the thread.
struct Inner {
    /// The thread's poller (`None` for a pumped one, which polls its sockets directly).
    epoll: Option<Epoll>,
    /// Live sockets by token.
    socks: Mutex<HashMap<Token, Arc<Shared>>>,
    /// Next socket token.
    next_token: AtomicUsize,
    /// Timers not yet due, in no order (a client has a handful).
    timers: Mutex<Vec<Timer>>,
    /// Set by [`Net::stop`].
    stop: AtomicBool,
    /// A pumped poller's bell (see [`Net::add_bell`]).
    bell: OnceLock<OwnedFd>,
}

/// Handle to a client's network thread (shared by its pools and connections).
pub struct Net {
    /// Shared with the thread.
    inner: Arc<Inner>,
    /// The thread, joined by [`Net::stop`].
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The thread's id (stopping from the thread itself must not join it); `None` for a
    /// pumped poller.
    thread_id: Option<ThreadId>,
    /// A pumped poller's poll, run by the waiting thread (`None` when a thread runs it).
    pumped: Option<Mutex<Pump>>,
}

impl std::fmt::Debug for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Net")
            .field("sockets", &self.inner.socks.lock().len())
            .finish()
    }
}

impl Net {
    /// Starts the network thread.
    pub fn start() -> Result<Arc<Net>> {
        let poll = Poll::new().map_err(|e| Error::io("creating the poller", e))?;
        let registry = poll
            .registry()
            .try_clone()
            .map_err(|e| Error::io("cloning the poller's registry", e))?;
        let waker =
            Waker::new(poll.registry(), WAKE).map_err(|e| Error::io("creating a waker", e))?;
        let inner = shared(Some(Epoll { registry, waker }));
        let weak = Arc::downgrade(&inner);
        let thread = std::thread::Builder::new()
            .name("kafka-net".into())
            .spawn(move || run(poll, weak))
            .map_err(|e| Error::io("spawning the network thread", e))?;
        Ok(Arc::new(Net {
            inner,
            thread_id: Some(thread.thread().id()),
            thread: Mutex::new(Some(thread)),
            pumped: None,
        }))
    }

    /// A poller without a thread: its sockets are read only while someone waits in
    /// [`Net::wait_for`] (or calls [`Net::pump_now`]). Timers run then too.
    pub fn pumped() -> Arc<Net> {
        Arc::new(Net {
            inner: shared(None),
            thread_id: None,
            thread: Mutex::new(None),
            pumped: Some(Mutex::new(Pump::default())),
        })
    }

    /// True for a poller without a thread ([`Net::pumped`]).
    pub fn is_pumped(&self) -> bool {
        self.pumped.is_some()
    }

    /// Waits until `rx` has a value or `deadline` passes. On a pumped poller the waiting
    /// thread reads the sockets meanwhile (or, while another thread does, waits on `rx` a
    /// moment at a time). `None` at the deadline or when every sender is gone.
    pub fn wait_for<T>(&self, rx: &mpsc::Receiver<T>, deadline: Instant) -> Option<T> {
        loop {
            match rx.try_recv() {
                Ok(v) => return Some(v),
                Err(mpsc::TryRecvError::Disconnected) => return None,
                Err(mpsc::TryRecvError::Empty) => {}
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            // How long to wait on the channel alone when this thread does not poll.
            let slice = match &self.pumped {
                // A threaded or stopped poller: its sockets are not ours to read.
                None => left,
                Some(_) if self.inner.stop.load(Ordering::SeqCst) => left,
                Some(pump) => match pump.try_lock() {
                    Some(mut pump) => {
                        let slice = if self.inner.bell.get().is_some() {
                            left // a sender rings the bell
                        } else {
                            left.min(PUMP_SLICE)
                        };
                        if pump.run(&self.inner, slice) {
                            continue;
                        }
                        left.min(PUMP_SLICE) // no socket yet
                    }
                    None => left.min(HANDOFF), // another thread polls for us
                },
            };
            match rx.recv_timeout(slice) {
                Ok(v) => return Some(v),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// On a pumped poller, handles whatever the sockets have now without waiting (writes
    /// queued requests, delivers answers); does nothing on a threaded one or while another
    /// thread pumps.
    pub fn pump_now(&self) {
        if let Some(mut pump) = self.pumped.as_ref().and_then(|p| p.try_lock()) {
            pump.run(&self.inner, Duration::ZERO);
        }
    }

    /// Interrupts the network thread's poll, or a pumped poller's when it has a bell.
    /// Without one, a pumped poller's waiter looks at its channel at least every
    /// [`PUMP_SLICE`].
    pub fn wake(&self) {
        if let Some(e) = &self.inner.epoll {
            let _ = e.waker.wake();
        } else if let Some(bell) = self.inner.bell.get() {
            // A full counter (never, at one ring per wake) only means it is rung already.
            let _ = rustix::io::write(bell, &1u64.to_ne_bytes());
        }
    }

    /// Gives a pumped poller a bell, so that [`Net::wake`] from another thread ends its
    /// waiter's `poll(2)` at once and the waiter need not wake every [`PUMP_SLICE`] to look
    /// at its channel. Costs one descriptor (an eventfd); does nothing on a threaded
    /// poller, which has its own waker.
    pub fn add_bell(&self) -> Result<()> {
        if self.pumped.is_none() || self.inner.bell.get().is_some() {
            return Ok(());
        }
        let fd = rustix::event::eventfd(
            0,
            rustix::event::EventfdFlags::NONBLOCK | rustix::event::EventfdFlags::CLOEXEC,
        )
        .map_err(|e| Error::io("creating an eventfd", e.into()))?;
        let _ = self.inner.bell.set(fd);
        Ok(())
    }

    /// Starts reading `conn`'s socket; returns its token (for [`Net::want_write`]).
    pub(crate) fn add(&self, conn: Arc<Shared>) -> Result<Token> {
        let token = Token(self.inner.next_token.fetch_add(1, Ordering::Relaxed));
        let fd = conn.stream.as_raw_fd();
        self.inner.socks.lock().insert(token, conn);
        let Some(epoll) = &self.inner.epoll else {
            return Ok(token); // a pumped poller polls what `socks` holds
        };
        if let Err(e) = epoll
            .registry
            .register(&mut SourceFd(&fd), token, Interest::READABLE)
        {
            self.inner.socks.lock().remove(&token);
            return Err(Error::io("registering a socket", e));
        }
        Ok(token)
    }

    /// Asks to be told when `conn`'s socket takes more bytes (its queue is not empty).
    /// Called under the connection's writer lock, like the thread's own re-arming.
    pub(crate) fn want_write(&self, conn: &Shared, token: Token) {
        // A pumped poller asks each socket with queued bytes for writability anyway.
        if let Some(e) = &self.inner.epoll {
            rearm(&e.registry, conn, token, true);
        }
    }

    /// Runs `task` on the network thread after `first`, then as often as it asks.
    pub fn schedule(&self, first: Duration, task: Task) {
        self.inner.timers.lock().push(Timer {
            at: Instant::now() + first,
            task,
        });
        self.wake();
    }

    /// The number of sockets being read (a statistic for tests).
    pub fn sockets(&self) -> usize {
        self.inner.socks.lock().len()
    }

    /// Stops the thread (sockets still open stay open, unread) and waits for it unless
    /// called from it.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.wake();
        if Some(std::thread::current().id()) == self.thread_id {
            return;
        }
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: poll, read or flush ready sockets, run due timers, until stopped.
fn run(mut poll: Poll, inner: Weak<Inner>) {
    let mut events = Events::with_capacity(64);
    loop {
        let Some(net) = inner.upgrade() else { return };
        if net.stop.load(Ordering::SeqCst) {
            break;
        }
        let timeout = next_timer(&net).map(|at| at.saturating_duration_since(Instant::now()));
        drop(net);
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(error = %e, "network poll failed");
            break;
        }
        let Some(net) = inner.upgrade() else { return };
        if let Some(e) = &net.epoll {
            handle(&net, &e.registry, &events);
        }
        run_timers(&net);
    }
    if let Some(net) = inner.upgrade() {
        net.socks.lock().clear();
        net.timers.lock().clear();
    }
    tracing::debug!("network thread stopped");
}

/// The state a poller's handles share.
fn shared(epoll: Option<Epoll>) -> Arc<Inner> {
    Arc::new(Inner {
        epoll,
        socks: Mutex::new(HashMap::new()),
        next_token: AtomicUsize::new(1),
        timers: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        bell: OnceLock::new(),
    })
}

/// On the network thread: reads or flushes each ready socket; forgets the ones that died.
fn handle(net: &Inner, registry: &Registry, events: &Events) {
    for ev in events.iter() {
        if ev.token() == WAKE {
            continue;
        }
        let Some(conn) = net.socks.lock().get(&ev.token()).cloned() else {
            continue;
        };
        if ev.is_writable() {
            conn.flush_queued(|pending| {
                if !pending {
                    rearm(registry, &conn, ev.token(), false);
                }
            });
        }
        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
            conn.read_ready(ev.is_read_closed() || ev.is_error());
        }
        if !conn.is_alive() {
            let fd = conn.stream.as_raw_fd();
            let _ = registry.deregister(&mut SourceFd(&fd));
            net.socks.lock().remove(&ev.token());
        }
    }
}

/// Sets what the poller reports for `conn`: readable, plus writable while bytes wait.
fn rearm(registry: &Registry, conn: &Shared, token: Token, writable: bool) {
    let fd = conn.stream.as_raw_fd();
    let interest = if writable {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    };
    if let Err(e) = registry.reregister(&mut SourceFd(&fd), token, interest) {
        conn.fail(format!("poller: {e}"));
    }
}

/// When the earliest timer is due.
fn next_timer(net: &Inner) -> Option<Instant> {
    net.timers.lock().iter().map(|t| t.at).min()
}

/// Runs the due timers (outside the lock, so a task may schedule another).
fn run_timers(net: &Inner) {
    let now = Instant::now();
    let due: Vec<Timer> = {
        let mut timers = net.timers.lock();
        if !timers.iter().any(|t| t.at <= now) {
            return; // the usual case: nothing to take apart
        }
        let (due, later) = std::mem::take(&mut *timers)
            .into_iter()
            .partition(|t| t.at <= now);
        *timers = later;
        due
    };
    for mut t in due {
        if let Some(again) = (t.task)() {
            net.timers.lock().push(Timer {
                at: Instant::now() + again,
                task: t.task,
            });
        }
    }
}
