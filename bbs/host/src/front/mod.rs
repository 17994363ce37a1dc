//! The BBS on a front server (`bbs-server --kafka`): the record policy, post ids, times
//! and views of a single server, kept through the cluster so that several front servers
//! that share nothing but the cluster act as one BBS.
//!
//! - A client's BBS write never reaches the cluster as sent: [`FrontBbs`] (the broker's
//!   [`RecordPolicy`] in front mode) appends it to the ledger ([`ledger`]) and answers
//!   when the entry's verdict comes back.
//! - One front server at a time is the sequencer (`sequencer`): the member of the
//!   cluster's consumer group `bbs-front-sequencer` that holds the ledger's one partition.
//!   It decides on the entries in ledger order with the same pure policy as a single
//!   server, writes the stamped records (post ids, times), creates the topics they imply,
//!   writes the views, and appends the verdicts. The cluster's group coordination decides
//!   who it is; nothing here votes.
//! - Every front server follows the BBS topics (`follower`) into the same [`State`] a
//!   single server folds from its log: for logins of disabled users, and so that a front
//!   that becomes the sequencer has the state at hand.
//!
//! What this does not give: a sequencer stopped (not killed) longer than the group's
//! session timeout can write one more entry after another took over (the cluster's
//! transactions would fence it; they are not used). See docs/scale-out.md.

mod follower;
pub mod ledger;
mod repair;
mod sequencer;
mod upstream;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use broker::auth::policy::{
    ClaimFuture, ErrorCode, ForwardFuture, HookFuture, PolicyRecord, RecordPolicy,
    Verdict as BrokerVerdict,
};
use broker::auth::Principal;
use broker::Broker;
use client::{Client, ClientConfig, Producer, TopicPartition};

use bbs::codec::{self, BbsRecord, Entry as BbsEntry};
use bbs::error::{Error, Failure, Result};
use bbs::names;
use bbs::state::State;

use crate::views::{Sink, Views};
use ledger::Entry;

/// How long a client's write waits for its verdict before it is answered with a timeout
/// (the write may still happen: the client sees it when it reads the board).
const VERDICT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the follower has read to, and what it learnt on the way.
#[derive(Default)]
pub(crate) struct Progress {
    /// Next offset to fold, per followed partition (-1 before it is known).
    pub(crate) positions: HashMap<TopicPartition, i64>,
    /// The newest ledger entry whose records were folded (`-1`: none).
    pub(crate) max_seq: i64,
    /// Where each recently folded entry's first record is (for verdicts written again).
    pub(crate) written: HashMap<i64, i64>,
    /// The newest record time folded (times only move forward across sequencers).
    pub(crate) max_time: i64,
    /// The follower has read everything that was there when it started.
    pub(crate) ready: bool,
}

/// Clients waiting for their verdicts, by entry offset.
#[derive(Default)]
struct Waiters {
    waiting: HashMap<i64, oneshot::Sender<ledger::Verdict>>,
    /// Verdicts of this front's entries that came before their writer asked.
    early: HashMap<i64, ledger::Verdict>,
}

/// What the follower, the sequencer and the request handlers share.
pub(crate) struct Shared {
    /// This front server's instance id (its entries carry it).
    pub(crate) id: String,
    /// The service account's client of the cluster.
    pub(crate) client: Client,
    /// Appends entries to the ledger (acks=all).
    ledger: Producer,
    /// The folded BBS. Lock order: `state` before `views` (the follower folds with both
    /// held), so whoever needs both takes `state` first ([`reset_views`]).
    pub(crate) state: Mutex<State>,
    /// The views: written only while this front is the sequencer.
    pub(crate) views: Mutex<Views>,
    /// The follower's progress; `moved` is signalled whenever it changes.
    pub(crate) progress: Mutex<Progress>,
    pub(crate) moved: Condvar,
    waiters: Mutex<Waiters>,
    /// This front server is the sequencer now.
    pub(crate) leading: AtomicBool,
    /// Set when the server stops.
    pub(crate) stop: AtomicBool,
}

impl Shared {
    /// Hands a verdict to the client waiting for it (or keeps it for a moment).
    pub(crate) fn deliver(&self, v: ledger::Verdict) {
        if v.front != self.id {
            return;
        }
        let mut w = self.waiters.lock();
        match w.waiting.remove(&v.entry) {
            Some(tx) => {
                let _ = tx.send(v);
            }
            None => {
                if w.early.len() > 10_000 {
                    w.early.clear();
                }
                w.early.insert(v.entry, v);
            }
        }
    }

