//! The Kafka backend: each [`Link`] is an ordinary client of a `bbs-server` (or any broker
//! with the BBS policy installed) through `client` (the kafka-client crate).
//!
//! - Registration creates SCRAM credentials anonymously through the client's admin calls
//!   ([`accounts`], open registration), then writes the user's profile record logged in as
//!   that user.
//! - Login opens a SCRAM-authenticated client; logout goes back to an anonymous one.
//! - Reads come from a [`feed::Feed`]: a consumer thread in the link's own group folding
//!   the public topics and the user's private ones into the link's [`State`]. Login waits
//!   until the feed has caught up; an anonymous link starts its feed at the first read of
//!   its view, so a client that logs in (or registers) at once never reads the BBS
//!   anonymously first. `append` waits until the feed has consumed the produced record,
//!   so the state always reflects the link's own writes.
//! - Appends are produced with acks=all; the policy's refusal (Kafka error 44 with the
//!   failure's exact line) comes back as `Error::Refused` with the same line ([`errors`]
//!   translates the client's errors).
//! - The online list ([`presence`]) is the set of users of the live `bbs-session-` groups
//!   (the group id carries the user after a `:`): ListGroups filtered to the states with
//!   members, so it needs only the groups' names (the server keeps their members private).
//! - BBS topics are the server's: a board's topic, a user's mailbox and subscription list
//!   are created by the server when the record implying them is accepted.
//! - Per-user prefs are kept in [`prefs`] (committed offsets with metadata of a per-user
//!   group `bbs-prefs:<user>`).
//!
//! Two additions to the plan, both for the command language's sequential semantics:
//! - [`Link::sync`]: before each command the interpreter asks the link to catch up with
//!   the end offsets of every topic its feed reads, so a command sees what other users
//!   wrote before it was typed (a mail just sent to this user, a board just created).
//! - One `Client` per link serves the producer, the feed, prefs and presence (two
//!   connections to a one-broker server). The feed's pattern subscription makes it ask for
//!   all topics' metadata, which never auto-creates the topic a first record goes to; the
//!   client names the topics its producer still misses in a second request, and a topic the
//!   producer learns of reaches the feed's subscription at once.

mod accounts;
mod errors;
pub mod feed;
mod prefs;
mod presence;
pub mod window;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use client::{Client, ClientConfig, Producer, ProducerConfig, Record};
use parking_lot::Mutex;

use super::{Appended, Backend, EventSink, Link, Need, RecordSink};
use crate::codec::{self, BbsRecord, Entry};
use crate::error::{Error, Failure, Result};
use crate::names;
use crate::prefs::{ReadMark, UserPrefs};
use crate::state::State;
use feed::{backend, Feed};

/// How old metadata may get before a refresh. A feed's pattern subscription asks for every
/// topic's metadata, so each refresh costs what the server's topic count costs, per session:
/// it is rare. New boards do not wait for it: the feed looks their topic up as soon as it
/// folds the board's record (the server creates the topic before accepting that record),
/// and a topic this link's producer learns of reaches the subscription at once.
const METADATA_MAX_AGE: Duration = Duration::from_secs(60);
/// How long an append waits for the feed to show it.
const APPEND_WAIT: Duration = Duration::from_secs(10);
/// How long a command waits for the view to catch up with others' writes.
const SYNC_WAIT: Duration = Duration::from_secs(5);
/// Group ids of feeds start with this; the user follows the first `:`.
pub use names::SESSION_GROUP_PREFIX;

/// The sinks of a link, shared with its feed thread (they survive feed rebuilds).
#[derive(Clone, Default)]
pub struct Sinks(Arc<Mutex<(Option<EventSink>, Option<RecordSink>)>>);

impl Sinks {
    /// The current sinks.
    pub fn get(&self) -> (Option<EventSink>, Option<RecordSink>) {
        self.0.lock().clone()
    }

    fn set_event(&self, s: EventSink) {
        self.0.lock().0 = Some(s);
    }

