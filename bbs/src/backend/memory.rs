//! An in-process backend: one shared, thread-safe store that runs the real codec, record
//! policy and reducer on every append, as the server does. Sessions on many threads share
//! it; new posts are announced to every link's event sink after the store lock is released.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use super::{Appended, Backend, EventSink, Link, RecordSink};
use crate::codec::{self, BbsRecord, Entry, WireRecord};
use crate::error::{Error, Failure, Result};
use crate::model::{Millis, PostEvent};
use crate::policy::{self, Principal, Verdict};
use crate::prefs::{ReadMark, UserPrefs};
use crate::state::{Position, State};

/// The source of server time.
pub type Clock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// Everything behind the lock.
#[derive(Default)]
struct Store {
    /// The view every link reads (the in-memory backend has one view for all).
    state: State,
    /// Topic → records as written (stamped), for inspection like a student's consumer.
    topics: HashMap<String, Vec<WireRecord>>,
    /// Username → password (the Kafka backend keeps SCRAM credentials in the broker).
    passwords: HashMap<String, String>,
    /// Link id → its event sink.
    sinks: HashMap<u64, EventSink>,
    /// Link id → its record sink.
    record_sinks: HashMap<u64, RecordSink>,
    /// Username → read marks and favourites (per user, not per link, so they follow the
    /// user to another session).
    prefs: HashMap<String, UserPrefs>,
    /// Link id → the user logged in on it (the online list).
    logged_in: HashMap<u64, String>,
    /// The next link id.
    next_link: u64,
}

/// The shared in-memory BBS. Cloning gives another handle to the same store.
#[derive(Clone)]
pub struct MemoryBackend {
    /// The store all links share.
    store: Arc<Mutex<Store>>,
    /// Server time for stamping.
    clock: Clock,
}

impl Default for MemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBackend {
    /// A fresh store using the system clock.
    pub fn new() -> MemoryBackend {
        Self::with_clock(Arc::new(crate::time::now_ms))
    }

    /// A fresh store with a given clock (tests pin dates with it).
    pub fn with_clock(clock: Clock) -> MemoryBackend {
        MemoryBackend {
            store: Arc::new(Mutex::new(Store::default())),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock()
    }

    /// The records written to `topic` so far, as a consumer would read them.
    pub fn topic(&self, topic: &str) -> Vec<WireRecord> {
        self.lock().topics.get(topic).cloned().unwrap_or_default()
    }

    /// Produces raw records as `principal` would over Kafka: the policy decides, and an
    /// accepted batch is stamped, stored, folded into the view and announced.
    pub fn produce(
        &self,
        principal: Principal<'_>,
        topic: &str,
        records: &[WireRecord],
    ) -> Result<Vec<Appended>> {
        self.store_records(Some(principal), topic, records)
    }

    /// Stores already-stamped records *without* the record policy, as a log written
    /// before a rule existed (or by another server) may hold them: for tests of what
    /// clients show when stored text is hostile.
    pub fn inject_unchecked(&self, topic: &str, records: &[WireRecord]) -> Result<Vec<Appended>> {
        self.store_records(None, topic, records)
    }

    fn store_records(
        &self,
        principal: Option<Principal<'_>>,
        topic: &str,
        records: &[WireRecord],
    ) -> Result<Vec<Appended>> {
        let (appended, events, sinks, record_sinks) = {
            let mut store = self.lock();
            let now = (self.clock)();
            let verdict = match principal {
                Some(p) => policy::check(p, topic, records, &store.state, now),
                None => Verdict::Accept,
            };
            let stamped = match verdict {
                Verdict::Accept => records.to_vec(),
                Verdict::Reject(f) => return Err(Error::Refused(f)),
                Verdict::Replace(r) => r,
            };
            let mut appended = Vec::new();
            let mut events = Vec::new();
            for w in stamped {
                let log = store.topics.entry(topic.to_string()).or_default();
                let offset = log.len() as i64;
                log.push(w.clone());
                // Records of ordinary topics are not BBS records: stored, not folded.
                let Ok(entry) = codec::decode(topic, &w) else {
                    continue;
                };
                store.state.apply(
                    Position {
                        offset,
                        timestamp: now,
                    },
                    &entry,
                );
                if let BbsRecord::Post {
                    board,
                    id: Some(id),
                    author,
                    title,
                    ..
                } = &entry.record
                {
                    events.push(PostEvent {
                        board: board.clone(),
                        id: *id,
                        title: title.clone(),
                        author: author.clone(),
                    });
                }
                appended.push(Appended {
                    topic: topic.to_string(),
                    offset,
                    entry,
                });
            }
            let sinks: Vec<EventSink> = store.sinks.values().cloned().collect();
            let record_sinks: Vec<RecordSink> = store.record_sinks.values().cloned().collect();
            (appended, events, sinks, record_sinks)
        };
        for a in &appended {
            for sink in &record_sinks {
                sink(&a.entry);
            }
        }
        for ev in &events {
            for sink in &sinks {
                sink(ev);
            }
        }
        Ok(appended)
    }
}

impl Backend for MemoryBackend {
    fn connect(&self) -> Result<Box<dyn Link>> {
        let id = {
            let mut store = self.lock();
            store.next_link += 1;
            store.next_link
        };
        Ok(Box::new(MemoryLink {
            backend: self.clone(),
            id,
            user: None,
        }))
    }
}

/// One session's handle on the shared store.
struct MemoryLink {
    /// The shared store.
    backend: MemoryBackend,
    /// Identifies this link's event sink.
    id: u64,
    /// Who is logged in: the principal of appends.
    user: Option<String>,
}

impl Link for MemoryLink {
    fn register(&mut self, user: &str, email: &str, password: &str) -> Result<()> {
        let record = BbsRecord::User {
            name: user.to_string(),
            email: email.to_string(),
        };
        let (topic, wire) = codec::encode(&Entry::new(record))?;
        {
            let mut store = self.backend.lock();
            if store.passwords.contains_key(user) {
                return Err(Failure::UsernameTaken.into());
            }
            store
                .passwords
                .insert(user.to_string(), password.to_string());
        }
        match self.backend.produce(Principal::Server, &topic, &[wire]) {
            Ok(_) => Ok(()),
            Err(e) => {
                self.backend.lock().passwords.remove(user);
                Err(e)
            }
        }
    }

