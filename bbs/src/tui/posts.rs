//! A board's post list as the UI holds it: rows in id order (shown oldest or newest first,
//! [`Order`]), the user's read mark, an optional title/author search, and the cursor.
//! Every lookup the view needs per visible row is O(log n), so drawing a 100,000-post
//! board costs the same as a 10-post one.
//! Changes (a new post, a delete) keep the selected row and the top row anchored by post
//! id, so the screen does not jump when rows arrive above the viewport.

use serde::Deserialize;

use super::msg::PostRow;
use super::scroll::Cursor;
use crate::model::PostId;
use crate::prefs::ReadMark;
use crate::unread;

/// Post list order (the `order` setting of `bbs-client.toml`'s `[ui]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// PTT: oldest at the top, new posts arrive at the bottom.
    #[default]
    OldestFirst,
    /// New posts arrive at the top (above the viewport when scrolled down).
    NewestFirst,
}

/// What a search matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// Title contains the text (ignoring case and width, see [`crate::search`]).
    Title(String),
    /// Author contains the text (ignoring case and width).
    Author(String),
}

impl Search {
    fn matches(&self, row: &PostRow) -> bool {
        match self {
            Search::Title(t) => crate::search::contains(&row.title, t),
            Search::Author(a) => crate::search::contains(&row.author, a),
        }
    }
}

/// One board's posts on screen.
#[derive(Debug, Clone, Default)]
pub struct PostList {
    /// The board shown.
    pub board: String,
    /// Rows in ascending id order.
    rows: Vec<PostRow>,
    /// What the user has read here.
    pub read: ReadMark,
    /// The user (own posts count as read).
    pub me: String,
    /// Newest at the top instead of the bottom.
    pub newest_first: bool,
    /// The active search.
    pub search: Option<Search>,
    /// Ids matching the search, ascending (`None` without a search).
    shown: Option<Vec<PostId>>,
    /// Selection and viewport, in display order.
    pub cursor: Cursor,
    /// Rows have arrived from the worker.
    pub loaded: bool,
    /// The board has older posts than the rows (a long board is opened at its newest).
    pub older: bool,
    /// Older posts were asked for and have not arrived yet.
    pub asking_older: bool,
}

impl PostList {
    /// Replaces the rows (a board was opened); the selection goes to the first unread post,
    /// or to the newest.
    pub fn load(&mut self, board: String, rows: Vec<PostRow>, read: ReadMark, height: usize) {
        let same = self.board == board;
        self.board = board;
        self.rows = rows;
        self.read = read;
        self.loaded = true;
        self.asking_older = false;
        if !same {
            self.search = None;
        }
        self.refilter();
        self.cursor = Cursor::default();
        let start = if self.newest_first {
            0
        } else {
            self.len().saturating_sub(1)
        };
        let first_unread =
            (0..self.len()).find(|&i| self.row_at(i).is_some_and(|r| !self.is_read(r)));
        let target = first_unread.unwrap_or(start);
        self.cursor.select(target, self.len(), height);
    }

    /// The rows again after older posts were read: the selection and the top row stay
    /// on the posts they were on.
    pub fn extend(&mut self, rows: Vec<PostRow>, older: bool, height: usize) {
        self.anchored(height, |s| {
            s.rows = rows;
            s.refilter();
        });
        self.older = older;
        self.asking_older = false;
    }

    /// Whether the selection is on the oldest row of a board that has older posts not
    /// asked for yet: time to ask for them.
    pub fn wants_older(&self) -> bool {
        let oldest = match self.newest_first {
            true => self.len().saturating_sub(1),
            false => 0,
        };
        self.older && !self.asking_older && self.cursor.sel == oldest
    }

    /// Number of rows shown.
    pub fn len(&self) -> usize {
        self.shown.as_ref().map_or(self.rows.len(), Vec::len)
    }