    fn set_record(&self, s: RecordSink) {
        self.0.lock().1 = Some(s);
    }
}

/// A BBS on a Kafka server at `bootstrap` (`host:port`).
#[derive(Clone)]
pub struct KafkaBackend {
    /// The server's address.
    pub bootstrap: String,
    /// The in-process proxy secret (`bbs-server`'s classic port), letting
    /// [`Backend::for_peer`] vouch for real client addresses.
    pub proxy_secret: Option<String>,
    /// The real client this backend acts for (set by `for_peer`), sent with the secret
    /// on every connection.
    pub peer: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for KafkaBackend {
    // By hand so the proxy secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBackend")
            .field("bootstrap", &self.bootstrap)
            .field("proxied", &self.proxy_secret.is_some())
            .field("peer", &self.peer)
            .finish()
    }
}

impl KafkaBackend {
    /// A backend for the server at `bootstrap`.
    pub fn new(bootstrap: &str) -> KafkaBackend {
        KafkaBackend {
            bootstrap: bootstrap.to_string(),
            proxy_secret: None,
            peer: None,
        }
    }

    /// The proxy (secret, real client) of this backend's connections, if any.
    fn proxy(&self) -> Option<(&str, std::net::SocketAddr)> {
        Some((self.proxy_secret.as_deref()?, self.peer?))
    }

    fn config(&self) -> ClientConfig {
        let config = ClientConfig::new(&self.bootstrap)
            .client_id("bbs")
            .metadata_max_age(METADATA_MAX_AGE);
        match self.proxy() {
            Some((secret, peer)) => config.proxied_for(secret, peer),
            None => config,
        }
    }
}

impl Backend for KafkaBackend {
    fn for_peer(&self, peer: std::net::SocketAddr) -> Option<Arc<dyn Backend>> {
        self.proxy_secret.as_ref()?;
        Some(Arc::new(KafkaBackend {
            peer: Some(peer),
            ..self.clone()
        }))
    }

    fn connect(&self) -> Result<Box<dyn Link>> {
        let mut link = KafkaLink {
            backend: self.clone(),
            sinks: Sinks::default(),
            user: None,
            conn: None,
        };
        link.open(None)?;
        Ok(Box::new(link))
    }
}

/// A client, its producer and its feed (rebuilt at login and logout).
struct Conn {
    /// The link's client: producer, feed, admin requests (topics, offsets, groups).
    client: Client,
    /// Appends go through it (on the same client, see the module docs).
    producer: Producer,
    /// The topics of the feed besides the public ones.
    private: Vec<String>,
    /// The feed's consumer group.
    group: String,
    /// Handed to the feed when it starts.
    sinks: Sinks,
    /// Started at login, or by the first read of an anonymous link's view (see
    /// [`Conn::feed`]).
    feed: std::sync::OnceLock<Feed>,
}

impl Conn {
    /// The feed, started on first use. A logged-in link starts it at login (which waits
    /// until it has caught up); an anonymous one only when something reads its view, so
    /// a client that logs in at once (or registers, or leaves) never reads the BBS twice.
    fn feed(&self) -> Result<&Feed> {
        if let Some(f) = self.feed.get() {
            return Ok(f);
        }
        let started = Feed::start(&self.client, &self.group, &self.private, self.sinks.clone())?;
        Ok(self.feed.get_or_init(|| started))
    }
}

/// One session's link.
pub struct KafkaLink {
    /// Where the server is.
    backend: KafkaBackend,
    /// The session's sinks, handed to every feed this link starts.
    sinks: Sinks,
    /// Who is logged in (the principal of appends, the owner of prefs).
    user: Option<String>,
    /// The current connection; `None` only while it is being replaced.
    conn: Option<Conn>,
}

fn group_id(user: Option<&str>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = format!(
        "{SESSION_GROUP_PREFIX}{}-{n}-{nanos:08x}",
        std::process::id()
    );
    match user {
        Some(u) => format!("{base}:{u}"),
        None => base,
    }
}

