//! The records of the views the server keeps beside the boards (`docs/data-model.md`,
//! "Views"): per-board statistics on `bbs.stats`, one index row per post on
//! `index.<board>`, one record per 50 posts on `pages.<board>` and one record per post on
//! `bbs.ids` (where a post id lives: board, offset, ordinal). Each is a typed value
//! with its record (empty value, fields as headers, as a student reads them with kcat)
//! and back. No I/O: the server (`bbs-host`) computes and writes them; clients read them.

use bytes::Bytes;

use super::{WireRecord, H_AUTHOR, H_ID, H_KIND, H_TIME, H_TITLE};
use crate::error::{Error, Result};
use crate::model::{Millis, PostId};

/// Posts per page of `pages.<board>`.
pub const PAGE_SIZE: u64 = 50;

/// Header: posts ever written to a board (stats).
pub const H_POSTS: &str = "bbs.posts";
/// Header: posts listed now (stats).
pub const H_LIVE: &str = "bbs.live";
/// Header: the newest listed post's id (stats).
pub const H_LAST: &str = "bbs.last";
/// Header: what a list shows of a post (`live`, `deleted`, `removed`, `hidden`).
pub const H_STATE: &str = "bbs.state";
/// Header: a post's score as readers see it.
pub const H_SCORE: &str = "bbs.score";
/// Header: a post's comment count as readers see it.
pub const H_COMMENTS: &str = "bbs.comments";
/// Header: an offset in `board.<board>`.
pub const H_OFFSET: &str = "bbs.offset";
/// Header: a post's position (from 0) among its board's posts ever written.
pub const H_ORDINAL: &str = "bbs.ordinal";
/// Header: a page's number.
pub const H_PAGE: &str = "bbs.page";
/// Header: on every `bbs.stats` record, the offset where the newest full snapshot of the
/// statistics begins (read from there to the end for every board's latest record).
pub const H_SINCE: &str = "bbs.since";
/// Header: a board's name (ids).
pub const H_BOARD: &str = "bbs.board";

/// One board's record on `bbs.stats` (key: the board name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BoardStats {
    /// Posts ever written to the board: the ordinal the next post gets.
    pub posts: u64,
    /// Posts listed now.
    pub live: u64,
    /// The newest listed post (0 when none).
    pub last: PostId,
    /// Its time (0 when none).
    pub time: Millis,
}

/// What a list shows of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostState {
    /// Listed as written.
    Live,
    /// Deleted by its author: not listed.
    Deleted,
    /// Removed by a moderator: listed with the removal's title.
    Removed,
    /// Its author is disabled (or its board deleted): not listed.
    Hidden,
}

impl PostState {
    /// The header value.
    pub fn word(self) -> &'static str {
        match self {
            PostState::Live => "live",
            PostState::Deleted => "deleted",
            PostState::Removed => "removed",
            PostState::Hidden => "hidden",
        }
    }

    fn parse(s: &str) -> Option<PostState> {
        Some(match s {
            "live" => PostState::Live,
            "deleted" => PostState::Deleted,
            "removed" => PostState::Removed,
            "hidden" => PostState::Hidden,
            _ => return None,
        })
    }

    /// Whether the post is listed.
    pub fn listed(self) -> bool {
        matches!(self, PostState::Live | PostState::Removed)
    }
}

/// One post's row on `index.<board>` (key: the post id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// The post id.
    pub id: PostId,
    /// Its author.
    pub author: String,
    /// Its title as shown.
    pub title: String,
    /// Creation time.
    pub time: Millis,
    /// What a list shows of it.
    pub state: PostState,
    /// The score readers see.
    pub score: i64,
    /// The comments readers see.
    pub comments: u64,
    /// Offset of the post's record in `board.<board>`.
    pub offset: i64,
    /// Position (from 0) among the board's posts ever written.
    pub ordinal: u64,
}

