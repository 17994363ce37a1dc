//! The state fold: the BBS state as seen by a reader, a pure reducer that folds decoded
//! records into boards, posts (with comments, pushes, edits applied and deletes marked),
//! users, mailboxes and subscriptions. The same fold runs in the server (for the record
//! policy) and in every client (for its screens); it is deterministic and never fails:
//! records that break the rules (a comment on an unknown post, a delete by a stranger) are
//! ignored. (Drawing is [`crate::tui::view`]; this is the data it is drawn from.)
//!
//! Records of different topics may arrive in any interleaving (Kafka orders only within a
//! partition), so nothing here depends on cross-topic order: posts are kept per board even
//! before the board's metadata arrives.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::codec::view::BoardStats;
use crate::codec::{BbsRecord, Entry};
use crate::model::{Change, Millis, PostId, Push, SubKind, SubTarget};

#[cfg(test)]
mod tests;
pub mod views;
pub mod window;

pub use window::{BoardSummary, Unread, Window};

/// Where a record sits in its topic (the reducer's only input besides the record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Offset within its topic (mail numbers refer to mails by this).
    pub offset: i64,
    /// The Kafka record timestamp, used when the record carries no `bbs.time`.
    pub timestamp: Millis,
}

/// A board, from `bbs.boards`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Board {
    /// Its name.
    pub name: String,
    /// Who created it (shown as moderator).
    pub creator: String,
    /// When it was created.
    pub time: Millis,
}

/// A comment on a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Who wrote it.
    pub author: String,
    /// What it says.
    pub body: String,
    /// When.
    pub time: Millis,
}

/// A push on a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEntry {
    /// Who pushed.
    pub author: String,
    /// 推, 噓 or →.
    pub push: Push,
    /// The remark.
    pub body: String,
    /// When.
    pub time: Millis,
}

/// A post with everything that happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Global id.
    pub id: PostId,
    /// The board it is on.
    pub board: String,
    /// Its author.
    pub author: String,
    /// Current title (after edits).
    pub title: String,
    /// Current content (after edits).
    pub body: String,
    /// Creation time.
    pub time: Millis,
    /// Offset of the post's record in its board's topic (the views point readers there).
    pub offset: i64,
    /// Comments in order.
    pub comments: Vec<Comment>,
    /// Pushes in order.
    pub pushes: Vec<PushEntry>,
    /// Sum of push scores.
    pub score: i64,
    /// Time of the last edit, if edited.
    pub edited: Option<Millis>,
    /// Deleted posts are kept (so their id is never reused and late references are ignored)
    /// but are not shown.
    pub deleted: bool,
    /// Who removed the post (its board's moderator or the operator), if removed: the post
    /// stays listed (so ids and comments keep their place) but its title and content are
    /// replaced by [`REMOVED_TITLE`] / [`removed_body`], so no client serves the author's
    /// text.
    pub removed_by: Option<String>,
}

/// The title a removed post shows instead of its own.
pub const REMOVED_TITLE: &str = "[removed by the moderator]";
/// The text a removed comment shows instead of its own.
pub const REMOVED_COMMENT: &str = "[removed by the moderator]";

/// The content a post removed by `by` shows instead of its own.
pub fn removed_body(by: &str) -> String {
    format!("This post was removed by the moderator ({by}).")
}

/// A mail in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Offset of the mail record in the mailbox topic: its stable identity.
    pub offset: i64,
    /// Sender.
    pub from: String,
    /// Subject.
    pub subject: String,
    /// Content.
    pub body: String,
    /// Arrival time.
    pub time: Millis,
}

/// A user profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Username.
    pub name: String,
    /// Email.
    pub email: String,
    /// Registration time.
    pub time: Millis,
}

/// The keywords one user follows for one board or author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The board or author.
    pub target: SubTarget,
    /// Keywords in the order they were added.
    pub keywords: Vec<String>,
}