impl KafkaLink {
    /// Connects as `creds` (or anonymously) and starts the feed.
    fn open(&mut self, creds: Option<(&str, &str)>) -> Result<()> {
        // Stop the old feed first so it leaves its group.
        self.conn = None;
        let mut config = self.backend.config();
        let mut private = Vec::new();
        if let Some((u, pw)) = creds {
            config = config.sasl_scram(u, pw);
            private.push(names::mail_topic(u)?);
            private.push(names::subs_topic(u)?);
        }
        let client = Client::connect(config).map_err(|e| errors::connect_error(e, creds))?;
        let producer = client
            .producer(interactive())
            .map_err(|e| errors::connect_error(e, creds))?;
        let conn = Conn {
            client,
            producer,
            private,
            group: group_id(creds.map(|c| c.0)),
            sinks: self.sinks.clone(),
            feed: std::sync::OnceLock::new(),
        };
        if creds.is_some() {
            conn.feed()?;
        }
        self.conn = Some(conn);
        Ok(())
    }

    fn conn(&self) -> Result<&Conn> {
        self.conn
            .as_ref()
            .ok_or_else(|| Error::Backend("not connected".into()))
    }

    fn me(&self) -> Result<&str> {
        self.user
            .as_deref()
            .ok_or_else(|| Failure::NotLoggedIn.into())
    }
}

impl Link for KafkaLink {
    fn register(&mut self, user: &str, email: &str, password: &str) -> Result<()> {
        let (topic, wire) = codec::encode(&Entry::new(BbsRecord::User {
            name: user.to_string(),
            email: email.to_string(),
        }))?;
        accounts::create_account(
            &self.backend.bootstrap,
            self.backend.proxy(),
            user,
            password,
        )?;
        let client = Client::connect(self.backend.config().sasl_scram(user, password))
            .map_err(|e| errors::connect_error(e, Some((user, password))))?;
        let producer = client.producer(interactive()).map_err(backend)?;
        let meta = produce(&producer, &topic, wire)?;
        let _ = producer.close();
        // Wait until this link's view shows the new user (bbs.users is public), if it has
        // a view yet: one started later reads the user anyway.
        let conn = self.conn()?;
        if let Some(feed) = conn.feed.get() {
            let target = HashMap::from([((meta.0, meta.1), meta.2 + 1)]);
            feed.shared.wait_for(&target, APPEND_WAIT);
        }
        Ok(())
    }

    fn login(&mut self, user: &str, password: &str) -> Result<()> {
        match self.open(Some((user, password))) {
            Ok(()) => {
                self.user = Some(user.to_string());
                Ok(())
            }
            Err(e) => {
                // Back to an anonymous link so the session stays usable.
                self.user = None;
                self.open(None)?;
                Err(e)
            }
        }
    }

    fn logout(&mut self) -> Result<()> {
        self.user = None;
        self.open(None)
    }

