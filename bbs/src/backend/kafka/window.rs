//! Which part of each board a link reads (`docs/data-model.md`, "Views"). At login a board
//! is read from the first post of the page that holds its [`NEWEST`] newest posts, found
//! through `bbs.stats` and `pages.<board>` with a few single-record reads, so logging in
//! costs the same whatever the history. Older posts are read when asked for
//! ([`crate::backend::Need`]): a whole board for `list-post`, from the page of a post
//! for `read <id>`, one page more when a reader scrolls past the oldest. The feed thread
//! applies a move ([`Reload`]) between polls: it forgets the board's posts, seeks the
//! board's partition to the new start and folds from there, in log order with everything
//! else. A server without views (no `bbs.stats`) is read whole, as before.

use std::collections::HashMap;
use std::time::Duration;

use client::{Client, ConsumerRecord, TopicPartition};

use super::feed::{backend, Shared};
use crate::backend::Need;
use crate::codec::view::{BoardStats, IdRow, PageRow, PAGE_SIZE};
use crate::codec::WireRecord;
use crate::error::Result;
use crate::model::PostId;
use crate::names::{self, IDS_TOPIC, STATS_TOPIC};
use crate::state::Window;

/// Posts of each board a link reads at login (at least; the start is a page's first).
pub const NEWEST: u64 = 50;

/// The largest page record (a few headers).
const PAGE_RECORD_BYTES: i32 = 4096;

/// Where each board starts at login, and the statistics read on the way.
#[derive(Debug, Default)]
pub struct Plan {
    /// Where the newest snapshot of `bbs.stats` begins: the feed reads it from there.
    pub stats_since: i64,
    /// Board → its statistics.
    pub stats: HashMap<String, BoardStats>,
    /// Boards read from a window rather than whole.
    pub windows: HashMap<String, Window>,
}

/// A record as the codec sees it.
pub fn to_wire(r: &ConsumerRecord) -> WireRecord {
    WireRecord {
        key: r.key.clone(),
        value: r.value.clone(),
        headers: r.headers.clone(),
    }
}

/// A `bbs.stats` record: the board and its statistics (`None`: a tombstone).
pub fn stats_record(r: &ConsumerRecord) -> Option<(String, Option<BoardStats>)> {
    let board = String::from_utf8(r.key.as_ref()?.to_vec()).ok()?;
    if r.headers.is_empty() {
        return Some((board, None));
    }
    Some((board, BoardStats::from_wire(&to_wire(r)).ok()))
}

/// Reads `bbs.stats` and the page of each long board's newest posts (`topics`: the
/// server's topics). A server without views gives an empty plan (every board read whole);
/// so does any failure, logged.
pub fn plan(client: &Client, topics: &[String]) -> Plan {
    if !topics.iter().any(|t| t == STATS_TOPIC) {
        return Plan::default();
    }
    match try_plan(client) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = %e, "no views to start from: boards are read whole");
            Plan::default()
        }
    }
}

fn try_plan(client: &Client) -> Result<Plan> {
    let mut plan = Plan::default();
    let tp = TopicPartition::new(STATS_TOPIC, 0);
    // The last record says where the newest full snapshot begins; from there to the end
    // holds every board's latest statistics (a server that never stamped reads from 0).
    let end = end_of(client, &tp)?;
    if end > 0 {
        plan.stats_since = record_at(client, &tp, end - 1)?
            .and_then(|w| BoardStats::since(&w))
            .filter(|s| (0..end).contains(s))
            .unwrap_or(0);
    }
    let records = client
        .admin()
        .read_to_end(&tp, plan.stats_since)
        .map_err(backend)?;
    for r in records {
        match stats_record(&r) {
            Some((board, Some(s))) => plan.stats.insert(board, s),
            Some((board, None)) => plan.stats.remove(&board),
            None => None,
        };
    }
    let wanted: Vec<(String, u64)> = plan
        .stats
        .iter()
        .map(|(b, s)| (b.clone(), s.posts.saturating_sub(NEWEST) / PAGE_SIZE))
        .filter(|(_, page)| *page > 0)
        .collect();
    for (board, w) in windows(client, &wanted)? {
        plan.windows.insert(board, w);
    }
    Ok(plan)
}

/// The end offset (high watermark) of `tp`, 0 when the server does not say.
fn end_of(client: &Client, tp: &TopicPartition) -> Result<i64> {
    let ends = client
        .admin()
        .end_offsets(std::slice::from_ref(tp))
        .map_err(backend)?;
    Ok(ends.get(tp).copied().unwrap_or(0))
}

/// The record at `offset` of `tp`, if there is one.
fn record_at(client: &Client, tp: &TopicPartition, offset: i64) -> Result<Option<WireRecord>> {
    let mut got = client
        .admin()
        .read_at(&[(tp.clone(), offset)], PAGE_RECORD_BYTES)
        .map_err(backend)?;
    Ok(got
        .remove(tp)
        .and_then(|o| o.records.iter().find(|r| r.offset == offset).map(to_wire)))
}