/// The whole BBS state built from records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Boards in creation order (the index of `list-board` is position + 1).
    boards: Vec<Board>,
    /// Board name → position in `boards`.
    board_pos: HashMap<String, usize>,
    /// All posts ever made, deleted ones included.
    posts: BTreeMap<PostId, Post>,
    /// Board name → its post ids in id order.
    board_posts: HashMap<String, Vec<PostId>>,
    /// Registered users.
    users: BTreeMap<String, User>,
    /// Owner → live mails in arrival order.
    mailboxes: HashMap<String, Vec<Mail>>,
    /// Owner → subscriptions in the order their target was first subscribed.
    subs: HashMap<String, Vec<Subscription>>,
    /// The largest post id seen: the server's counter restarts from here.
    max_post_id: PostId,
    /// Boards the operator deleted: gone from the list, their posts no longer served, and
    /// their names never used again (so a new board cannot resurrect old posts).
    deleted_boards: HashSet<String>,
    /// Users the operator disabled: they cannot log in or write, and what they wrote
    /// (posts, comments, pushes) is hidden until they are enabled again.
    disabled: HashSet<String>,
    /// Boards of which this reader holds only the newest part ([`window`]); every other
    /// board is held whole.
    windows: HashMap<String, Window>,
    /// The server's statistics of each board (`bbs.stats`), for what a windowed board's
    /// list shows of the posts it does not hold.
    stats: HashMap<String, BoardStats>,
}

impl State {
    /// An empty state.
    pub fn new() -> State {
        State::default()
    }

    /// Folds one record in.
    pub fn apply(&mut self, at: Position, entry: &Entry) {
        let time = entry.time.unwrap_or(at.timestamp);
        match &entry.record {
            BbsRecord::Board { name, creator } => {
                if !self.board_pos.contains_key(name) && !self.deleted_boards.contains(name) {
                    self.board_pos.insert(name.clone(), self.boards.len());
                    self.boards.push(Board {
                        name: name.clone(),
                        creator: creator.clone(),
                        time,
                    });
                }
            }
            BbsRecord::User { name, email } => {
                let user = self.users.entry(name.clone()).or_insert_with(|| User {
                    name: name.clone(),
                    email: String::new(),
                    time,
                });
                user.email = email.clone();
            }
            BbsRecord::Post {
                board,
                id: Some(id),
                author,
                title,
                body,
            } => {
                if self.posts.contains_key(id) {
                    return;
                }
                self.max_post_id = self.max_post_id.max(*id);
                self.posts.insert(
                    *id,
                    Post {
                        id: *id,
                        board: board.clone(),
                        author: author.clone(),
                        title: title.clone(),
                        body: body.clone(),
                        time,
                        offset: at.offset,
                        comments: Vec::new(),
                        pushes: Vec::new(),
                        score: 0,
                        edited: None,
                        deleted: false,
                        removed_by: None,
                    },
                );
                let ids = self.board_posts.entry(board.clone()).or_default();
                let at = ids.partition_point(|p| p < id);
                ids.insert(at, *id);
            }
            // A post without an id was never accepted by a server: ignore it.
            BbsRecord::Post { id: None, .. } => {}
            BbsRecord::Comment {
                board,
                post,
                author,
                body,
            } => {
                if let Some(p) = self.live_post_on_mut(board, *post) {
                    p.comments.push(Comment {
                        author: author.clone(),
                        body: body.clone(),
                        time,
                    });
                }
            }
            BbsRecord::Push {
                board,
                post,
                author,
                push,
                body,
            } => {
                if let Some(p) = self.live_post_on_mut(board, *post) {
                    p.score += push.score();
                    p.pushes.push(PushEntry {
                        author: author.clone(),
                        push: *push,
                        body: body.clone(),
                        time,
                    });
                }
            }
            BbsRecord::Edit {
                board,
                post,
                author,
                change,
            } => {
                if let Some(p) = self.live_post_on_mut(board, *post) {
                    if p.author == *author && p.removed_by.is_none() {
                        match change {
                            Change::Title(t) => p.title = t.clone(),
                            Change::Content(c) => p.body = c.clone(),
                        }
                        p.edited = Some(time);
                    }
                }
            }
            BbsRecord::Delete {
                board,
                post,
                author,
            } => {
                if let Some(p) = self.live_post_on_mut(board, *post) {
                    if p.author == *author {
                        p.deleted = true;
                    }
                }
            }
            BbsRecord::Remove {
                board,
                post,
                comment,
                author,
            } => self.remove(board, *post, *comment, author),
            BbsRecord::BoardDelete { name, author } => {
                if author == crate::codec::OPERATOR {
                    self.delete_board(name);
                }
            }
            BbsRecord::UserStatus {
                name,
                disabled,
                author,
            } => {
                if author == crate::codec::OPERATOR {
                    if *disabled {
                        self.disabled.insert(name.clone());
                    } else {
                        self.disabled.remove(name);
                    }
                }
            }
            BbsRecord::Mail {
                to,
                from,
                subject,
                body,
            } => self.mailboxes.entry(to.clone()).or_default().push(Mail {
                offset: at.offset,
                from: from.clone(),
                subject: subject.clone(),
                body: body.clone(),
                time,
            }),
            BbsRecord::MailDelete { owner, mail } => {
                if let Some(b) = self.mailboxes.get_mut(owner) {
                    b.retain(|m| m.offset != *mail);
                }
            }
            BbsRecord::Subscribe {
                owner,
                target,
                keyword,
            } => {
                let subs = self.subs.entry(owner.clone()).or_default();
                match subs.iter_mut().find(|s| s.target == *target) {
                    Some(s) if s.keywords.contains(keyword) => {}
                    Some(s) => s.keywords.push(keyword.clone()),
                    None => subs.push(Subscription {
                        target: target.clone(),
                        keywords: vec![keyword.clone()],
                    }),
                }
            }
            BbsRecord::Unsubscribe { owner, target } => {
                if let Some(subs) = self.subs.get_mut(owner) {
                    subs.retain(|s| s.target != *target);
                }
            }
        }
    }