    fn login(&mut self, user: &str, password: &str) -> Result<()> {
        let store = self.backend.lock();
        match store.passwords.get(user) {
            // As the server does: the password first, then the operator's switch.
            Some(p) if p == password && store.state.is_disabled(user) => {
                Err(Failure::Policy(policy::disabled_message(user)).into())
            }
            Some(p) if p == password => {
                self.user = Some(user.to_string());
                drop(store);
                self.backend
                    .lock()
                    .logged_in
                    .insert(self.id, user.to_string());
                Ok(())
            }
            _ => Err(Failure::LoginFailed.into()),
        }
    }

    fn logout(&mut self) -> Result<()> {
        self.user = None;
        self.backend.lock().logged_in.remove(&self.id);
        Ok(())
    }

    fn append(&mut self, entry: Entry) -> Result<Appended> {
        let (topic, wire) = codec::encode(&entry)?;
        let principal = match &self.user {
            Some(u) => Principal::User(u),
            None => Principal::Anonymous,
        };
        self.backend
            .produce(principal, &topic, &[wire])?
            .pop()
            .ok_or_else(|| Error::Backend("the append wrote nothing".into()))
    }

    fn with_view(&self, f: &mut dyn FnMut(&State)) {
        f(&self.backend.lock().state)
    }

    fn set_event_sink(&mut self, sink: EventSink) {
        self.backend.lock().sinks.insert(self.id, sink);
    }

    fn set_record_sink(&mut self, sink: RecordSink) {
        self.backend.lock().record_sinks.insert(self.id, sink);
    }

    fn prefs(&self) -> Result<UserPrefs> {
        let me = self.me()?;
        Ok(self
            .backend
            .lock()
            .prefs
            .get(me)
            .cloned()
            .unwrap_or_default())
    }

    fn put_read_mark(&mut self, board: &str, mark: &ReadMark) -> Result<()> {
        let me = self.me()?.to_string();
        let mut store = self.backend.lock();
        let prefs = store.prefs.entry(me).or_default();
        prefs.read.insert(board.to_string(), mark.clone());
        Ok(())
    }

    fn put_favourites(&mut self, boards: &[String]) -> Result<()> {
        let me = self.me()?.to_string();
        let mut store = self.backend.lock();
        store.prefs.entry(me).or_default().favourites = boards.to_vec();
        Ok(())
    }

    fn online(&self) -> Result<Vec<String>> {
        let mut users: Vec<String> = self.backend.lock().logged_in.values().cloned().collect();
        users.sort();
        users.dedup();
        Ok(users)
    }
}

impl MemoryLink {
    fn me(&self) -> Result<&str> {
        self.user
            .as_deref()
            .ok_or_else(|| Failure::NotLoggedIn.into())
    }
}

impl Drop for MemoryLink {
    fn drop(&mut self) {
        let mut store = self.backend.lock();
        store.sinks.remove(&self.id);
        store.record_sinks.remove(&self.id);
        store.logged_in.remove(&self.id);
    }
}
