//! Every front server's reader of the BBS in the cluster: one thread with a manually
//! assigned consumer that folds `bbs.boards`, `bbs.users` and every board, mailbox and
//! subscription list (learnt from the records that imply them, as they are folded) into
//! the shared [`State`], in each partition's order, exactly as a single server folds its
//! log at start; and reads the ledger from where it ended at start, for the verdicts this
//! front's clients wait for. While the front is the sequencer, the views each folded
//! record changes are written to the cluster.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use client::{ConsumerConfig, ConsumerRecord, OffsetReset, TopicPartition};

use bbs::codec::{self, WireRecord};
use bbs::error::{Error, Result};
use bbs::names::{self, TopicKind};
use bbs::state::Position;

use super::ledger::{self, Item};
use super::Shared;
use crate::views::{Out, Views};

/// Starts the follower thread.
pub(super) fn spawn(shared: Arc<Shared>) -> Result<()> {
    let backend = |e: client::Error| Error::Backend(e.to_string());
    let ledger_tp = TopicPartition::new(ledger::TOPIC, 0);
    let ledger_end = shared
        .client
        .admin()
        .end_offsets(std::slice::from_ref(&ledger_tp))
        .map_err(backend)?
        .get(&ledger_tp)
        .copied()
        .unwrap_or(0);
    let start = [
        TopicPartition::new(names::BOARDS_TOPIC, 0),
        TopicPartition::new(names::USERS_TOPIC, 0),
        ledger_tp.clone(),
    ];
    let mut consumer = shared
        .client
        .consumer(
            ConsumerConfig::manual()
                .assign(&start)
                .offset_reset(OffsetReset::Earliest),
        )
        .map_err(backend)?;
    consumer.set_start_offset(&ledger_tp, ledger_end);
    std::thread::Builder::new()
        .name("bbs-follower".into())
        .spawn(move || run(&shared, &mut consumer))
        .map_err(|e| Error::Backend(format!("starting the BBS follower: {e}")))?;
    Ok(())
}

/// The topic a folded record says must be followed too (a board's, a user's mailbox and
/// subscription list), if it is one.
fn followed(topic: &str) -> bool {
    matches!(
        names::classify(topic),
        TopicKind::Board(_) | TopicKind::Mail(_) | TopicKind::Subs(_)
    )
}

fn run(shared: &Shared, consumer: &mut client::Consumer) {
    while !shared.stop.load(Ordering::SeqCst) {
        let records = match consumer.poll(Duration::from_millis(200)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "reading the BBS from the cluster");
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        let idle = records.is_empty();
        let (grow, out) = fold(shared, records);
        if let Err(e) = consumer.assign_more(&grow) {
            tracing::error!(error = %e, "following new BBS topics");
        }
        let mut p = shared.progress.lock();
        for tp in consumer.assignment() {
            let at = consumer.position(&tp).unwrap_or(-1);
            p.positions.insert(tp, at);
        }
        if !p.ready && idle && grow.is_empty() {
            drop(p);
            if caught_up(shared, consumer) {
                shared.reset_views(None);
                shared.progress.lock().ready = true;
                tracing::info!(
                    last_post_id = shared.state.lock().max_post_id(),
                    "front server: the BBS is read from the cluster"
                );
            }
        } else {
            drop(p);
        }
        shared.moved.notify_all();
        // The sequencer goes on with the next entry while the views are written (in fold
        // order, by this thread; a successor repairs what a crash leaves unwritten).
        if !out.is_empty() {
            shared.views.lock().write(out);
        }
    }
}

/// Whether every followed partition is read to the end it has now.
fn caught_up(shared: &Shared, consumer: &client::Consumer) -> bool {
    let tps: Vec<TopicPartition> = consumer
        .assignment()
        .into_iter()
        .filter(|tp| tp.topic != ledger::TOPIC)
        .collect();
    match shared.client.admin().end_offsets(&tps) {
        Ok(ends) => tps.iter().all(|tp| {
            let end = ends.get(tp).copied().unwrap_or(0);
            end <= 0 || consumer.position(tp).is_some_and(|at| at >= end)
        }),
        Err(e) => {
            tracing::debug!(error = %e, "asking the BBS topics' ends");
            false
        }
    }
}

/// Folds `records`: the partitions to follow from now on and the view records to write.
fn fold(shared: &Shared, records: Vec<ConsumerRecord>) -> (Vec<TopicPartition>, Out) {
    let mut grow = Vec::new();
    let mut out = Out::new();
    if records.is_empty() {
        return (grow, out);
    }
    let ready = shared.progress.lock().ready;
    let mut state = shared.state.lock();
    let mut views = shared.views.lock();
    let mut seqs = Vec::new();
    let mut max_time = 0;
    for r in records {
        if r.topic == ledger::TOPIC {
            if let Some(Item::Verdict(v)) =
                ledger::decode(r.key.as_deref(), r.value.as_deref(), &r.headers)
            {
                shared.deliver(v);
            }
            continue;
        }
        if let Some(seq) = r
            .headers
            .iter()
            .find(|(k, _)| k == ledger::H_SEQ)
            .and_then(|(_, v)| std::str::from_utf8(v.as_deref()?).ok()?.parse::<i64>().ok())
        {
            seqs.push((seq, r.offset));
        }
        max_time = max_time.max(r.timestamp);
        let wire = WireRecord {
            key: r.key,
            value: r.value,
            headers: r.headers,
        };
        let Ok(entry) = codec::decode(&r.topic, &wire) else {
            continue;
        };
        grow.extend(
            crate::implied_by(&entry)
                .into_iter()
                .filter(|t| followed(t))
                .map(|t| TopicPartition::new(&t, 0)),
        );
        let touch = Views::touch(&state, &entry);
        state.apply(
            Position {
                offset: r.offset,
                timestamp: r.timestamp,
            },
            &entry,
        );
        if ready {
            views.changed(&state, touch, &mut out);
        }
    }
    drop(views);
    drop(state);
    let mut p = shared.progress.lock();
    p.max_time = p.max_time.max(max_time);
    for (seq, offset) in seqs {
        if seq > p.max_seq {
            p.max_seq = seq;
        }
        p.written.entry(seq).or_insert(offset);
    }
    if p.written.len() > 10_000 {
        let floor = p.max_seq - 5_000;
        p.written.retain(|s, _| *s >= floor);
    }
    if !shared.leading.load(Ordering::SeqCst) {
        out.clear();
    }
    (grow, out)
}