    /// Starts the views over from the folded state, writing to `sink` (`None`: not
    /// writing, another front keeps them).
    pub(crate) fn reset_views(&self, sink: Option<Arc<dyn Sink>>) {
        reset_views(&self.state, &self.views, sink);
    }

    /// Waits until the follower has folded `tp` up to `end` (or `timeout` passed).
    pub(crate) fn wait_folded(&self, tp: &TopicPartition, end: i64, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut p = self.progress.lock();
        loop {
            match p.positions.get(tp) {
                None => return true,
                Some(at) if *at >= end => return true,
                Some(_) => {}
            }
            if self.moved.wait_until(&mut p, deadline).timed_out() {
                return false;
            }
        }
    }
}

/// The BBS record policy of a front server (see the module doc).
pub struct FrontBbs {
    shared: Arc<Shared>,
}

impl FrontBbs {
    /// Connects to the cluster as the service account, creates the BBS topics and the
    /// ledger when missing, follows the BBS until it has read what is there, and starts
    /// taking part in the choice of the sequencer. Blocks (call it off the async runtime).
    pub fn start(config: ClientConfig) -> Result<Arc<FrontBbs>> {
        let backend = |e: client::Error| Error::Backend(e.to_string());
        let client = Client::connect(config).map_err(backend)?;
        upstream::create_bbs_topics(&client)?;
        let ledger = client
            .producer(
                client::ProducerConfig::default()
                    .acks(client::Acks::All)
                    .linger(Duration::ZERO),
            )
            .map_err(backend)?;
        let id = ledger::new_front_id();
        let shared = Arc::new(Shared {
            id,
            client,
            ledger,
            state: Mutex::new(State::new()),
            views: Mutex::new(Views::default()),
            progress: Mutex::new(Progress {
                max_seq: -1,
                ..Progress::default()
            }),
            moved: Condvar::new(),
            waiters: Mutex::default(),
            leading: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        follower::spawn(Arc::clone(&shared))?;
        {
            let mut p = shared.progress.lock();
            while !p.ready {
                if shared
                    .moved
                    .wait_for(&mut p, Duration::from_secs(120))
                    .timed_out()
                {
                    return Err(Error::Backend(
                        "the BBS topics could not be read from the cluster in 120 s".into(),
                    ));
                }
            }
        }
        sequencer::spawn(Arc::clone(&shared))?;
        Ok(Arc::new(FrontBbs { shared }))
    }

    /// Whether this front server is the sequencer now.
    pub fn is_sequencer(&self) -> bool {
        self.shared.leading.load(Ordering::SeqCst)
    }

    /// Appends an entry and waits for its verdict.
    async fn submit(
        shared: Arc<Shared>,
        entry: Entry,
    ) -> std::result::Result<i64, (ErrorCode, String)> {
        let record = ledger::record(
            ledger::encode_entry(&entry)
                .map_err(|e| (ErrorCode::CORRUPT_MESSAGE, e.to_string()))?,
        );
        let s = Arc::clone(&shared);
        let appended = tokio::task::spawn_blocking(move || s.ledger.send(record)?.wait())
            .await
            .map_err(|e| (ErrorCode::UNKNOWN_SERVER_ERROR, e.to_string()))?
            .map_err(|e| {
                let code = e.kafka_code().unwrap_or(ErrorCode::REQUEST_TIMED_OUT);
                (code, format!("the BBS ledger refused the write: {e}"))
            })?;
        let at = appended.offset;
        let rx = {
            let mut w = shared.waiters.lock();
            if let Some(v) = w.early.remove(&at) {
                return outcome(v);
            }
            let (tx, rx) = oneshot::channel();
            w.waiting.insert(at, tx);
            rx
        };
        match tokio::time::timeout(VERDICT_TIMEOUT, rx).await {
            Ok(Ok(v)) => outcome(v),
            _ => {
                shared.waiters.lock().waiting.remove(&at);
                Err((
                    ErrorCode::REQUEST_TIMED_OUT,
                    "no BBS server decided on the write in time".into(),
                ))
            }
        }
    }
}

/// Starts `views` over from `state`, taking the locks in their order (`state`, then
/// `views`). Taken the other way round, a sequencer stepping down while the follower
/// folds would deadlock the two: the follower then holds `state` for good and every
/// login (which reads it) waits on it.
fn reset_views(state: &Mutex<State>, views: &Mutex<Views>, sink: Option<Arc<dyn Sink>>) {
    let state = state.lock();
    views.lock().reset(sink, &state);
}

fn outcome(v: ledger::Verdict) -> std::result::Result<i64, (ErrorCode, String)> {
    v.outcome.map_err(|(c, m)| (ledger::error_code(c), m))
}

impl RecordPolicy for FrontBbs {
    fn applies_to(&self, topic: &str) -> bool {
        names::is_bbs_namespace(topic)
    }

    fn admits(&self, principal: &Principal, _topic: &str) -> Option<BrokerVerdict> {
        matches!(principal, Principal::Anonymous).then(|| BrokerVerdict::Reject {
            code: ErrorCode::POLICY_VIOLATION,
            message: Failure::NotLoggedIn.to_string(),
        })
    }

    fn check(&self, _: &Principal, _: &str, _: i32, _: &[PolicyRecord]) -> BrokerVerdict {
        // Never asked in front mode (every write goes through `forward`).
        BrokerVerdict::Reject {
            code: ErrorCode::POLICY_VIOLATION,
            message: "BBS records are decided by the sequencer".into(),
        }
    }

    fn forward(
        &self,
        principal: &Principal,
        peer: std::net::SocketAddr,
        topic: &str,
        partition: i32,
        records: Vec<PolicyRecord>,
    ) -> Option<ForwardFuture> {
        let user = match principal {
            Principal::User(u) => Some(u.clone()),
            Principal::Operator => Some("operator".to_string()),
            Principal::Anonymous => None,
        };
        // What the audit log says once the write is done: the records as the client sent
        // them, without the post id it may have claimed (the sequencer gives ids).
        let said: Vec<BbsEntry> = records
            .iter()
            .filter_map(|r| codec::decode(topic, &crate::to_wire(r)).ok())
            .map(|mut e| {
                if let BbsRecord::Post { id, .. } = &mut e.record {
                    *id = None;
                }
                e
            })
            .collect();
        let entry = Entry {
            front: self.shared.id.clone(),
            principal: principal.clone(),
            topic: topic.to_string(),
            partition,
            records,
        };
        let shared = Arc::clone(&self.shared);
        Some(Box::pin(async move {
            let written = FrontBbs::submit(shared, entry).await?;
            if let Some(user) = user {
                for e in &said {
                    crate::audit::record(&user, peer, e);
                }
            }
            Ok(written)
        }))
    }

    fn login_refusal(&self, user: &str) -> Option<String> {
        self.shared
            .state
            .lock()
            .is_disabled(user)
            .then(|| bbs::policy::disabled_message(user))
    }

    fn claim_account<'a>(&'a self, name: &'a str) -> ClaimFuture<'a> {
        Box::pin(async move {
            self.write_profile(name)
                .await
                .map(|_| ())
                .map_err(|(code, message)| {
                    tracing::info!(user = name, code = code.code(), %message, "name not claimed");
                    if message == Failure::UsernameTaken.to_string() {
                        format!("user {name} already exists")
                    } else {
                        message
                    }
                })
        })
    }

    fn account_created<'a>(&'a self, _broker: &'a Broker, _name: &'a str) -> HookFuture<'a> {
        // The profile was written when the name was claimed.
        Box::pin(async {})
    }
}