/// One page's record on `pages.<board>` (key: the page number; at offset = page number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRow {
    /// The page number: it holds ordinals `page * PAGE_SIZE ..`.
    pub page: u64,
    /// The id of its first post.
    pub id: PostId,
    /// Offset of its first post in `board.<board>`.
    pub offset: i64,
}

/// One post's record on `bbs.ids` (key: the post id): where the post lives. Written once,
/// in id order, when the post is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRow {
    /// The post id.
    pub id: PostId,
    /// Its board's name (not the topic suffix).
    pub board: String,
    /// Offset of the post's record in `board.<board>`.
    pub offset: i64,
    /// Position (from 0) among the board's posts ever written.
    pub ordinal: u64,
}

fn record(key: String, kind: &'static str, fields: Vec<(&str, String)>) -> WireRecord {
    let mut headers = vec![(
        H_KIND.to_string(),
        Some(Bytes::from_static(kind.as_bytes())),
    )];
    headers.extend(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(Bytes::from(v)))),
    );
    WireRecord {
        key: Some(Bytes::from(key)),
        value: Some(Bytes::new()),
        headers,
    }
}

/// Reads the fields of a view record of `kind`.
struct Fields<'a>(&'a WireRecord);

impl Fields<'_> {
    fn of<'a>(w: &'a WireRecord, kind: &str) -> Result<Fields<'a>> {
        match w.header(H_KIND)? {
            Some(k) if k == kind => Ok(Fields(w)),
            other => Err(Error::Codec(format!("not a {kind} view record: {other:?}"))),
        }
    }

    fn text(&self, name: &str) -> Result<String> {
        self.0
            .header(name)?
            .map(str::to_string)
            .ok_or_else(|| Error::Codec(format!("missing {name}")))
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<T> {
        let t = self.text(name)?;
        t.parse()
            .map_err(|_| Error::Codec(format!("{name} is not a number: {t:?}")))
    }
}

impl BoardStats {
    /// The record for board `name`.
    pub fn to_wire(&self, name: &str) -> WireRecord {
        record(
            name.to_string(),
            "stats",
            vec![
                (H_POSTS, self.posts.to_string()),
                (H_LIVE, self.live.to_string()),
                (H_LAST, self.last.to_string()),
                (H_TIME, self.time.to_string()),
            ],
        )
    }

    /// Stamps a `bbs.stats` record with the offset of the newest full snapshot (a
    /// tombstone stays without headers).
    pub fn stamp(w: &mut WireRecord, since: i64) {
        if !w.headers.is_empty() {
            w.headers.retain(|(k, _)| k != H_SINCE);
            w.headers
                .push((H_SINCE.to_string(), Some(Bytes::from(since.to_string()))));
        }
    }

    /// The snapshot offset a `bbs.stats` record carries, if any.
    pub fn since(w: &WireRecord) -> Option<i64> {
        w.header(H_SINCE).ok().flatten()?.parse().ok()
    }

    /// The tombstone that removes board `name` (deleted by the operator).
    pub fn tombstone(name: &str) -> WireRecord {
        WireRecord {
            key: Some(Bytes::from(name.to_string())),
            value: None,
            headers: Vec::new(),
        }
    }

    /// Decodes a stats record.
    pub fn from_wire(w: &WireRecord) -> Result<BoardStats> {
        let f = Fields::of(w, "stats")?;
        Ok(BoardStats {
            posts: f.num(H_POSTS)?,
            live: f.num(H_LIVE)?,
            last: f.num(H_LAST)?,
            time: f.num(H_TIME)?,
        })
    }
}

impl IndexRow {
    /// The record.
    pub fn to_wire(&self) -> WireRecord {
        record(
            self.id.to_string(),
            "index",
            vec![
                (H_ID, self.id.to_string()),
                (H_AUTHOR, self.author.clone()),
                (H_TITLE, self.title.clone()),
                (H_TIME, self.time.to_string()),
                (H_STATE, self.state.word().to_string()),
                (H_SCORE, self.score.to_string()),
                (H_COMMENTS, self.comments.to_string()),
                (H_OFFSET, self.offset.to_string()),
                (H_ORDINAL, self.ordinal.to_string()),
            ],
        )
    }

