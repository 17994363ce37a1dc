//! One simulated student of `bbs-bench class`: a [`Session`] over a Kafka link to the real
//! server, what the student does at each turn (browse, post, comment, mail, subscribe),
//! and how a student who lost the server gets back (drop the link, connect and log in again
//! with backoff, as the TUI's worker does). Every write carries a unique nonce
//! (`#n<student>-<seq>#`) in its text, and the [`Ledger`] records whether its append was
//! acknowledged, for the read-back afterwards.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bbs::backend::Backend;
use bbs::model::{PostEvent, PostId, SubTarget};
use bbs::session::Session;
use bbs::Error;
use parking_lot::Mutex;

/// What a turn may do, with its weight (see `ClassArgs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    Browse,
    Post,
    Comment,
    Mail,
    Subscribe,
}

/// A write the bench made: its kind and whether its append was acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Post,
    Comment,
    Mail,
}

/// A write in the ledger: its kind, whether its append was acknowledged, and the
/// recipient of a mail (whose mailbox the read-back opens).
pub(crate) type Write = (Kind, bool, Option<String>);

/// Everything the students did, shared by the driver threads and the feed sinks.
#[derive(Default)]
pub(crate) struct Ledger {
    /// nonce → (kind, acknowledged, recipient of a mail).
    pub writes: Mutex<HashMap<String, Write>>,
    /// Acknowledged posts: id → (append called, append returned).
    pub posted: Mutex<HashMap<PostId, (Instant, Instant)>>,
    /// Arrivals of live post events in other students' feeds: id → when.
    pub arrivals: Mutex<HashMap<PostId, Vec<Instant>>>,
    /// Turns taken, by kind (browse, post, comment, mail, subscribe) and reconnects.
    pub counts: Mutex<Counts>,
}

/// Counters of a run.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub actions: u64,
    pub browse: u64,
    pub appends_ok: u64,
    pub appends_failed: u64,
    /// Appends that failed while a fault was in progress (or just after).
    pub failed_in_faults: u64,
    /// Refusals by the command's own checks (e.g. already subscribed): not failures.
    pub refused: u64,
    pub reconnects: u64,
    pub reconnect_failures: u64,
}

/// A tiny xorshift generator: the bench needs cheap, reproducible choices, not quality.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// A duration uniformly between `lo` and `hi`.
    pub(crate) fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = hi.saturating_sub(lo).as_micros() as u64;
        lo + Duration::from_micros(if span == 0 { 0 } else { self.next() % span })
    }
}

/// The user name of student `i`.
pub(crate) fn user_name(run: &str, i: usize) -> String {
    format!("s{run}x{i}")
}

/// The password of a student.
pub(crate) fn password(user: &str) -> String {
    format!("pw-{user}")
}

/// One simulated student.
pub(crate) struct Student {
    pub index: usize,
    pub user: String,
    /// `None` while the student has lost the server.
    pub session: Option<Session>,
    /// Failed reconnect attempts in a row (the backoff).
    pub attempts: u32,
    pub rng: Rng,
    seq: u64,
}

/// Whether an error means the link is gone (not a refusal by the command's checks).
fn lost(e: &Error) -> bool {
    matches!(e, Error::Backend(_) | Error::Io(_))
}

/// What every turn needs besides the student: the boards, the class size, the ledger and
/// whether a fault is in progress (to count the appends it made fail).
pub(crate) struct Class {
    pub run: String,
    pub boards: Vec<String>,
    pub students: usize,
    pub backend: Arc<dyn Backend>,
    pub ledger: Arc<Ledger>,
    pub in_fault: Arc<dyn Fn() -> bool + Send + Sync>,
    /// Which students logged in at the start (mail goes only to them).
    pub present: Vec<AtomicBool>,
}

/// Words students subscribe to (post titles contain them).
const KEYWORDS: [&str; 4] = ["notes", "exam", "lab", "quiz"];

impl Student {
    /// Connects and logs in student `index` (registered beforehand).
    pub(crate) fn join(class: &Class, index: usize) -> Result<Student> {
        let mut s = Student {
            index,
            user: user_name(&class.run, index),
            session: None,
            attempts: 0,
            rng: Rng::new(index as u64 + 1),
            seq: 0,
        };
        s.connect(class)?;
        if let Some(p) = class.present.get(index) {
            p.store(true, Ordering::Relaxed);
        }
        Ok(s)
    }

    /// Opens a link, installs the sink that records live post arrivals, and logs in.
    pub(crate) fn connect(&mut self, class: &Class) -> bbs::Result<()> {
        let mut session = Session::new(class.backend.connect()?);
        let (me, ledger) = (self.user.clone(), class.ledger.clone());
        session.set_event_sink(Arc::new(move |ev: &PostEvent| {
            if ev.author != me {
                let now = Instant::now();
                ledger.arrivals.lock().entry(ev.id).or_default().push(now);
            }
        }));
        session.login(&self.user, &password(&self.user))?;
        self.session = Some(session);
        Ok(())
    }

