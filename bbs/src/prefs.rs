//! Per-user state that follows a user from machine to machine: which posts of each board
//! they have read ([`ReadMark`]) and their favourite boards. A backend stores it per user
//! (on Kafka: a read mark is the user's committed position on a board, its text form the
//! commit metadata; favourites a compacted private record), so it is plain data with a
//! compact text encoding and no I/O.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::PostId;

/// Which posts of one board a user has read: everything up to `upto`, plus single posts
/// read out of order above it (PTT lets you read any post first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadMark {
    /// Every post of the board with an id at or below this is read (the committed position).
    pub upto: PostId,
    /// Posts above `upto` read out of order, kept until the gap below them closes.
    pub extra: BTreeSet<PostId>,
}

/// Bound on `extra`, so a read mark stays a small commit: past it the oldest out-of-order
/// reads are folded into `upto` (marking the posts below them read).
pub const MAX_EXTRA: usize = 512;

impl ReadMark {
    /// Whether post `id` counts as read.
    pub fn is_read(&self, id: PostId) -> bool {
        id <= self.upto || self.extra.contains(&id)
    }

    /// Marks `id` read; `board_ids` (the board's live post ids, ascending) lets the mark
    /// advance `upto` over the posts that are now read without a gap. Returns whether
    /// anything changed.
    pub fn mark(&mut self, id: PostId, board_ids: impl IntoIterator<Item = PostId>) -> bool {
        if self.is_read(id) {
            return false;
        }
        self.extra.insert(id);
        self.compact(board_ids);
        true
    }

    /// Marks every post up to `id` read.
    pub fn mark_all(&mut self, id: PostId) {
        self.upto = self.upto.max(id);
        let upto = self.upto;
        self.extra.retain(|&x| x > upto);
    }

    /// Advances `upto` while the next post of the board is read, and bounds `extra`.
    pub fn compact(&mut self, board_ids: impl IntoIterator<Item = PostId>) {
        for id in board_ids {
            if id <= self.upto {
                continue;
            }
            if self.extra.remove(&id) {
                self.upto = id;
            } else {
                break;
            }
        }
        while self.extra.len() > MAX_EXTRA {
            if let Some(first) = self.extra.pop_first() {
                self.upto = self.upto.max(first);
            }
        }
    }

    /// Text form: `upto` then the extra ids, comma separated (`12,15,19`).
    pub fn encode(&self) -> String {
        let mut s = self.upto.to_string();
        for id in &self.extra {
            s.push(',');
            s.push_str(&id.to_string());
        }
        s
    }

    /// Parses [`ReadMark::encode`]'s form; junk yields `None`.
    pub fn decode(s: &str) -> Option<ReadMark> {
        let mut parts = s.split(',');
        let upto = parts.next()?.trim().parse().ok()?;
        let mut extra = BTreeSet::new();
        for p in parts {
            let id: PostId = p.trim().parse().ok()?;
            if id > upto {
                extra.insert(id);
            }
        }
        Some(ReadMark { upto, extra })
    }
}

/// Everything a user keeps on the server besides mail and subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPrefs {
    /// Board name → what the user has read there.
    pub read: BTreeMap<String, ReadMark>,
    /// Favourite boards, in the order the user added them (pinned on top of the list).
    pub favourites: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_advance_over_gaps_once_closed() {
        let ids = [2, 5, 9, 14];
        let mut m = ReadMark::default();
        assert!(m.mark(9, ids));
        assert_eq!((m.upto, m.extra.len()), (0, 1));
        assert!(m.is_read(9) && !m.is_read(5));
        m.mark(2, ids);
        assert_eq!(m.upto, 2);
        m.mark(5, ids);
        assert_eq!((m.upto, m.extra.len()), (9, 0));
        assert!(!m.mark(5, ids));
        assert!(!m.is_read(14));
    }

    #[test]
    fn encoding_round_trips_and_rejects_junk() {
        let mut m = ReadMark::default();
        m.mark_all(7);
        m.mark(12, [1, 7, 10, 12]);
        assert_eq!(m.encode(), "7,12");
        assert_eq!(ReadMark::decode("7,12"), Some(m));
        assert_eq!(ReadMark::decode("x"), None);
        assert_eq!(ReadMark::decode(""), None);
    }

    #[test]
    fn extra_is_bounded() {
        let ids: Vec<PostId> = (1..=2000).collect();
        let mut m = ReadMark::default();
        for id in (2..=2000).step_by(2) {
            m.mark(id, ids.iter().copied());
        }
        assert!(m.extra.len() <= MAX_EXTRA);
        assert!(m.upto > 0);
    }
}