    /// Whether nothing is shown.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total posts on the board (ignoring the search).
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    fn rows_index(&self, id: PostId) -> Option<usize> {
        self.rows.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// The row at display position `i`.
    pub fn row_at(&self, i: usize) -> Option<&PostRow> {
        let n = self.len();
        if i >= n {
            return None;
        }
        let k = if self.newest_first { n - 1 - i } else { i };
        match &self.shown {
            None => self.rows.get(k),
            Some(ids) => self.rows_index(ids[k]).map(|j| &self.rows[j]),
        }
    }

    /// Display position of post `id`.
    pub fn position(&self, id: PostId) -> Option<usize> {
        let k = match &self.shown {
            None => self.rows_index(id)?,
            Some(ids) => ids.binary_search(&id).ok()?,
        };
        Some(if self.newest_first {
            self.len() - 1 - k
        } else {
            k
        })
    }

    /// The selected row.
    pub fn selected(&self) -> Option<&PostRow> {
        self.row_at(self.cursor.sel)
    }

    /// Whether a row counts as read (read mark, or the user's own post).
    pub fn is_read(&self, row: &PostRow) -> bool {
        !unread::is_unread(&self.me, &row.author, row.id, Some(&self.read))
    }

    /// Applies `f`, then puts the selection and the top row back on the posts they were
    /// on (or as near as possible when those posts left).
    fn anchored(&mut self, height: usize, f: impl FnOnce(&mut Self)) {
        let sel_id = self.selected().map(|r| r.id);
        let top_id = self.row_at(self.cursor.top).map(|r| r.id);
        f(self);
        if let Some(i) = sel_id.and_then(|id| self.position(id)) {
            self.cursor.sel = i;
        }
        if let Some(i) = top_id.and_then(|id| self.position(id)) {
            self.cursor.top = i;
        }
        self.cursor.clamp(self.len(), height);
    }

    /// A new post arrived.
    pub fn insert(&mut self, row: PostRow, height: usize) {
        if self.rows_index(row.id).is_some() {
            self.update(row.id, Some(row), height);
            return;
        }
        self.anchored(height, |s| {
            let at = s.rows.partition_point(|r| r.id < row.id);
            if let (Some(ids), Some(search)) = (s.shown.as_mut(), s.search.as_ref()) {
                if search.matches(&row) {
                    let k = ids.partition_point(|&i| i < row.id);
                    ids.insert(k, row.id);
                }
            }
            s.rows.insert(at, row);
        });
    }

    /// A post changed (`Some`) or was deleted (`None`).
    pub fn update(&mut self, id: PostId, row: Option<PostRow>, height: usize) {
        let Some(j) = self.rows_index(id) else {
            return;
        };
        match row {
            Some(r) => self.rows[j] = r,
            None => self.anchored(height, |s| {
                s.rows.remove(j);
                if let Some(ids) = s.shown.as_mut() {
                    ids.retain(|&i| i != id);
                }
            }),
        }
    }

    /// Sets (or clears) the search, keeping the selected post if it still shows.
    pub fn set_search(&mut self, search: Option<Search>, height: usize) {
        self.anchored(height, |s| {
            s.search = search.filter(|q| match q {
                Search::Title(t) | Search::Author(t) => !t.is_empty(),
            });
            s.refilter();
        });
    }

    fn refilter(&mut self) {
        self.shown = self.search.as_ref().map(|q| {
            self.rows
                .iter()
                .filter(|r| q.matches(r))
                .map(|r| r.id)
                .collect()
        });
    }

    /// Marks a post read in the local copy; returns whether it was unread.
    pub fn mark_read(&mut self, id: PostId) -> bool {
        let Some(j) = self.rows_index(id) else {
            return false;
        };
        if self.is_read(&self.rows[j]) {
            return false;
        }
        self.read.extra.insert(id);
        true
    }

    /// Marks everything read in the local copy.
    pub fn mark_all_read(&mut self) {
        if let Some(last) = self.rows.last() {
            self.read.mark_all(last.id);
        }
    }

    /// Unread posts on the board.
    pub fn unread(&self) -> usize {
        let rows = self.rows.iter().map(|r| (r.author.as_str(), r.id));
        unread::count(&self.me, Some(&self.read), rows)
    }

    /// The next unread row after the selection (wrapping around), if any.
    pub fn next_unread(&self) -> Option<usize> {
        let n = self.len();
        (1..=n)
            .map(|k| (self.cursor.sel + k) % n)
            .find(|&i| self.row_at(i).is_some_and(|r| !self.is_read(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: PostId, author: &str) -> PostRow {
        PostRow {
            id,
            score: 0,
            time: 0,
            author: author.into(),
            title: format!("title {id}"),
        }
    }

    fn list(n: u64, newest_first: bool) -> PostList {
        let mut l = PostList {
            me: "me".into(),
            newest_first,
            ..PostList::default()
        };
        let rows = (1..=n).map(|i| row(i, "x")).collect();
        l.load("b".into(), rows, ReadMark::default(), 10);
        l
    }

    #[test]
    fn rows_arriving_above_the_viewport_do_not_move_it() {
        let mut l = list(100, true);
        l.cursor.select(50, l.len(), 10);
        let (sel_id, top_id) = (
            l.selected().map(|r| r.id),
            l.row_at(l.cursor.top).map(|r| r.id),
        );
        for id in 101..=105 {
            l.insert(row(id, "y"), 10);
        }
        assert_eq!(l.selected().map(|r| r.id), sel_id);
        assert_eq!(l.row_at(l.cursor.top).map(|r| r.id), top_id);
        assert_eq!(l.cursor.sel, 55);
        // Deleting rows above keeps the view on the same posts too.
        l.update(105, None, 10);
        assert_eq!(l.selected().map(|r| r.id), sel_id);
    }

    #[test]
    fn unread_counts_and_next_unread() {
        let mut l = list(10, false);
        assert_eq!(l.unread(), 10);
        // Opening a board selects the first unread post.
        assert_eq!(l.cursor.sel, 0);
        l.mark_read(1);
        l.mark_read(3);
        assert_eq!(l.unread(), 8);
        assert_eq!(l.next_unread(), Some(1));
        l.insert(row(11, "me"), 10);
        assert_eq!(l.unread(), 8, "own posts are read");
        l.mark_all_read();
        assert_eq!((l.unread(), l.next_unread()), (0, None));
        l.insert(row(12, "z"), 10);
        assert_eq!(l.next_unread(), l.position(12));
    }

    #[test]
    fn search_filters_and_new_rows_respect_it() {
        let mut l = list(30, false);
        l.set_search(Some(Search::Title("title 2".into())), 10);
        assert_eq!(l.len(), 11); // 2, 20..=29
        l.insert(row(200, "x"), 10);
        assert_eq!(l.len(), 12);
        l.insert(row(31, "x"), 10);
        assert_eq!(l.len(), 12);
        l.set_search(Some(Search::Author("x".into())), 10);
        assert_eq!(l.len(), 32);
        l.set_search(None, 10);
        assert_eq!(l.len(), 32);
    }
}
