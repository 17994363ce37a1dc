//! A reader's windowed boards: a client that reads only a board's newest part (from the
//! first post of one of its pages, see `docs/data-model.md` "Views") folds that part like
//! any other, and this module answers what a list shows of the whole board from the part
//! it holds and the server's statistics (`bbs.stats`): how many posts are listed, when
//! the last one came, how many are unread. A board without a window is held whole and is
//! counted exactly, as before; the server's own fold never has windows.

use super::{Post, State};
use crate::codec::view::BoardStats;
use crate::model::{Millis, PostId};
use crate::prefs::ReadMark;
use crate::unread;

/// Where a windowed board's held part starts: the first post of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The ordinal (position among the board's posts ever written, from 0) of its first post.
    pub ordinal: u64,
    /// The id of its first post: every post of the board below it is not held.
    pub first_id: PostId,
    /// The offset of that post's record in the board's topic.
    pub offset: i64,
}

/// What a board list shows of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BoardSummary {
    /// Posts listed now.
    pub live: u64,
    /// Time of the newest listed post (0 when none).
    pub last: Millis,
}

/// Unread posts of a board for one reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Unread {
    /// How many (an upper bound when not `exact`).
    pub count: u64,
    /// False when the read mark is older than the held part: the posts not held count as
    /// unread (their authors and ids are not known here).
    pub exact: bool,
}

impl State {
    /// Holds only `board`'s posts from `window` on (`None`: the whole board). Call it with
    /// [`State::forget_posts`] before refolding the board's topic from the new start.
    pub fn set_window(&mut self, board: &str, window: Option<Window>) {
        match window {
            Some(w) => self.windows.insert(board.to_string(), w),
            None => self.windows.remove(board),
        };
    }

    /// Where the held part of `board` starts (`None`: held whole).
    pub fn window(&self, board: &str) -> Option<Window> {
        self.windows.get(board).copied()
    }

    /// Records the server's statistics of `board` (`None`: its record was tombstoned).
    pub fn set_stats(&mut self, board: &str, stats: Option<BoardStats>) {
        match stats {
            Some(s) => self.stats.insert(board.to_string(), s),
            None => self.stats.remove(board),
        };
    }

    /// The server's statistics of `board`, if read.
    pub fn stats(&self, board: &str) -> Option<BoardStats> {
        self.stats.get(board).copied()
    }

    /// Drops every post of `board` (before the board's topic is read again from an earlier
    /// start). The largest post id seen stays.
    pub fn forget_posts(&mut self, board: &str) {
        for id in self.board_posts.remove(board).unwrap_or_default() {
            self.posts.remove(&id);
        }
    }

    /// Listed posts held of `board`, with their ordinals (when windowed).
    fn held(&self, board: &str) -> impl Iterator<Item = (u64, &Post)> {
        let first = self.window(board).map_or(0, |w| w.ordinal);
        self.board_post_ids(board)
            .iter()
            .enumerate()
            .filter_map(move |(i, id)| Some((first + i as u64, self.live_post(*id)?)))
    }

    /// How many posts `board` lists and when its newest came: counted over the posts held
    /// when the board is held whole; for a windowed board, the server's statistics plus
    /// the held posts newer than what they counted.
    pub fn summary(&self, board: &str) -> BoardSummary {
        let mut out = BoardSummary::default();
        let counted = match (self.window(board), self.stats(board)) {
            (Some(_), Some(s)) => {
                out.live = s.live;
                out.last = s.time;
                s.posts
            }
            _ => 0,
        };
        for (ordinal, p) in self.held(board) {
            if ordinal >= counted {
                out.live += 1;
            }
            out.last = out.last.max(p.time);
        }
        out
    }

    /// Posts of `board` unread by `me` under `mark` (see [`unread`]): exact when the board
    /// is held whole or the mark covers every post before the held part; otherwise the
    /// listed posts not held count as unread.
    pub fn unread(&self, board: &str, me: &str, mark: Option<&ReadMark>) -> Unread {
        let mut held = 0;
        let mut count = 0;
        for (_, p) in self.held(board) {
            held += 1;
            if unread::is_unread(me, &p.author, p.id, mark) {
                count += 1;
            }
        }
        let covered = |w: Window| mark.is_some_and(|m| m.upto.saturating_add(1) >= w.first_id);
        match self.window(board) {
            Some(w) if !covered(w) => Unread {
                count: count + self.summary(board).live.saturating_sub(held),
                exact: false,
            },
            _ => Unread { count, exact: true },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{BbsRecord, Entry};
    use crate::state::Position;

    fn post(s: &mut State, board: &str, id: PostId, author: &str, offset: i64) {
        let e = Entry::new(BbsRecord::Post {
            board: board.into(),
            id: Some(id),
            author: author.into(),
            title: format!("t{id}"),
            body: String::new(),
        });
        s.apply(
            Position {
                offset,
                timestamp: id as i64 * 1000,
            },
            &e,
        );
    }

    fn mark(upto: PostId) -> ReadMark {
        ReadMark {
            upto,
            ..ReadMark::default()
        }
    }

    #[test]
    fn a_whole_board_is_counted_over_its_posts() {
        let mut s = State::new();
        for id in 1..=5 {
            post(
                &mut s,
                "b",
                id,
                if id == 2 { "me" } else { "amy" },
                id as i64,
            );
        }
        assert_eq!(
            s.summary("b"),
            BoardSummary {
                live: 5,
                last: 5000
            }
        );
        let u = s.unread("b", "me", Some(&mark(3)));
        assert_eq!(
            u,
            Unread {
                count: 2,
                exact: true
            }
        );
    }

    #[test]
    fn a_windowed_board_counts_what_it_does_not_hold_from_the_statistics() {
        // Posts 1..=100 exist; the window holds ordinals 50.. (ids 51..=100), and the
        // statistics counted 98 posts, 97 listed, when they were written.
        let mut s = State::new();
        s.set_window(
            "b",
            Some(Window {
                ordinal: 50,
                first_id: 51,
                offset: 50,
            }),
        );
        s.set_stats(
            "b",
            Some(BoardStats {
                posts: 98,
                live: 97,
                last: 98,
                time: 98_000,
            }),
        );
        for id in 51..=100 {
            post(&mut s, "b", id, "amy", id as i64 - 1);
        }
        // 97 counted, plus ordinals 98 and 99 (ids 99, 100) newer than the statistics.
        assert_eq!(
            s.summary("b"),
            BoardSummary {
                live: 99,
                last: 100_000
            }
        );
        // A mark covering everything before the window: exact.
        let u = s.unread("b", "me", Some(&mark(90)));
        assert_eq!(
            u,
            Unread {
                count: 10,
                exact: true
            }
        );
        let u = s.unread("b", "me", Some(&mark(50)));
        assert_eq!(
            u,
            Unread {
                count: 50,
                exact: true
            }
        );
        // An older mark: the 49 listed posts not held count as unread.
        let u = s.unread("b", "me", Some(&mark(10)));
        assert_eq!(
            u,
            Unread {
                count: 99,
                exact: false
            }
        );
        let u = s.unread("b", "me", None);
        assert!(!u.exact);
    }

    #[test]
    fn forgetting_a_board_drops_only_its_posts() {
        let mut s = State::new();
        post(&mut s, "a", 1, "amy", 0);
        post(&mut s, "b", 2, "amy", 0);
        s.forget_posts("a");
        assert!(s.any_post(1).is_none());
        assert!(s.any_post(2).is_some());
        assert_eq!(s.max_post_id(), 2);
        assert_eq!(s.board_post_ids("a"), &[] as &[PostId]);
    }
}
