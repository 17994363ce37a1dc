//! Keeping the views (`docs/data-model.md`, "Views") as the boards change: for every
//! accepted BBS record, [`Views`] works out which view records it changes (a post's index
//! row, its board's statistics, a new page, a new post's place on `bbs.ids`) and appends
//! them to `bbs.stats`, `index.<board>`, `pages.<board>` and `bbs.ids`. It runs inside [`crate::BbsPolicy`]'s fold, under
//! the broker's policy lock, so views follow the boards in log order. Views are derived
//! data: a write that fails is logged and repaired by the rebuild at the next start
//! ([`crate::rebuild`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use broker::auth::policy as broker_policy;
use broker::log::LogManager;

use bbs::codec::view::{BoardStats, PAGE_SIZE};
use bbs::codec::{BbsRecord, Entry, WireRecord, OPERATOR};
use bbs::model::PostId;
use bbs::names;
use bbs::state::views::{board_stats, id_row, index_row, last_listed, listed, page_row};
use bbs::state::State;
use bbs::time::now_ms;

/// `bbs.stats` records between two full snapshots of the statistics: a reader reads at
/// most about this many plus two per board, whatever the history (`docs/data-model.md`,
/// "Views").
pub(crate) const SNAPSHOT_EVERY: u64 = 1000;

/// Records per appended batch (index rows are at most a few KB: well under a board's
/// 1 MiB `max.message.bytes`).
const BATCH: usize = 200;

/// View records to append, by topic, in order.
pub(crate) type Out = BTreeMap<String, Vec<WireRecord>>;

/// What a record may change in the views, noted before it is folded.
pub(crate) enum Touch {
    /// Nothing the views show (mail, subscriptions, profiles).
    Nothing,
    /// A post (new or referred to) and whether it was listed before the record.
    Post {
        /// Its board.
        board: String,
        /// The post.
        id: PostId,
        /// Listed before the record was folded.
        listed: bool,
    },
    /// A board was created.
    Board(String),
    /// The operator deleted a board.
    BoardGone(String),
    /// The operator disabled or enabled a user.
    User(String),
}

/// Where view records go: the server's own log, or (a front server) the cluster.
pub(crate) trait Sink: Send + Sync {
    /// Appends `records` to partition 0 of `topic`, in order.
    fn append(&self, topic: &str, records: &[WireRecord]) -> Result<(), String>;
    /// The offset after the last record of partition 0 of `topic`.
    fn end(&self, topic: &str) -> Option<i64>;
}

/// The single server's sink: its own log.
pub(crate) struct LocalSink(pub(crate) Arc<LogManager>);

impl Sink for LocalSink {
    fn append(&self, topic: &str, records: &[WireRecord]) -> Result<(), String> {
        append(&self.0, topic, records)
    }

    fn end(&self, topic: &str) -> Option<i64> {
        self.0
            .topic(topic)
            .and_then(|t| t.partitions.first().map(|p| p.log_end()))
    }
}

/// The server's copy of the statistics it last wrote, and where to write.
#[derive(Default)]
pub(crate) struct Views {
    /// Where to write, once [`crate::BbsPolicy::load`] has run (no writes before; a front
    /// server writes only while it keeps the views, see `crate::front`).
    sink: Option<Arc<dyn Sink>>,
    /// Listed board → its statistics as last written.
    stats: HashMap<String, BoardStats>,
    /// Where the newest full snapshot of `bbs.stats` begins (`None` until one is known).
    since: Option<i64>,
    /// `bbs.stats` records written since that snapshot.
    since_written: u64,
}

impl Views {
    /// Starts over from a freshly loaded state, writing to `logs`.
    pub(crate) fn reset(&mut self, sink: Option<Arc<dyn Sink>>, state: &State) {
        self.sink = sink;
        self.stats = state
            .boards()
            .iter()
            .map(|b| (b.name.clone(), board_stats(state, &b.name)))
            .collect();
    }

    /// The statistics of every listed board, as last written.
    pub(crate) fn stats(&self) -> &HashMap<String, BoardStats> {
        &self.stats
    }