    /// Decodes an index record.
    pub fn from_wire(w: &WireRecord) -> Result<IndexRow> {
        let f = Fields::of(w, "index")?;
        let state = f.text(H_STATE)?;
        Ok(IndexRow {
            id: f.num(H_ID)?,
            author: f.text(H_AUTHOR)?,
            title: f.text(H_TITLE)?,
            time: f.num(H_TIME)?,
            state: PostState::parse(&state)
                .ok_or_else(|| Error::Codec(format!("unknown {H_STATE} {state:?}")))?,
            score: f.num(H_SCORE)?,
            comments: f.num(H_COMMENTS)?,
            offset: f.num(H_OFFSET)?,
            ordinal: f.num(H_ORDINAL)?,
        })
    }
}

impl PageRow {
    /// The record.
    pub fn to_wire(&self) -> WireRecord {
        record(
            self.page.to_string(),
            "page",
            vec![
                (H_PAGE, self.page.to_string()),
                (H_ID, self.id.to_string()),
                (H_OFFSET, self.offset.to_string()),
            ],
        )
    }

    /// Decodes a page record.
    pub fn from_wire(w: &WireRecord) -> Result<PageRow> {
        let f = Fields::of(w, "page")?;
        Ok(PageRow {
            page: f.num(H_PAGE)?,
            id: f.num(H_ID)?,
            offset: f.num(H_OFFSET)?,
        })
    }
}

impl IdRow {
    /// The record.
    pub fn to_wire(&self) -> WireRecord {
        record(
            self.id.to_string(),
            "id",
            vec![
                (H_ID, self.id.to_string()),
                (H_BOARD, self.board.clone()),
                (H_OFFSET, self.offset.to_string()),
                (H_ORDINAL, self.ordinal.to_string()),
            ],
        )
    }

    /// Decodes an ids record.
    pub fn from_wire(w: &WireRecord) -> Result<IdRow> {
        let f = Fields::of(w, "id")?;
        Ok(IdRow {
            id: f.num(H_ID)?,
            board: f.text(H_BOARD)?,
            offset: f.num(H_OFFSET)?,
            ordinal: f.num(H_ORDINAL)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_records_round_trip() {
        let s = BoardStats {
            posts: 7,
            live: 5,
            last: 42,
            time: 1_711_013_400_000,
        };
        assert_eq!(BoardStats::from_wire(&s.to_wire("NP")).ok(), Some(s));
        let row = IndexRow {
            id: 42,
            author: "amy".into(),
            title: "測試 title".into(),
            time: 5,
            state: PostState::Removed,
            score: -2,
            comments: 3,
            offset: 99,
            ordinal: 6,
        };
        assert_eq!(IndexRow::from_wire(&row.to_wire()).ok(), Some(row.clone()));
        let page = PageRow {
            page: 3,
            id: 151,
            offset: 400,
        };
        assert_eq!(PageRow::from_wire(&page.to_wire()).ok(), Some(page));
        let id = IdRow {
            id: 42,
            board: "測試".into(),
            offset: 99,
            ordinal: 6,
        };
        assert_eq!(IdRow::from_wire(&id.to_wire()).ok(), Some(id.clone()));
        assert!(IdRow::from_wire(&row.to_wire()).is_err());
        let mut bad = id.to_wire();
        bad.headers.retain(|(k, _)| k != H_OFFSET);
        assert!(
            IdRow::from_wire(&bad).is_err(),
            "a missing field is an error"
        );
        // A record of another kind is not mistaken for this one.
        assert!(IndexRow::from_wire(&page.to_wire()).is_err());
        assert!(BoardStats::from_wire(&BoardStats::tombstone("NP")).is_err());
    }
}
