//! The board list as the UI holds it: every board with its counts, favourites pinned on
//! top (in the order they were added), a name filter, and the cursor, kept on the same
//! board across reloads and live count updates.

use super::msg::{BoardInfo, PostRow};
use super::scroll::Cursor;
use crate::unread;

/// The board list screen's state.
#[derive(Debug, Clone, Default)]
pub struct BoardList {
    /// All boards, in creation order.
    all: Vec<BoardInfo>,
    /// Favourite board names, in the order added.
    pub favourites: Vec<String>,
    /// The name filter (substring, ignoring case and width; see [`crate::search`]).
    pub filter: String,
    /// Indices into `all` in display order (favourites first, then filtered).
    shown: Vec<usize>,
    /// Selection and viewport.
    pub cursor: Cursor,
}

impl BoardList {
    /// Replaces the boards (keeping the selected board selected).
    pub fn set(&mut self, all: Vec<BoardInfo>, height: usize) {
        let keep = self.selected().map(|b| b.name.clone());
        for b in &all {
            if b.favourite && !self.favourites.contains(&b.name) {
                self.favourites.push(b.name.clone());
            }
        }
        self.all = all;
        self.reshow(keep, height);
    }

    fn reshow(&mut self, keep: Option<String>, height: usize) {
        let mut shown: Vec<usize> = Vec::with_capacity(self.all.len());
        for f in &self.favourites {
            if let Some(i) = self.all.iter().position(|b| &b.name == f) {
                shown.push(i);
            }
        }
        for (i, b) in self.all.iter().enumerate() {
            if !self.favourites.contains(&b.name) {
                shown.push(i);
            }
        }
        let filter = self.filter.as_str();
        // Like the post searches: case and fullwidth forms are ignored (`np` finds `NP_HW`).
        shown.retain(|&i| crate::search::contains(&self.all[i].name, filter));
        self.shown = shown;
        if let Some(i) = keep.and_then(|name| self.position(&name)) {
            self.cursor.sel = i;
        }
        self.cursor.clamp(self.shown.len(), height);
    }

    /// Boards known, filtered or not (to tell "no match" from "no boards").
    pub fn total(&self) -> usize {
        self.all.len()
    }

    /// The board called `name`, shown or filtered out.
    pub fn by_name(&self, name: &str) -> Option<&BoardInfo> {
        self.all.iter().find(|b| b.name == name)
    }

    /// Rows shown.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Whether no board is shown.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    /// The board at display position `i`.
    pub fn row_at(&self, i: usize) -> Option<&BoardInfo> {
        self.shown.get(i).map(|&k| &self.all[k])
    }

    /// Whether a board is a favourite.
    pub fn is_favourite(&self, name: &str) -> bool {
        self.favourites.iter().any(|f| f == name)
    }

    /// The selected board.
    pub fn selected(&self) -> Option<&BoardInfo> {
        self.row_at(self.cursor.sel)
    }

    /// Display position of a board.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.shown.iter().position(|&k| self.all[k].name == name)
    }

    /// Sets the filter.
    pub fn set_filter(&mut self, filter: &str, height: usize) {
        let keep = self.selected().map(|b| b.name.clone());
        self.filter = filter.to_string();
        self.reshow(keep, height);
    }

    /// Adds or removes a favourite; returns the new list.
    pub fn toggle_favourite(&mut self, name: &str, height: usize) -> Vec<String> {
        if self.is_favourite(name) {
            self.favourites.retain(|f| f != name);
        } else {
            self.favourites.push(name.to_string());
        }
        for b in &mut self.all {
            b.favourite = self.favourites.contains(&b.name);
        }
        self.reshow(Some(name.to_string()), height);
        self.favourites.clone()
    }

    fn board_mut(&mut self, name: &str) -> Option<&mut BoardInfo> {
        self.all.iter_mut().find(|b| b.name == name)
    }

    /// A new post arrived on `board`: one more post, one more unread unless it is `me`'s
    /// (a new post is above every read mark).
    pub fn on_new_post(&mut self, board: &str, row: &PostRow, me: &str) {
        if let Some(b) = self.board_mut(board) {
            b.posts += 1;
            b.last = b.last.max(row.time);
            if unread::is_unread(me, &row.author, row.id, None) {
                b.unread += 1;
            }
        }
    }

    /// A post of `board` was deleted; `was_unread` says whether it counted as unread.
    pub fn on_deleted(&mut self, board: &str, was_unread: bool) {
        if let Some(b) = self.board_mut(board) {
            b.posts = b.posts.saturating_sub(1);
            if was_unread {
                b.unread = b.unread.saturating_sub(1);
            }
        }
    }

    /// One post of `board` was read.
    pub fn on_read(&mut self, board: &str) {
        if let Some(b) = self.board_mut(board) {
            b.unread = b.unread.saturating_sub(1);
        }
    }

    /// Sets a board's unread count (after opening it or marking all read).
    pub fn set_unread(&mut self, board: &str, unread: usize) {
        if let Some(b) = self.board_mut(board) {
            b.unread = unread;
        }
    }

    /// The next board after the selection with unread posts (wrapping).
    pub fn next_unread(&self) -> Option<usize> {
        let n = self.len();
        (1..=n)
            .map(|k| (self.cursor.sel + k) % n)
            .find(|&i| self.row_at(i).is_some_and(|b| b.unread > 0))
    }
}