    /// What `entry` may change, from the state before it is folded.
    pub(crate) fn touch(state: &State, entry: &Entry) -> Touch {
        let post = |board: &String, id: PostId| Touch::Post {
            board: board.clone(),
            id,
            listed: listed(state, id),
        };
        match &entry.record {
            BbsRecord::Post {
                board,
                id: Some(id),
                ..
            } => post(board, *id),
            BbsRecord::Comment {
                board, post: id, ..
            }
            | BbsRecord::Push {
                board, post: id, ..
            }
            | BbsRecord::Edit {
                board, post: id, ..
            }
            | BbsRecord::Delete {
                board, post: id, ..
            }
            | BbsRecord::Remove {
                board, post: id, ..
            } => post(board, *id),
            BbsRecord::Board { name, .. } => Touch::Board(name.clone()),
            BbsRecord::BoardDelete { name, author } if author == OPERATOR => {
                Touch::BoardGone(name.clone())
            }
            BbsRecord::UserStatus { name, author, .. } if author == OPERATOR => {
                Touch::User(name.clone())
            }
            _ => Touch::Nothing,
        }
    }

    /// Adds to `out` the view records `touch` changed, from the state after the record.
    pub(crate) fn changed(&mut self, state: &State, touch: Touch, out: &mut Out) {
        match touch {
            Touch::Nothing => {}
            Touch::Post {
                board,
                id,
                listed: before,
            } => self.post(state, &board, id, before, out),
            Touch::Board(name) => {
                if state.board(&name).is_some() && !self.stats.contains_key(&name) {
                    let s = board_stats(state, &name);
                    self.stats.insert(name.clone(), s);
                    push(out, names::STATS_TOPIC.into(), s.to_wire(&name));
                }
            }
            Touch::BoardGone(name) => {
                if self.stats.remove(&name).is_some() {
                    push(out, names::STATS_TOPIC.into(), BoardStats::tombstone(&name));
                }
            }
            Touch::User(name) => self.user(state, &name, out),
        }
    }

    fn post(&mut self, state: &State, board: &str, id: PostId, before: bool, out: &mut Out) {
        let Some(st) = self.stats.get_mut(board) else {
            return;
        };
        let Some(p) = state.any_post(id).filter(|p| p.board == board) else {
            return;
        };
        let (Ok(index), Ok(pages)) = (names::index_topic(board), names::pages_topic(board)) else {
            return;
        };
        let old = *st;
        let ids = state.board_post_ids(board);
        let total = ids.len() as u64;
        if total > st.posts {
            st.posts = total;
            let ordinal = ids.binary_search(&id).map_or(0, |o| o as u64);
            if ordinal.is_multiple_of(PAGE_SIZE) {
                if let Some(page) = page_row(state, board, ordinal / PAGE_SIZE) {
                    push(out, pages, page.to_wire());
                }
            }
            // A new post: its place, once. Records are folded in log order and the policy
            // stamps ids in that order, so `bbs.ids` grows in id order.
            if let Some(row) = id_row(state, id) {
                push(out, names::IDS_TOPIC.into(), row.to_wire());
            }
        }
        let after = listed(state, id);
        match (before, after) {
            (false, true) => st.live += 1,
            (true, false) => st.live = st.live.saturating_sub(1),
            _ => {}
        }
        if after && id >= st.last {
            (st.last, st.time) = (id, p.time);
        } else if !after && id == st.last {
            (st.last, st.time) = last_listed(state, board);
        }
        if *st != old {
            push(out, names::STATS_TOPIC.into(), st.to_wire(board));
        }
        if let Some(row) = index_row(state, id) {
            push(out, index, row.to_wire());
        }
    }

