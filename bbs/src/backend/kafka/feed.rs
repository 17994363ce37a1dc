//! A link's feed: one consumer thread (one poll loop) in its own consumer group that reads
//! every public BBS topic (`board.*`, `bbs.boards`, `bbs.users`, the statistics view
//! `bbs.stats`) and, when logged in, the user's own `mail.<user>` and `subs.<user>`,
//! decodes each record and folds it into the link's [`State`]. A long board is read from
//! its newest page on, and from further back when the link asks ([`super::window`]). It tracks how far it has consumed per partition so the link can wait
//! for it ("the state reflects my append", "caught up at login"), and it calls the link's
//! sinks outside the lock, for records that are new (at or above the end offsets seen when
//! the feed started: the history replayed at start is the snapshot the link's caller reads
//! once it has caught up, and never notifies; nor does a record read again after a board's
//! start moved back): the record sink for every such record, the
//! event sink for posts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::{Client, ConsumerConfig, OffsetReset, TopicPartition};
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::window::{self, to_wire, Reload};
use super::Sinks;
use crate::backend::EventSink;
use crate::codec::{self, BbsRecord};
use crate::error::{Error, Result};
use crate::model::PostEvent;
use crate::names::{self, STATS_TOPIC};
use crate::state::{Position, State};

/// What the feed thread and the link share.
#[derive(Default)]
pub struct FeedState {
    /// The folded view.
    pub view: State,
    /// Next offset to consume per (topic, partition): how far the view goes.
    pub positions: HashMap<(String, i32), i64>,
    /// The last poll error, for diagnostics when a wait times out.
    pub error: Option<String>,
    /// The most recent records as decoded, by (topic, partition, offset): how `append`
    /// learns the server-stamped form of what it wrote.
    pub recent: std::collections::VecDeque<((String, i32, i64), crate::codec::Entry)>,
    /// Board starts to move, for the feed thread.
    pub reloads: Vec<Reload>,
    /// Moves asked for so far, and moves the feed thread has applied.
    pub reloads_asked: u64,
    /// See `reloads_asked`.
    pub reloads_done: u64,
    /// Per partition, the offset below which records were already handed to the sinks.
    pub delivered: HashMap<(String, i32), i64>,
}

/// How many decoded records [`FeedState::recent`] keeps.
const RECENT: usize = 1024;

/// Shared between the feed thread and the link.
#[derive(Default)]
pub struct Shared {
    /// The view and positions.
    pub state: Mutex<FeedState>,
    /// Signalled after every poll that changed positions.
    pub cond: Condvar,
    /// Ends the feed's current poll (a reload to apply, a stop).
    waker: std::sync::OnceLock<client::ConsumerWaker>,
}

impl Shared {
    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock()
    }

    /// Makes the feed thread look at the shared state now (a reload waits for it).
    pub fn wake(&self) {
        if let Some(w) = self.waker.get() {
            w.wake();
        }
    }

    /// Waits until every partition in `targets` has been consumed up to its offset, or
    /// `timeout` passes. Returns whether it caught up.
    pub fn wait_for(&self, targets: &HashMap<(String, i32), i64>, timeout: Duration) -> bool {
        self.wait_until(timeout, |st| {
            targets
                .iter()
                .all(|(tp, end)| st.positions.get(tp).copied().unwrap_or(0) >= *end)
        })
    }

    /// Waits until `done` holds of the state, or `timeout` passes. Returns whether it held.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&FeedState) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if done(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(error = ?st.error, "the feed did not catch up in time");
                return false;
            }
            self.cond.wait_for(&mut st, deadline - now);
        }
    }
}

