//! Domain vocabulary shared by the codec, the state fold, the policy and the session: post ids,
//! pushes, edits and subscription targets. Plain data, no I/O.

use std::fmt;

/// A global post id: assigned by the server, from 1, in creation order across all boards,
/// never reused.
pub type PostId = u64;

/// Milliseconds since the Unix epoch, as stamped by the server.
pub type Millis = i64;

/// A push (a one-line reaction with a score) on a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Push {
    /// 推: +1.
    Up,
    /// 噓: -1.
    Down,
    /// →: 0, a plain remark.
    Arrow,
}

impl Push {
    /// The score the push adds to the post.
    pub fn score(self) -> i64 {
        match self {
            Push::Up => 1,
            Push::Down => -1,
            Push::Arrow => 0,
        }
    }
    /// The `bbs.push` header value.
    pub fn as_header(self) -> &'static str {
        match self {
            Push::Up => "+1",
            Push::Down => "-1",
            Push::Arrow => "0",
        }
    }
    /// Parses a `bbs.push` header value.
    pub fn from_header(s: &str) -> Option<Push> {
        match s {
            "+1" => Some(Push::Up),
            "-1" => Some(Push::Down),
            "0" => Some(Push::Arrow),
            _ => None,
        }
    }
    /// The symbol shown in front of the push line.
    pub fn symbol(self) -> &'static str {
        match self {
            Push::Up => "推",
            Push::Down => "噓",
            Push::Arrow => "→",
        }
    }
}

/// What an edit changes: the title or the content of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new title.
    Title(String),
    /// A new content (the body).
    Content(String),
}

/// Whether a subscription follows a board or an author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubKind {
    /// New posts on a board.
    Board,
    /// New posts by an author.
    Author,
}

impl SubKind {
    /// The word used in keys, options and `list-sub`.
    pub fn word(self) -> &'static str {
        match self {
            SubKind::Board => "board",
            SubKind::Author => "author",
        }
    }
}

/// A board or an author someone subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubTarget {
    /// Board or author.
    pub kind: SubKind,
    /// The board name or username.
    pub name: String,
}

impl SubTarget {
    /// A board target.
    pub fn board(name: &str) -> Self {
        SubTarget {
            kind: SubKind::Board,
            name: name.to_string(),
        }
    }
    /// An author target.
    pub fn author(name: &str) -> Self {
        SubTarget {
            kind: SubKind::Author,
            name: name.to_string(),
        }
    }
    /// The record key: `board:<name>` or `author:<name>`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind.word(), self.name)
    }
    /// Parses a record key.
    pub fn from_key(key: &str) -> Option<SubTarget> {
        let (kind, name) = key.split_once(':')?;
        let kind = match kind {
            "board" => SubKind::Board,
            "author" => SubKind::Author,
            _ => return None,
        };
        (!name.is_empty()).then(|| SubTarget {
            kind,
            name: name.to_string(),
        })
    }
}

impl fmt::Display for SubTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A new post as announced to live sessions (the input of subscription notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostEvent {
    /// The board it was posted on.
    pub board: String,
    /// Its global id.
    pub id: PostId,
    /// Its title.
    pub title: String,
    /// Who posted it.
    pub author: String,
}