/// The window starting at page `page` of each board, read in one go; boards whose page
/// cannot be read are left out (read whole).
pub fn windows(client: &Client, wanted: &[(String, u64)]) -> Result<Vec<(String, Window)>> {
    let mut asked = Vec::new();
    for (board, page) in wanted {
        let topic = names::pages_topic(board)?;
        asked.push((board, TopicPartition::new(&topic, 0), *page));
    }
    let parts: Vec<(TopicPartition, i64)> = asked
        .iter()
        .map(|(_, tp, page)| (tp.clone(), *page as i64))
        .collect();
    let mut got = client
        .admin()
        .read_at(&parts, PAGE_RECORD_BYTES)
        .map_err(backend)?;
    let mut out = Vec::new();
    for (board, tp, page) in asked {
        let row = got.remove(&tp).and_then(|o| {
            let r = o.records.iter().find(|r| r.offset == page as i64)?;
            PageRow::from_wire(&to_wire(r)).ok()
        });
        match row {
            Some(row) if row.page == page => out.push((
                board.clone(),
                Window {
                    ordinal: page * PAGE_SIZE,
                    first_id: row.id,
                    offset: row.offset,
                },
            )),
            _ => tracing::warn!(%board, page, "page record not found: the board is read whole"),
        }
    }
    Ok(out)
}

/// A move of one board's start, for the feed thread.
#[derive(Debug, Clone)]
pub struct Reload {
    /// The board.
    pub board: String,
    /// Its new start (`None`: the whole board).
    pub window: Option<Window>,
}

/// How long a link waits for its feed to read a board again from an earlier start (a
/// whole board of a million posts takes seconds).
const LOAD_WAIT: Duration = Duration::from_secs(120);

/// Makes the feed's view hold `need`: works out the board's new start, hands the move to
/// the feed thread and waits until it has read the board to its current end.
pub fn load(client: &Client, shared: &Shared, need: Need) -> Result<()> {
    let Some(reload) = reload_for(client, shared, need)? else {
        return Ok(());
    };
    let topic = names::board_topic(&reload.board)?;
    let end = end_of(client, &TopicPartition::new(&topic, 0))?;
    let ticket = {
        let mut st = shared.lock();
        st.reloads.push(reload);
        st.reloads_asked += 1;
        st.reloads_asked
    };
    shared.wake();
    let done = shared.wait_until(LOAD_WAIT, |st| {
        st.reloads_done >= ticket
            && st.positions.get(&(topic.clone(), 0)).copied().unwrap_or(0) >= end
    });
    if !done {
        return Err(crate::error::Error::Backend(format!(
            "board {topic} was not read in {} s",
            LOAD_WAIT.as_secs()
        )));
    }
    Ok(())
}

/// The move `need` asks for, if the view does not hold it already.
fn reload_for(client: &Client, shared: &Shared, need: Need) -> Result<Option<Reload>> {
    let (board, page) = match need {
        Need::Board(board) => {
            if shared.lock().view.window(&board).is_none() {
                return Ok(None);
            }
            (board, 0)
        }
        Need::Older(board) => {
            let Some(w) = shared.lock().view.window(&board) else {
                return Ok(None);
            };
            (board, (w.ordinal / PAGE_SIZE).saturating_sub(1))
        }
        Need::Post(id) => {
            if shared.lock().view.any_post(id).is_some() {
                return Ok(None);
            }
            let Some((board, ordinal)) = locate(client, id)? else {
                return Ok(None);
            };
            match shared.lock().view.window(&board) {
                Some(w) if w.ordinal > ordinal => (board, ordinal / PAGE_SIZE),
                _ => return Ok(None),
            }
        }
    };
    if page == 0 {
        return Ok(Some(Reload {
            board,
            window: None,
        }));
    }
    let w = windows(client, &[(board.clone(), page)])?;
    match w.into_iter().next() {
        Some((board, w)) => Ok(Some(Reload {
            board,
            window: Some(w),
        })),
        None => Err(crate::error::Error::Backend(format!(
            "page {page} of board {board} could not be read"
        ))),
    }
}

/// The board and ordinal of post `id` (`None`: no such post), from `bbs.ids`: the record
/// of id n is at offset n-1 while ids have no gaps; otherwise bisect on the offsets (ids
/// grow with them).
pub fn locate(client: &Client, id: PostId) -> Result<Option<(String, u64)>> {
    let tp = TopicPartition::new(IDS_TOPIC, 0);
    let at = |offset: i64| -> Result<Option<IdRow>> {
        Ok(record_at(client, &tp, offset)?.and_then(|w| IdRow::from_wire(&w).ok()))
    };
    let topics = client.admin().list_topics().map_err(backend)?;
    if !topics.iter().any(|t| t == IDS_TOPIC) {
        return Ok(None);
    }
    let end = end_of(client, &tp)?;
    let guess = i64::try_from(id).unwrap_or(i64::MAX).saturating_sub(1);
    if guess < end {
        if let Some(row) = at(guess)? {
            if row.id == id {
                return Ok(Some((row.board, row.ordinal)));
            }
        }
    }
    let (mut lo, mut hi) = (0i64, end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(row) = at(mid)? else {
            return Ok(None);
        };
        match row.id.cmp(&id) {
            std::cmp::Ordering::Equal => return Ok(Some((row.board, row.ordinal))),
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    Ok(None)
}