/// A running feed; dropping it stops the thread and leaves the group.
pub struct Feed {
    /// View and positions.
    pub shared: Arc<Shared>,
    /// Tells the thread to stop.
    stop: Arc<AtomicBool>,
    /// The poll loop.
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    /// Starts a feed as `client`'s principal in group `group` over the topics [`matches`]
    /// takes for `private`, and waits until it has consumed everything that existed at start.
    pub fn start(client: &Client, group: &str, private: &[String], sinks: Sinks) -> Result<Feed> {
        let topics = client.admin().list_topics().map_err(backend)?;
        let plan = window::plan(client, &topics);
        let baseline = end_offsets_among(client, &topics, private)?;
        let mut consumer = client
            .consumer(
                ConsumerConfig::group(group)
                    // A predicate, not a regular expression: compiling one would cost a
                    // line-mode client about 0.2 MB of code and 0.3 MB of heap, resident
                    // for the whole session (docs/performance.md).
                    .subscribe_matching({
                        let private = private.to_vec();
                        move |topic| matches(topic, &private)
                    })
                    .offset_reset(OffsetReset::Earliest)
                    .auto_commit(false),
            )
            .map_err(backend)?;
        let shared = Arc::new(Shared::default());
        let _ = shared.waker.set(consumer.waker().map_err(backend)?);
        consumer.set_start_offset(&TopicPartition::new(STATS_TOPIC, 0), plan.stats_since);
        {
            let mut st = shared.lock();
            for (board, w) in &plan.windows {
                let topic = crate::names::board_topic(board)?;
                consumer.set_start_offset(&TopicPartition::new(&topic, 0), w.offset);
                st.view.set_window(board, Some(*w));
            }
            for (board, s) in plan.stats {
                st.view.set_stats(&board, Some(s));
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (shared, stop, baseline) = (shared.clone(), stop.clone(), baseline.clone());
            let cluster = Arc::clone(client.cluster());
            std::thread::Builder::new()
                .name(format!("feed {group}"))
                .spawn(move || run(consumer, &cluster, shared, stop, sinks, baseline))?
        };
        let feed = Feed {
            shared,
            stop,
            thread: Some(thread),
        };
        feed.shared.wait_for(&baseline, Duration::from_secs(15));
        Ok(feed)
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Maps a client error to the bbs error.
pub fn backend(e: client::Error) -> Error {
    Error::Backend(e.to_string())
}

/// Whether the feed of a user with `private` topics reads `topic`: every board's topic, the
/// board and user directories, and the user's own topics.
pub fn matches(topic: &str, private: &[String]) -> bool {
    topic
        .strip_prefix(names::BOARD_PREFIX)
        .is_some_and(|rest| !rest.is_empty())
        || topic == names::BOARDS_TOPIC
        || topic == names::USERS_TOPIC
        || topic == STATS_TOPIC
        || private.iter().any(|p| p == topic)
}

/// End offsets of every partition of every existing topic the pattern matches.
pub fn end_offsets(client: &Client, private: &[String]) -> Result<HashMap<(String, i32), i64>> {
    let topics = client.admin().list_topics().map_err(backend)?;
    end_offsets_among(client, &topics, private)
}

/// [`end_offsets`] of the pattern's topics among `topics` (the server's, just listed, or
/// those the link's metadata knows).
pub(super) fn end_offsets_among(
    client: &Client,
    topics: &[String],
    private: &[String],
) -> Result<HashMap<(String, i32), i64>> {
    let admin = client.admin();
    let topics: Vec<&String> = topics.iter().filter(|t| matches(t, private)).collect();
    let view = client.metadata();
    let mut parts = Vec::new();
    for t in topics {
        if let Some(info) = view.topics.get(t) {
            parts.extend(info.partitions.iter().map(|p| TopicPartition::new(t, p.id)));
        }
    }
    if parts.is_empty() {
        return Ok(HashMap::new());
    }
    let ends = admin.end_offsets(&parts).map_err(backend)?;
    Ok(ends
        .into_iter()
        .filter(|(_, end)| *end > 0)
        .map(|(tp, end)| ((tp.topic, tp.partition), end))
        .collect())
}

/// How long a feed keeps looking up the topic of a board it saw created.
const AWAIT_NEW_BOARD: Duration = Duration::from_secs(10);

/// Asks for fresh metadata (within the client's refresh backoff) while a board created
/// since the feed started has no topic in it yet, so the pattern subscription takes the
/// board in at once instead of when the metadata ages. The server creates a board's topic
/// while it accepts the board's record, so the record can be read a moment before the
/// topic is listed: hence looking again until it is, for a bounded time.
fn look_up_new_boards(cluster: &client::cluster::Cluster, awaited: &mut Vec<(String, Instant)>) {
    if awaited.is_empty() {
        return;
    }
    let view = cluster.view();
    let now = Instant::now();
    awaited.retain(|(topic, until)| {
        let listed = view
            .topics
            .get(topic)
            .is_some_and(|t| !t.partitions.is_empty());
        now < *until && !listed
    });
    if !awaited.is_empty() {
        cluster.invalidate();
    }
}

/// Longest poll of an idle feed (a waker ends it early).
const IDLE_POLL: Duration = Duration::from_secs(5);

/// The poll loop.
fn run(
    mut consumer: client::Consumer,
    cluster: &client::cluster::Cluster,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    sinks: Sinks,
    baseline: HashMap<(String, i32), i64>,
) {
    // Topics of boards created since the feed started that its metadata does not show yet.
    let mut awaited: Vec<(String, Instant)> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        look_up_new_boards(cluster, &mut awaited);
        apply_reloads(&mut consumer, &shared);
        // The poll sleeps until records come or the link wakes it (a reload, a stop):
        // an idle feed costs nothing. Only a new board's topic is looked for often.
        let wait = if awaited.is_empty() {
            IDLE_POLL
        } else {
            Duration::from_millis(50)
        };
        let records = match consumer.poll(wait) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(error = %e, "feed poll failed");
                shared.lock().error = Some(e.to_string());
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let mut folded = Vec::new();
        let mut events = Vec::new();
        {
            let mut st = shared.lock();
            for r in &records {
                // A rebalance (a new topic joins the pattern) resets positions to the
                // earliest offset, as nothing is committed: skip what is already folded.
                let key = (r.topic.clone(), r.partition);
                if st.positions.get(&key).is_some_and(|next| r.offset < *next) {
                    continue;
                }
                st.positions.insert(key.clone(), r.offset + 1);
                if r.topic == STATS_TOPIC {
                    if let Some((board, stats)) = window::stats_record(r) {
                        st.view.set_stats(&board, stats);
                    }
                    continue;
                }
                // New: not part of the history replayed at start, nor read again after a
                // board's start moved back.
                let seen = baseline.get(&key).copied().unwrap_or(0);
                let delivered = st.delivered.get(&key).copied().unwrap_or(0);
                let historic = r.offset < seen.max(delivered);
                if !historic {
                    st.delivered.insert(key, r.offset + 1);
                }
                let Ok(entry) = codec::decode(&r.topic, &to_wire(r)) else {
                    continue;
                };
                st.view.apply(
                    Position {
                        offset: r.offset,
                        timestamp: r.timestamp,
                    },
                    &entry,
                );
                if let (BbsRecord::Board { name, .. }, false) = (&entry.record, historic) {
                    if let Ok(topic) = crate::names::board_topic(name) {
                        awaited.push((topic, Instant::now() + AWAIT_NEW_BOARD));
                    }
                }
                if let BbsRecord::Post {
                    board,
                    id: Some(id),
                    author,
                    title,
                    ..
                } = &entry.record
                {
                    if !historic {
                        events.push(PostEvent {
                            board: board.clone(),
                            id: *id,
                            title: title.clone(),
                            author: author.clone(),
                        });
                    }
                }
                if st.recent.len() >= RECENT {
                    st.recent.pop_front();
                }
                st.recent
                    .push_back(((r.topic.clone(), r.partition, r.offset), entry.clone()));
                if !historic {
                    folded.push(entry);
                }
            }
            for tp in consumer.assignment() {
                if let Some(pos) = consumer.position(&tp) {
                    let slot = st
                        .positions
                        .entry((tp.topic.clone(), tp.partition))
                        .or_insert(0);
                    *slot = (*slot).max(pos);
                    // A rebalance (a new board joins the pattern) resumes here rather
                    // than reading the partition again from its start.
                    consumer.set_start_offset(&tp, *slot);
                }
            }
            st.error = None;
        }
        shared.cond.notify_all();
        let (event_sink, record_sink) = sinks.get();
        if let Some(sink) = record_sink {
            for e in &folded {
                sink(e);
            }
        }
        if let Some(sink) = event_sink {
            deliver(&sink, &events);
        }
    }
    let _ = consumer.close();
}

/// Applies the board moves the link asked for (see [`window`]): the board's posts are
/// forgotten and its partition is read again from the new start.
fn apply_reloads(consumer: &mut client::Consumer, shared: &Shared) {
    let mut st = shared.lock();
    if st.reloads_done == st.reloads_asked {
        return;
    }
    for Reload { board, window } in std::mem::take(&mut st.reloads) {
        let Ok(topic) = crate::names::board_topic(&board) else {
            continue;
        };
        let tp = TopicPartition::new(&topic, 0);
        let start = window.map_or(0, |w| w.offset);
        consumer.set_start_offset(&tp, start);
        if consumer.assignment().contains(&tp) {
            if let Err(e) = consumer.seek(&tp, start) {
                tracing::warn!(error = %e, %board, "board not read again");
            }
        }
        st.view.forget_posts(&board);
        st.view.set_window(&board, window);
        st.positions.insert((topic, 0), start);
    }
    st.reloads_done = st.reloads_asked;
    drop(st);
    shared.cond.notify_all();
}

fn deliver(sink: &EventSink, events: &[PostEvent]) {
    for ev in events {
        sink(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::{matches, STATS_TOPIC};
    use crate::names;

    /// Every board name, in any script, maps to a topic the feed reads; other users'
    /// private topics and look-alikes are not read.
    #[test]
    fn a_feed_reads_every_board_and_its_own_topics_only() {
        let private = vec![names::mail_topic("ana").expect("topic")];
        for board in ["lobby", "a.b-c_d", "Café", "板", "доска", "x y"] {
            let topic = names::board_topic(board).expect("topic");
            assert!(matches(&topic, &private), "{board} -> {topic}");
        }
        for t in [
            names::BOARDS_TOPIC,
            names::USERS_TOPIC,
            STATS_TOPIC,
            &private[0],
        ] {
            assert!(matches(t, &private), "{t}");
        }
        let bob = names::mail_topic("bob").expect("topic");
        for other in ["board.", "bbs.boardsx", "xboard.lobby", "bbs.statsx", &bob] {
            assert!(!matches(other, &private), "{other:?}");
        }
    }
}