    fn append(&mut self, entry: Entry) -> Result<Appended> {
        let (topic, wire) = codec::encode(&entry)?;
        let conn = self.conn()?;
        // The server creates a board's topic (a user's mailbox, ...) before it
        // acknowledges the record that implies it, so nothing is created here.
        let (t, partition, offset) = produce(&conn.producer, &topic, wire.clone())?;
        if !feed::matches(&t, &conn.private) {
            // Someone else's mailbox: not in this view.
            let entry = codec::decode(&t, &wire).unwrap_or(entry);
            return Ok(Appended {
                topic: t,
                offset,
                entry,
            });
        }
        let target = HashMap::from([((t.clone(), partition), offset + 1)]);
        let feed = conn.feed()?;
        feed.shared.wait_for(&target, APPEND_WAIT);
        let st = feed.shared.lock();
        let key = (t.clone(), partition, offset);
        let stamped = st
            .recent
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| e.clone())
            .unwrap_or(entry);
        Ok(Appended {
            topic: t,
            offset,
            entry: stamped,
        })
    }

    fn with_view(&self, f: &mut dyn FnMut(&State)) {
        match self.conn.as_ref().map(Conn::feed) {
            Some(Ok(feed)) => f(&feed.shared.lock().view),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the view could not be read");
                f(&State::new())
            }
            None => f(&State::new()),
        }
    }

    fn sync(&self) -> Result<()> {
        let conn = self.conn()?;
        let feed = conn.feed()?;
        let behind = || Error::Backend("the view is behind the server".into());
        // The topics the link's metadata knows, not a fresh list of all of them: that
        // costs as much as the server has topics (one per user), on every command.
        let known: HashSet<String> = conn.client.metadata().topics.keys().cloned().collect();
        let listed: Vec<String> = known.iter().cloned().collect();
        let ends = match feed::end_offsets_among(&conn.client, &listed, &conn.private) {
            Ok(ends) => ends,
            // A topic deleted since: list them all afresh.
            Err(_) => feed::end_offsets(&conn.client, &conn.private)?,
        };
        if !feed.shared.wait_for(&ends, SYNC_WAIT) {
            return Err(behind());
        }
        // Boards created since the metadata was fetched are in `bbs.boards`, which the
        // wait covered: their topics are looked up by name and caught up with too.
        let unknown: Vec<String> = feed
            .shared
            .lock()
            .view
            .boards()
            .iter()
            .filter_map(|b| names::board_topic(&b.name).ok())
            .filter(|t| !known.contains(t))
            .collect();
        if !unknown.is_empty() {
            let named: Vec<&str> = unknown.iter().map(String::as_str).collect();
            conn.client.refresh_metadata(&named).map_err(backend)?;
            let ends = feed::end_offsets_among(&conn.client, &unknown, &conn.private)?;
            if !feed.shared.wait_for(&ends, SYNC_WAIT) {
                return Err(behind());
            }
        }
        Ok(())
    }

    fn set_event_sink(&mut self, sink: EventSink) {
        self.sinks.set_event(sink);
    }

    fn load(&self, need: Need) -> Result<()> {
        let conn = self.conn()?;
        window::load(&conn.client, &conn.feed()?.shared, need)
    }

    fn set_record_sink(&mut self, sink: RecordSink) {
        self.sinks.set_record(sink);
    }

    fn prefs(&self) -> Result<UserPrefs> {
        let me = self.me()?;
        let conn = self.conn()?;
        let boards: Vec<String> = conn
            .feed()?
            .shared
            .lock()
            .view
            .boards()
            .iter()
            .map(|b| b.name.clone())
            .collect();
        prefs::load(&conn.client, me, &boards)
    }

    fn put_read_mark(&mut self, board: &str, mark: &ReadMark) -> Result<()> {
        let me = self.me()?;
        prefs::put_read_mark(&self.conn()?.client, me, board, mark)
    }

    fn put_favourites(&mut self, boards: &[String]) -> Result<()> {
        let me = self.me()?;
        prefs::put_favourites(&self.conn()?.client, me, boards)
    }

    fn online(&self) -> Result<Vec<String>> {
        presence::online(&self.conn()?.client)
    }
}

/// The producer of a session: every append is one record the user waits for, so it goes
/// out at once (no linger: batching could only add delay here).
fn interactive() -> ProducerConfig {
    ProducerConfig::default().linger(Duration::ZERO)
}

/// Produces one record and waits for it: (topic, partition, offset).
fn produce(
    producer: &Producer,
    topic: &str,
    wire: codec::WireRecord,
) -> Result<(String, i32, i64)> {
    let mut rec = Record::new(topic);
    if let Some(k) = wire.key {
        rec = rec.key(k);
    }
    if let Some(v) = wire.value {
        rec = rec.value(v);
    }
    for (n, v) in wire.headers {
        rec = rec.header(&n, v.unwrap_or_default());
    }
    let meta = producer
        .send(rec)
        .and_then(|h| h.wait())
        .map_err(errors::append_error)?;
    Ok((meta.topic, meta.partition, meta.offset))
}
