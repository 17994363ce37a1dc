//! The sequencer: one thread per front server taking part in the cluster's consumer
//! group [`GROUP`] on the ledger's one partition. The member the group gives the
//! partition to decides on the entries in ledger order: the pure [`bbs::policy::check`]
//! against the folded state (what a single server does under its policy lock), then the
//! stamped records (each marked with its entry's ledger offset, [`ledger::H_SEQ`]) go to
//! their topic as one batch after the topics they imply exist, the follower folds them
//! (the next entry is decided on the state that includes them), and a verdict goes to the
//! ledger. It commits the group offset every [`COMMIT_EVERY`].
//!
//! Taking over (the partition assigned): read the BBS to its current end first, so the
//! state includes what a previous sequencer wrote, and bring the views up to date
//! (`super::repair`); an entry whose records are folded
//! already (its offset at most the newest [`ledger::H_SEQ`] seen) is not written again,
//! only its verdict. Post ids continue from the folded state and times never go back.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use client::{ConsumerConfig, OffsetReset, Producer, RebalanceListener, TopicPartition};

use bbs::codec::{self, WireRecord};
use bbs::error::{Error, Result};
use bbs::policy::{self, Principal as BbsPrincipal, Verdict};

use broker::auth::policy::ErrorCode;
use broker::auth::Principal;

use super::ledger::{self, Entry, Item};
use super::repair;
use super::upstream::{self, UpSink};
use super::Shared;

/// The consumer group whose holder of the ledger partition is the sequencer.
pub(crate) const GROUP: &str = "bbs-front-sequencer";

/// How often the sequencer commits how far it has decided.
const COMMIT_EVERY: Duration = Duration::from_millis(200);

/// How long the sequencer waits for the follower to fold what it wrote.
const FOLD_WAIT: Duration = Duration::from_secs(10);

/// Says when the ledger partition comes and goes.
struct Listener {
    gained: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
}

impl RebalanceListener for Listener {
    fn on_revoked(&mut self, partitions: &[TopicPartition]) {
        if !partitions.is_empty() {
            self.lost.store(true, Ordering::SeqCst);
        }
    }
    fn on_assigned(&mut self, partitions: &[TopicPartition]) {
        if !partitions.is_empty() {
            self.gained.store(true, Ordering::SeqCst);
        }
    }
}

/// Starts the sequencer thread.
pub(super) fn spawn(shared: Arc<Shared>) -> Result<()> {
    let backend = |e: client::Error| Error::Backend(e.to_string());
    let mut consumer = shared
        .client
        .consumer(
            ConsumerConfig::group(GROUP)
                .subscribe(&[ledger::TOPIC])
                .offset_reset(OffsetReset::Earliest)
                .auto_commit(false)
                .session(Duration::from_secs(6), Duration::from_millis(500)),
        )
        .map_err(backend)?;
    let gained = Arc::new(AtomicBool::new(false));
    let lost = Arc::new(AtomicBool::new(false));
    consumer.set_rebalance_listener(Box::new(Listener {
        gained: Arc::clone(&gained),
        lost: Arc::clone(&lost),
    }));
    let writer = upstream::batching_producer(&shared.client).map_err(backend)?;
    let verdicts = shared
        .client
        .producer(
            client::ProducerConfig::default()
                .acks(client::Acks::All)
                .linger(Duration::ZERO),
        )
        .map_err(backend)?;
    let views = upstream::batching_producer(&shared.client).map_err(backend)?;
    let sink = Arc::new(UpSink {
        client: shared.client.clone(),
        producer: views,
    });
    std::thread::Builder::new()
        .name("bbs-sequencer".into())
        .spawn(move || {
            let mut seq = Sequencer {
                shared: &shared,
                writer,
                verdicts,
                sink,
                last_time: 0,
                decided: None,
            };
            let mut last_commit = std::time::Instant::now();
            while !shared.stop.load(Ordering::SeqCst) {
                let records = match consumer.poll(Duration::from_millis(200)) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the BBS ledger");
                        std::thread::sleep(Duration::from_millis(200));
                        continue;
                    }
                };
                if lost.swap(false, Ordering::SeqCst) {
                    seq.step_down();
                }
                if gained.swap(false, Ordering::SeqCst) {
                    seq.take_over();
                }
                for r in records {
                    if !shared.leading.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Some(Item::Entry(e)) =
                        ledger::decode(r.key.as_deref(), r.value.as_deref(), &r.headers)
                    {
                        seq.decide(r.offset, e);
                    }
                    seq.decided = Some(r.offset + 1);
                }
                // The group offset only saves a successor re-reading entries (it answers
                // written ones again without writing them), so it is committed now and
                // then, not after every entry.
                if let Some(next) = seq
                    .decided
                    .filter(|_| last_commit.elapsed() >= COMMIT_EVERY)
                {
                    let done = BTreeMap::from([(TopicPartition::new(ledger::TOPIC, 0), next)]);
                    if let Err(e) = consumer.commit_offsets(done) {
                        tracing::warn!(error = %e, "committing the ledger offset");
                    }
                    seq.decided = None;
                    last_commit = std::time::Instant::now();
                }
            }
            let _ = consumer.close();
        })
        .map_err(|e| Error::Backend(format!("starting the BBS sequencer: {e}")))?;
    Ok(())
}