    /// A user was disabled or enabled: the rows of every post they wrote, commented or
    /// pushed on, and the statistics of every board, are counted again (rare: the
    /// operator's action).
    fn user(&mut self, state: &State, name: &str, out: &mut Out) {
        for p in state.all_posts() {
            let involved = p.author == name
                || p.comments.iter().any(|c| c.author == name)
                || p.pushes.iter().any(|x| x.author == name);
            if !involved || !self.stats.contains_key(&p.board) {
                continue;
            }
            if let (Some(row), Ok(topic)) = (index_row(state, p.id), names::index_topic(&p.board)) {
                push(out, topic, row.to_wire());
            }
        }
        for (board, st) in &mut self.stats {
            let now = board_stats(state, board);
            if now != *st {
                *st = now;
                push(out, names::STATS_TOPIC.into(), now.to_wire(board));
            }
        }
    }

    /// Appends `out` to the view topics, each statistics record stamped with the newest
    /// snapshot's offset, and a new snapshot when enough records were written since (or a
    /// board left: a tombstone carries no stamp, so the last record always does). Failures
    /// are logged: the next start rebuilds.
    pub(crate) fn write(&mut self, mut out: Out) {
        let Some(sink) = self.sink.clone() else {
            return;
        };
        let mut tombstone = false;
        if let Some(stats) = out.get_mut(names::STATS_TOPIC) {
            for w in stats.iter_mut() {
                tombstone |= w.headers.is_empty();
                BoardStats::stamp(w, self.since.unwrap_or(0));
            }
            self.since_written += stats.len() as u64;
        }
        for (topic, records) in out {
            if let Err(e) = sink.append(&topic, &records) {
                tracing::warn!(topic = %topic, error = %e, "could not update a view; it is rebuilt at the next start");
            }
        }
        if tombstone || self.since.is_none() || self.since_written >= SNAPSHOT_EVERY {
            self.snapshot();
        }
    }

    /// Takes the snapshot whose offset `bbs.stats`'s last record carries (`None`: write
    /// one), after a start.
    pub(crate) fn adopt(&mut self, since: Option<i64>, end: i64) -> usize {
        match since {
            Some(s) => {
                self.since = Some(s);
                self.since_written = u64::try_from(end - s).unwrap_or(0);
                0
            }
            None => self.snapshot(),
        }
    }

    /// Appends every listed board's statistics, stamped with the offset where they begin.
    /// Returns the records written.
    fn snapshot(&mut self) -> usize {
        let Some(sink) = self.sink.clone() else {
            return 0;
        };
        let Some(end) = sink.end(names::STATS_TOPIC) else {
            return 0;
        };
        let mut boards: Vec<(&String, &BoardStats)> = self.stats.iter().collect();
        boards.sort_by(|a, b| a.0.cmp(b.0));
        let records: Vec<WireRecord> = boards
            .into_iter()
            .map(|(name, st)| {
                let mut w = st.to_wire(name);
                BoardStats::stamp(&mut w, end);
                w
            })
            .collect();
        if let Err(e) = sink.append(names::STATS_TOPIC, &records) {
            tracing::warn!(error = %e, "could not write a snapshot of the statistics");
            return 0;
        }
        self.since = Some(end);
        self.since_written = 0;
        records.len()
    }
}

fn push(out: &mut Out, topic: String, w: WireRecord) {
    out.entry(topic).or_default().push(w);
}

/// Appends `records` to partition 0 of `topic`, in batches, as the server.
pub(crate) fn append(logs: &LogManager, topic: &str, records: &[WireRecord]) -> Result<(), String> {
    let t = logs
        .topic(topic)
        .ok_or_else(|| format!("{topic} does not exist"))?;
    let log = t
        .partitions
        .first()
        .cloned()
        .ok_or_else(|| format!("{topic} has no partition"))?;
    let cfg = t.config();
    let now = now_ms();
    for chunk in records.chunks(BATCH) {
        let recs: Vec<_> = chunk
            .iter()
            .map(|w| crate::to_policy(w.clone(), now))
            .collect();
        let bytes = broker_policy::encode(&recs, &[]).map_err(|e| e.to_string())?;
        log.append(&bytes, &cfg).map_err(|r| r.message)?;
        logs.flusher.mark_dirty(&log);
    }
    Ok(())
}