    /// Applies a moderator's removal when `by` may moderate `board` (its creator or the
    /// operator). A board whose record has not arrived yet (topics interleave freely) is
    /// trusted to the server's policy, which checked the remover before writing.
    fn remove(&mut self, board: &str, post: PostId, comment: Option<u32>, by: &str) {
        let allowed =
            by == crate::codec::OPERATOR || self.board(board).is_none_or(|b| b.creator == by);
        if !allowed {
            return;
        }
        let Some(p) = self.live_post_on_mut(board, post) else {
            return;
        };
        match comment {
            None => {
                p.title = REMOVED_TITLE.to_string();
                p.body = removed_body(by);
                p.removed_by = Some(by.to_string());
            }
            Some(n) => {
                let at = (n as usize).checked_sub(1);
                if let Some(c) = at.and_then(|i| p.comments.get_mut(i)) {
                    c.body = REMOVED_COMMENT.to_string();
                }
            }
        }
    }

    /// The operator deletes `name`: the remaining boards move up (the classic index is
    /// the position among live boards, which compaction of `bbs.boards` keeps), and the
    /// name is remembered even when its board record is not (compacted away).
    fn delete_board(&mut self, name: &str) {
        self.deleted_boards.insert(name.to_string());
        if self.board_pos.remove(name).is_some() {
            self.boards.retain(|b| b.name != name);
            self.board_pos = self
                .boards
                .iter()
                .enumerate()
                .map(|(i, b)| (b.name.clone(), i))
                .collect();
        }
    }

    fn live_post_on_mut(&mut self, board: &str, id: PostId) -> Option<&mut Post> {
        self.posts
            .get_mut(&id)
            .filter(|p| !p.deleted && p.board == board)
    }

    /// Boards in creation order.
    pub fn boards(&self) -> &[Board] {
        &self.boards
    }

    /// A board by name.
    pub fn board(&self, name: &str) -> Option<&Board> {
        self.board_pos.get(name).map(|&i| &self.boards[i])
    }