struct Sequencer<'a> {
    shared: &'a Shared,
    /// Writes the stamped records (one batch per entry, waited for).
    writer: Producer,
    /// Appends verdicts (not waited for: a successor answers again what it finds written).
    verdicts: Producer,
    /// The ledger offset after the last entry decided and not yet committed.
    decided: Option<i64>,
    sink: Arc<UpSink>,
    /// The newest time stamped (times never go back, whatever the clocks say).
    last_time: i64,
}

impl Sequencer<'_> {
    fn take_over(&mut self) {
        tracing::info!("front server: this server now puts the BBS's writes in order");
        self.catch_up();
        self.last_time = self.last_time.max(self.shared.progress.lock().max_time);
        let sink: Arc<dyn crate::views::Sink> = self.sink.clone();
        self.shared.reset_views(Some(sink));
        match repair::repair(self.shared, &self.sink) {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "brought the views up to date"),
            Err(e) => tracing::error!(error = %e, "could not bring the views up to date"),
        }
        self.shared.leading.store(true, Ordering::SeqCst);
    }

    fn step_down(&mut self) {
        if self.shared.leading.swap(false, Ordering::SeqCst) {
            tracing::info!("front server: another server puts the BBS's writes in order now");
        }
        self.shared.reset_views(None);
    }

    /// Waits until the follower has read every followed partition to its current end.
    fn catch_up(&self) {
        for _ in 0..100 {
            let tps: Vec<TopicPartition> = self
                .shared
                .progress
                .lock()
                .positions
                .keys()
                .filter(|tp| tp.topic != ledger::TOPIC)
                .cloned()
                .collect();
            let Ok(ends) = self.shared.client.admin().end_offsets(&tps) else {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            let all = ends
                .iter()
                .all(|(tp, end)| self.shared.wait_folded(tp, *end, FOLD_WAIT));
            let grown = self.shared.progress.lock().positions.len() != tps.len() + 1;
            if all && !grown {
                return;
            }
        }
        tracing::warn!("taking over before the BBS was read to its end");
    }

    /// Decides on the entry at ledger offset `at` and appends the verdict.
    fn decide(&mut self, at: i64, e: Entry) {
        let outcome = self.outcome(at, &e);
        let verdict = ledger::Verdict {
            entry: at,
            front: e.front,
            outcome,
        };
        let sent = self
            .verdicts
            .send(ledger::record(ledger::encode_verdict(&verdict)));
        if let Err(err) = sent {
            tracing::error!(entry = at, error = %err, "could not append a verdict");
        }
    }

    fn outcome(&mut self, at: i64, e: &Entry) -> std::result::Result<i64, (i16, String)> {
        {
            let p = self.shared.progress.lock();
            if at <= p.max_seq {
                return Ok(p.written.get(&at).copied().unwrap_or(-1));
            }
        }
        if e.partition != 0 {
            return Err((
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code(),
                format!("{} has one partition", e.topic),
            ));
        }
        let who = match &e.principal {
            Principal::Anonymous => BbsPrincipal::Anonymous,
            Principal::User(u) => BbsPrincipal::User(u),
            Principal::Operator => BbsPrincipal::Server,
        };
        let now = bbs::time::now_ms().max(self.last_time);
        self.last_time = now;
        let wires: Vec<WireRecord> = e.records.iter().map(crate::to_wire).collect();
        let verdict = policy::check(who, &e.topic, &wires, &self.shared.state.lock(), now);
        let stamped = match verdict {
            Verdict::Reject(f) => return Err((ErrorCode::POLICY_VIOLATION.code(), f.to_string())),
            Verdict::Accept => wires,
            Verdict::Replace(stamped) => stamped,
        };
        let implied: Vec<String> = stamped
            .iter()
            .filter_map(|w| codec::decode(&e.topic, w).ok())
            .flat_map(|entry| crate::implied_by(&entry))
            .collect();
        let fail = |err: String| (ErrorCode::KAFKA_STORAGE_ERROR.code(), err);
        upstream::ensure_topics(&self.shared.client, &implied).map_err(|x| fail(x.to_string()))?;
        let n = stamped.len() as i64;
        let mark = Bytes::from(at.to_string());
        let records = stamped
            .into_iter()
            .map(|mut w| {
                w.headers
                    .push((ledger::H_SEQ.to_string(), Some(mark.clone())));
                (w, now)
            })
            .collect();
        let base =
            upstream::write(&self.writer, &e.topic, records).map_err(|x| fail(x.to_string()))?;
        let tp = TopicPartition::new(&e.topic, 0);
        if !self.shared.wait_folded(&tp, base + n, FOLD_WAIT) {
            tracing::warn!(topic = %e.topic, offset = base, "the follower has not read a write back yet");
        }
        Ok(base)
    }
}