impl FrontBbs {
    /// Makes `name` a complete BBS user (a profile, a mailbox, a subscription list) when
    /// it is not one yet: a profile entry written as the server, through the ledger.
    pub async fn ensure_profile(&self, name: &str) {
        if self.shared.state.lock().user(name).is_some() {
            return;
        }
        if let Err((code, message)) = self.write_profile(name).await {
            tracing::error!(user = name, code = code.code(), %message, "could not write the account's profile");
        }
    }

    /// Writes `name`'s profile through the ledger, as the server: refused when the name
    /// has one already (the sequencer decides, so of two fronts writing it at once only
    /// one succeeds).
    async fn write_profile(&self, name: &str) -> std::result::Result<i64, (ErrorCode, String)> {
        let profile = BbsEntry::new(BbsRecord::User {
            name: name.to_string(),
            email: String::new(),
        });
        let (topic, wire) =
            codec::encode(&profile).map_err(|e| (ErrorCode::INVALID_RECORD, e.to_string()))?;
        let entry = Entry {
            front: self.shared.id.clone(),
            principal: Principal::Operator,
            topic,
            partition: 0,
            records: vec![crate::to_policy(wire, bbs::time::now_ms())],
        };
        FrontBbs::submit(Arc::clone(&self.shared), entry).await
    }
}

impl Drop for FrontBbs {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests;