    /// A post that exists, is not deleted, is not on a deleted board and whose author is
    /// not disabled. Its comments and pushes are all there (comment numbers in `remove`
    /// records count them all); show it through [`State::shown`].
    pub fn live_post(&self, id: PostId) -> Option<&Post> {
        self.posts.get(&id).filter(|p| {
            !p.deleted
                && !self.deleted_boards.contains(&p.board)
                && !self.disabled.contains(&p.author)
        })
    }

    /// A post as readers see it: without the comments and pushes of disabled users (the
    /// score counts only the pushes shown).
    pub fn shown(&self, p: &Post) -> Post {
        let mut out = p.clone();
        if self.disabled.is_empty() {
            return out;
        }
        out.comments.retain(|c| !self.disabled.contains(&c.author));
        out.pushes.retain(|x| !self.disabled.contains(&x.author));
        out.score = out.pushes.iter().map(|x| x.push.score()).sum();
        out
    }

    /// [`State::live_post`] as readers see it ([`State::shown`]).
    pub fn shown_post(&self, id: PostId) -> Option<Post> {
        self.live_post(id).map(|p| self.shown(p))
    }

    /// The position (from 1) among all of a post's comments of the `n`-th comment shown
    /// to readers (comments of disabled users are not shown, so numbers differ).
    pub fn comment_position(&self, p: &Post, n: usize) -> Option<u32> {
        let real = p
            .comments
            .iter()
            .enumerate()
            .filter(|(_, c)| !self.disabled.contains(&c.author))
            .nth(n.checked_sub(1)?)?
            .0;
        u32::try_from(real + 1).ok()
    }

    /// Whether the operator deleted a board of this name (it can never be created again).
    pub fn board_deleted(&self, name: &str) -> bool {
        self.deleted_boards.contains(name)
    }

    /// Whether the operator disabled this user.
    pub fn is_disabled(&self, user: &str) -> bool {
        self.disabled.contains(user)
    }

    /// Any post ever made, deleted or not.
    pub fn any_post(&self, id: PostId) -> Option<&Post> {
        self.posts.get(&id)
    }

    /// Live posts of a board in id order.
    pub fn board_posts(&self, board: &str) -> impl Iterator<Item = &Post> {
        self.board_posts
            .get(board)
            .into_iter()
            .flatten()
            .filter_map(|id| self.live_post(*id))
    }

    /// Every post id ever made on a board (deleted ones included), in id order, which is
    /// also the order of their records in the board's topic.
    pub fn board_post_ids(&self, board: &str) -> &[PostId] {
        self.board_posts
            .get(board)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Every post ever made, deleted or not, in id order.
    pub fn all_posts(&self) -> impl Iterator<Item = &Post> {
        self.posts.values()
    }

    /// The largest post id ever assigned (0 when none).
    pub fn max_post_id(&self) -> PostId {
        self.max_post_id
    }

    /// A registered user.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }

    /// A user's live mails in arrival order (mail number = position + 1).
    pub fn mailbox(&self, owner: &str) -> &[Mail] {
        self.mailboxes.get(owner).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A user's subscriptions in the order their targets were first subscribed.
    pub fn subscriptions(&self, owner: &str) -> &[Subscription] {
        self.subs.get(owner).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The subscriptions of `owner` that a post matches: on a subscribed board or by a
    /// subscribed author, with a keyword that is a substring of the title.
    pub fn matching<'a>(
        &'a self,
        owner: &str,
        board: &'a str,
        author: &'a str,
        title: &'a str,
    ) -> impl Iterator<Item = (&'a SubTarget, &'a str)> + 'a {
        self.subscriptions(owner)
            .iter()
            .filter(move |s| match s.target.kind {
                SubKind::Board => s.target.name == board,
                SubKind::Author => s.target.name == author,
            })
            .flat_map(|s| s.keywords.iter().map(move |k| (&s.target, k.as_str())))
            .filter(move |(_, k)| title.contains(k))
    }
}