    /// After losing the server: one attempt to connect and log in again. Returns whether
    /// it worked; the caller waits [`Student::backoff`] before the next attempt.
    pub(crate) fn reconnect(&mut self, class: &Class) -> bool {
        match self.connect(class) {
            Ok(()) => {
                self.attempts = 0;
                class.ledger.counts.lock().reconnects += 1;
                true
            }
            Err(e) => {
                tracing::debug!(user = %self.user, error = %e, "reconnect failed");
                self.attempts += 1;
                class.ledger.counts.lock().reconnect_failures += 1;
                false
            }
        }
    }

    /// The wait before the next reconnect attempt: 0.5 s doubling to 5 s (the TUI's).
    pub(crate) fn backoff(&self) -> Duration {
        let ms = 500u64.saturating_mul(1 << self.attempts.min(4));
        Duration::from_millis(ms.min(5000))
    }

    /// Takes one turn. Returns false when the link was lost (the student must reconnect).
    pub(crate) fn turn(&mut self, act: Act, class: &Class) -> bool {
        let Some(mut session) = self.session.take() else {
            return false;
        };
        class.ledger.counts.lock().actions += 1;
        match self.act(&mut session, act, class) {
            Ok(()) => {}
            Err(e) if lost(&e) => {
                tracing::debug!(user = %self.user, error = %e, "lost the server");
                return false;
            }
            Err(_) => class.ledger.counts.lock().refused += 1,
        }
        self.session = Some(session);
        true
    }

    fn act(&mut self, session: &mut Session, act: Act, class: &Class) -> bbs::Result<()> {
        let board = class.boards[self.rng.below(class.boards.len())].clone();
        let posts = session.posts(&board, None).unwrap_or_default();
        let act = match act {
            Act::Comment if posts.is_empty() => Act::Browse,
            a => a,
        };
        match act {
            Act::Browse => {
                class.ledger.counts.lock().browse += 1;
                // The TUI worker's health check: the link still reaches the server.
                session.check_link()?;
                let _ = session.boards(None);
                if !posts.is_empty() {
                    let p = &posts[self.rng.below(posts.len())];
                    session.read(&p.id.to_string())?;
                }
                Ok(())
            }
            Act::Post => {
                let n = self.nonce();
                let title = format!("{} {n}", KEYWORDS[self.rng.below(KEYWORDS.len())]);
                let t0 = Instant::now();
                let r = session.create_post(&board, &title, &format!("today's work {n}"));
                if let Ok(id) = &r {
                    class.ledger.posted.lock().insert(*id, (t0, Instant::now()));
                }
                self.record(class, n, Kind::Post, None, r.map(|_| ()))
            }
            Act::Comment => {
                let n = self.nonce();
                let p = &posts[self.rng.below(posts.len())];
                let r = session.comment(&p.id.to_string(), &format!("agreed {n}"));
                self.record(class, n, Kind::Comment, None, r)
            }
            Act::Mail => {
                let n = self.nonce();
                let to = self.classmate(class);
                let Some(j) = to else {
                    return Ok(());
                };
                let to = user_name(&class.run, j);
                let r = session.mail_to(&to, "homework", &format!("see you {n}"));
                self.record(class, n, Kind::Mail, Some(to), r)
            }
            Act::Subscribe => {
                let kw = KEYWORDS[self.rng.below(KEYWORDS.len())];
                session.subscribe(SubTarget::board(&board), kw)
            }
        }
    }

    /// Another student who is in class (a few random tries; `None` if none found).
    fn classmate(&mut self, class: &Class) -> Option<usize> {
        (0..8).find_map(|_| {
            let j = self.rng.below(class.students);
            let here = class
                .present
                .get(j)
                .is_some_and(|p| p.load(Ordering::Relaxed));
            (j != self.index && here).then_some(j)
        })
    }

    fn nonce(&mut self) -> String {
        self.seq += 1;
        format!("#n{}-{}#", self.index, self.seq)
    }

    /// Enters a write in the ledger: acknowledged or not.
    fn record(
        &self,
        class: &Class,
        nonce: String,
        kind: Kind,
        to: Option<String>,
        r: bbs::Result<()>,
    ) -> bbs::Result<()> {
        if matches!(r, Err(Error::Refused(_))) {
            // Refused by the command's checks or the server's policy: nothing was stored,
            // and it is no append that failed.
            return r;
        }
        let ok = r.is_ok();
        class.ledger.writes.lock().insert(nonce, (kind, ok, to));
        let mut c = class.ledger.counts.lock();
        if ok {
            c.appends_ok += 1;
        } else {
            c.appends_failed += 1;
            if (class.in_fault)() {
                c.failed_in_faults += 1;
            }
        }
        r
    }
}
