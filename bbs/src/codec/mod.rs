//! The pure codec between BBS records ([`Entry`]) and Kafka records ([`WireRecord`]: key,
//! value, headers) on the topics of the data model. See `docs/data-model.md` for the same
//! rules in prose. No I/O.
//!
//! Every BBS record carries `bbs.kind`; values and headers are UTF-8. Server-stamped fields
//! (`bbs.time`, and `bbs.id` on posts) are optional on the way in and always present once
//! the record policy has accepted the record.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::model::{Change, Millis, PostId, Push, SubTarget};
use crate::names::{self, TopicKind};

#[cfg(test)]
mod tests;
pub mod view;

/// Header: the record kind (`post`, `comment`, `edit`, `delete`, `remove`, `push`,
/// `board`, `board-delete`, `user`, `disable`, `enable`, `mail`, `mail-delete`,
/// `subscribe`, `unsubscribe`).
pub const H_KIND: &str = "bbs.kind";
/// Header: the author (or creator, sender, owner): must equal the authenticated user.
pub const H_AUTHOR: &str = "bbs.author";
/// Header: a post's title (posts, and title edits).
pub const H_TITLE: &str = "bbs.title";
/// Header: the post a comment, edit, delete or push refers to.
pub const H_POST: &str = "bbs.post";
/// Header: a post's own global id, stamped by the server.
pub const H_ID: &str = "bbs.id";
/// Header: server time in milliseconds since the epoch, stamped by the server.
pub const H_TIME: &str = "bbs.time";
/// Header: what an edit changes (`title` or `content`).
pub const H_FIELD: &str = "bbs.field";
/// Header: the score of a push (`+1`, `-1`, `0`).
pub const H_PUSH: &str = "bbs.push";
/// Header: a mail's subject.
pub const H_SUBJECT: &str = "bbs.subject";
/// Header: a board's topic name (on `bbs.boards`).
pub const H_TOPIC: &str = "bbs.topic";
/// Header: the offset (in the mailbox topic) of the mail a `mail-delete` removes.
pub const H_MAIL: &str = "bbs.mail";
/// Header: on a `remove`, the position (from 1) of the comment removed; absent when the
/// whole post is removed.
pub const H_COMMENT: &str = "bbs.comment";
/// The account name the operator writes moderation records as (the broker's operator
/// principal; the record policy accepts its records on every board).
pub const OPERATOR: &str = safe_text::names::OPERATOR_USER;

/// The key prefix of `disable`/`enable` records on `bbs.users` (account names cannot hold
/// `:`, so these keys never collide with a profile's key, and compaction keeps both).
pub const STATUS_KEY_PREFIX: &str = "status:";

/// A Kafka record as the BBS sees it: everything but offsets and the record timestamp.
/// The BBS layer has its own record type because the same codec and policy run over three
/// sources (the broker's log through `bbs-host`, the client's consumer, the in-memory
/// backend) that each have their own; the bytes are `Bytes`, so building one from any of
/// them shares the buffers instead of copying them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WireRecord {
    /// Record key (`None` = null).
    pub key: Option<Bytes>,
    /// Record value (`None` = null, a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// Headers in order; a header value may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl WireRecord {
    /// The first header named `name`, as UTF-8.
    pub fn header(&self, name: &str) -> Result<Option<&str>> {
        match self.headers.iter().find(|(k, _)| k == name) {
            None | Some((_, None)) => Ok(None),
            Some((_, Some(v))) => std::str::from_utf8(v)
                .map(Some)
                .map_err(|_| Error::Codec(format!("header {name} is not UTF-8"))),
        }
    }
    fn need(&self, name: &str) -> Result<&str> {
        self.header(name)?
            .ok_or_else(|| Error::Codec(format!("missing header {name}")))
    }
    fn value_text(&self) -> Result<String> {
        match &self.value {
            None => Ok(String::new()),
            Some(v) => std::str::from_utf8(v)
                .map(str::to_string)
                .map_err(|_| Error::Codec("value is not UTF-8".into())),
        }
    }
    fn key_text(&self) -> Result<String> {
        let k = self
            .key
            .as_ref()
            .ok_or_else(|| Error::Codec("missing key".into()))?;
        std::str::from_utf8(k)
            .map(str::to_string)
            .map_err(|_| Error::Codec("key is not UTF-8".into()))
    }
    fn push_header(&mut self, name: &str, value: &str) {
        self.headers.push((
            name.to_string(),
            Some(Bytes::copy_from_slice(value.as_bytes())),
        ));
    }
}

/// One BBS record, with the board, mailbox or subscription list it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BbsRecord {
    /// A board was created (`bbs.boards`, key = name).
    Board {
        /// Board name.
        name: String,
        /// Its creator (the moderator in `list-board`).
        creator: String,
    },
    /// A user profile (`bbs.users`, key = username, value = email).
    User {
        /// Username.
        name: String,
        /// Email given at registration.
        email: String,
    },
    /// A new post (`board.<name>`, key = id).
    Post {
        /// Board name.
        board: String,
        /// Global id; `None` until the server stamps it.
        id: Option<PostId>,
        /// Author.
        author: String,
        /// Title (one line).
        title: String,
        /// Content; lines separated by `\n`.
        body: String,
    },
    /// A comment on a post.
    Comment {
        /// Board name.
        board: String,
        /// The post commented on.
        post: PostId,
        /// Who comments.
        author: String,
        /// The comment.
        body: String,
    },
    /// An edit of a post's title or content, by its author.
    Edit {
        /// Board name.
        board: String,
        /// The post edited.
        post: PostId,
        /// Who edits (must be the post's author).
        author: String,
        /// What changes.
        change: Change,
    },
    /// A delete of a post, by its author.
    Delete {
        /// Board name.
        board: String,
        /// The post deleted.
        post: PostId,
        /// Who deletes (must be the post's author).
        author: String,
    },
    /// A moderator (the board's creator) or the operator removes a post, or one of its
    /// comments, on their board: readers no longer see the author's text.
    Remove {
        /// Board name.
        board: String,
        /// The post removed (or whose comment is removed).
        post: PostId,
        /// The comment's position among the post's comments (from 1); `None` = the post.
        comment: Option<u32>,
        /// Who removes (the board's moderator or [`OPERATOR`]).
        author: String,
    },
    /// The operator deletes a board (`bbs.boards`, key = name): it leaves the board list,
    /// its posts are no longer served, and its name is never used again.
    BoardDelete {
        /// Board name.
        name: String,
        /// Who deletes ([`OPERATOR`]).
        author: String,
    },
    /// The operator disables (or enables again) a user (`bbs.users`, key =
    /// `status:<name>`, so compaction keeps it beside the profile): a disabled user cannot
    /// log in or write, and their posts, comments and pushes are hidden.
    UserStatus {
        /// The user.
        name: String,
        /// `true` for `disable`, `false` for `enable`.
        disabled: bool,
        /// Who decides ([`OPERATOR`]).
        author: String,
    },
    /// A push (推/噓/→) on a post.
    Push {
        /// Board name.
        board: String,
        /// The post pushed.
        post: PostId,
        /// Who pushes.
        author: String,
        /// The score.
        push: Push,
        /// The one-line remark.
        body: String,
    },
    /// A mail (`mail.<to>`).
    Mail {
        /// Recipient (the mailbox owner).
        to: String,
        /// Sender.
        from: String,
        /// Subject.
        subject: String,
        /// Content; lines separated by `\n`.
        body: String,
    },
    /// The owner deletes a mail from their mailbox.
    MailDelete {
        /// Mailbox owner.
        owner: String,
        /// Offset of the mail record in `mail.<owner>`.
        mail: i64,
    },
    /// A subscription (`subs.<owner>`, key = `board:<name>` or `author:<name>`).
    Subscribe {
        /// Who subscribes.
        owner: String,
        /// The board or author followed.
        target: SubTarget,
        /// Title keyword (substring, case-sensitive).
        keyword: String,
    },
    /// Removes every keyword of a board or author.
    Unsubscribe {
        /// Who unsubscribes.
        owner: String,
        /// The board or author dropped.
        target: SubTarget,
    },
}

impl BbsRecord {
    /// The user who writes this record (who must be the authenticated principal).
    pub fn actor(&self) -> &str {
        match self {
            BbsRecord::Board { creator, .. } => creator,
            BbsRecord::User { name, .. } => name,
            BbsRecord::Post { author, .. }
            | BbsRecord::Comment { author, .. }
            | BbsRecord::Edit { author, .. }
            | BbsRecord::Delete { author, .. }
            | BbsRecord::Remove { author, .. }
            | BbsRecord::BoardDelete { author, .. }
            | BbsRecord::UserStatus { author, .. }
            | BbsRecord::Push { author, .. } => author,
            BbsRecord::Mail { from, .. } => from,
            BbsRecord::MailDelete { owner, .. }
            | BbsRecord::Subscribe { owner, .. }
            | BbsRecord::Unsubscribe { owner, .. } => owner,
        }
    }

    /// The topic this record lives on.
    pub fn topic(&self) -> Result<String> {
        Ok(match self {
            BbsRecord::Board { .. } | BbsRecord::BoardDelete { .. } => {
                names::BOARDS_TOPIC.to_string()
            }
            BbsRecord::User { .. } | BbsRecord::UserStatus { .. } => names::USERS_TOPIC.to_string(),
            BbsRecord::Post { board, .. }
            | BbsRecord::Comment { board, .. }
            | BbsRecord::Edit { board, .. }
            | BbsRecord::Delete { board, .. }
            | BbsRecord::Remove { board, .. }
            | BbsRecord::Push { board, .. } => names::board_topic(board)?,
            BbsRecord::Mail { to, .. } => names::mail_topic(to)?,
            BbsRecord::MailDelete { owner, .. } => names::mail_topic(owner)?,
            BbsRecord::Subscribe { owner, .. } | BbsRecord::Unsubscribe { owner, .. } => {
                names::subs_topic(owner)?
            }
        })
    }
}

/// A BBS record and its server time (absent until stamped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The record.
    pub record: BbsRecord,
    /// `bbs.time`, stamped by the server.
    pub time: Option<Millis>,
}

impl Entry {
    /// A record not yet stamped.
    pub fn new(record: BbsRecord) -> Entry {
        Entry { record, time: None }
    }
}

/// Encodes an entry as (topic, record).
pub fn encode(entry: &Entry) -> Result<(String, WireRecord)> {
    let topic = entry.record.topic()?;
    let mut w = WireRecord::default();
    let text = |s: &str| Some(Bytes::copy_from_slice(s.as_bytes()));
    let kind = match &entry.record {
        BbsRecord::Board { name, .. } => {
            w.key = text(name);
            w.value = Some(Bytes::new());
            "board"
        }
        BbsRecord::User { name, email } => {
            w.key = text(name);
            w.value = text(email);
            "user"
        }
        BbsRecord::Post { id, body, .. } => {
            w.key = id.map(|i| Bytes::from(i.to_string()));
            w.value = text(body);
            "post"
        }
        BbsRecord::Comment { post, body, .. } => {
            w.key = text(&post.to_string());
            w.value = text(body);
            "comment"
        }
        BbsRecord::Edit { post, change, .. } => {
            w.key = text(&post.to_string());
            w.value = match change {
                Change::Title(_) => Some(Bytes::new()),
                Change::Content(c) => text(c),
            };
            "edit"
        }
        BbsRecord::Delete { post, .. } => {
            w.key = text(&post.to_string());
            w.value = Some(Bytes::new());
            "delete"
        }
        BbsRecord::Remove { post, .. } => {
            w.key = text(&post.to_string());
            w.value = Some(Bytes::new());
            "remove"
        }
        BbsRecord::Push { post, body, .. } => {
            w.key = text(&post.to_string());
            w.value = text(body);
            "push"
        }
        BbsRecord::BoardDelete { name, .. } => {
            w.key = text(name);
            w.value = Some(Bytes::new());
            "board-delete"
        }
        BbsRecord::UserStatus { name, disabled, .. } => {
            w.key = text(&format!("{STATUS_KEY_PREFIX}{name}"));
            w.value = Some(Bytes::new());
            if *disabled {
                "disable"
            } else {
                "enable"
            }
        }
        BbsRecord::Mail { body, .. } => {
            w.value = text(body);
            "mail"
        }
        BbsRecord::MailDelete { .. } => {
            w.value = Some(Bytes::new());
            "mail-delete"
        }
        BbsRecord::Subscribe {
            target, keyword, ..
        } => {
            w.key = text(&target.key());
            w.value = text(keyword);
            "subscribe"
        }
        BbsRecord::Unsubscribe { target, .. } => {
            w.key = text(&target.key());
            w.value = Some(Bytes::new());
            "unsubscribe"
        }
    };
    w.push_header(H_KIND, kind);
    w.push_header(H_AUTHOR, entry.record.actor());
    match &entry.record {
        BbsRecord::Board { name, .. } => w.push_header(H_TOPIC, &names::board_topic(name)?),
        BbsRecord::Post { id, title, .. } => {
            w.push_header(H_TITLE, title);
            if let Some(id) = id {
                w.push_header(H_ID, &id.to_string());
            }
        }
        BbsRecord::Comment { post, .. } | BbsRecord::Delete { post, .. } => {
            w.push_header(H_POST, &post.to_string())
        }
        BbsRecord::Edit { post, change, .. } => {
            w.push_header(H_POST, &post.to_string());
            match change {
                Change::Title(t) => {
                    w.push_header(H_FIELD, "title");
                    w.push_header(H_TITLE, t);
                }
                Change::Content(_) => w.push_header(H_FIELD, "content"),
            }
        }
        BbsRecord::Push { post, push, .. } => {
            w.push_header(H_POST, &post.to_string());
            w.push_header(H_PUSH, push.as_header());
        }
        BbsRecord::Remove { post, comment, .. } => {
            w.push_header(H_POST, &post.to_string());
            if let Some(c) = comment {
                w.push_header(H_COMMENT, &c.to_string());
            }
        }
        BbsRecord::Mail { subject, .. } => w.push_header(H_SUBJECT, subject),
        BbsRecord::MailDelete { mail, .. } => w.push_header(H_MAIL, &mail.to_string()),
        BbsRecord::User { .. }
        | BbsRecord::Subscribe { .. }
        | BbsRecord::Unsubscribe { .. }
        | BbsRecord::BoardDelete { .. }
        | BbsRecord::UserStatus { .. } => {}
    }
    if let Some(t) = entry.time {
        w.push_header(H_TIME, &t.to_string());
    }
    Ok((topic, w))
}

fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| Error::Codec(format!("{what} is not a number: {s:?}")))
}

/// Decodes a record read from (or produced to) `topic`.
pub fn decode(topic: &str, w: &WireRecord) -> Result<Entry> {
    let kind = w.need(H_KIND)?;
    let author = || w.need(H_AUTHOR).map(str::to_string);
    let post = || number::<PostId>(w.need(H_POST)?, H_POST);
    let time = w.header(H_TIME)?.map(|t| number(t, H_TIME)).transpose()?;
    let wrong = || Error::Codec(format!("a {kind} record does not belong on {topic}"));
    let record = match (names::classify(topic), kind) {
        (TopicKind::Boards, "board") => {
            let name = w.key_text()?;
            let topic_header = w.need(H_TOPIC)?;
            if names::board_topic(&name).ok().as_deref() != Some(topic_header) {
                return Err(Error::Codec(format!(
                    "{H_TOPIC} {topic_header:?} is not the topic of board {name:?}"
                )));
            }
            BbsRecord::Board {
                name,
                creator: author()?,
            }
        }
        (TopicKind::Users, "user") => {
            let name = w.key_text()?;
            if author()? != name {
                return Err(Error::Codec("a profile's author must be its user".into()));
            }
            BbsRecord::User {
                name,
                email: w.value_text()?,
            }
        }
        (TopicKind::Boards, "board-delete") => BbsRecord::BoardDelete {
            name: w.key_text()?,
            author: author()?,
        },
        (TopicKind::Users, kind @ ("disable" | "enable")) => {
            let key = w.key_text()?;
            let name = key.strip_prefix(STATUS_KEY_PREFIX).ok_or_else(|| {
                Error::Codec(format!(
                    "the key of a {kind} record is {STATUS_KEY_PREFIX}<user>"
                ))
            })?;
            BbsRecord::UserStatus {
                name: name.to_string(),
                disabled: kind == "disable",
                author: author()?,
            }
        }
        (TopicKind::Board(board), "post") => BbsRecord::Post {
            board,
            id: w.header(H_ID)?.map(|i| number(i, H_ID)).transpose()?,
            author: author()?,
            title: w.need(H_TITLE)?.to_string(),
            body: w.value_text()?,
        },
        (TopicKind::Board(board), "comment") => BbsRecord::Comment {
            board,
            post: post()?,
            author: author()?,
            body: w.value_text()?,
        },
        (TopicKind::Board(board), "edit") => BbsRecord::Edit {
            board,
            post: post()?,
            author: author()?,
            change: match w.need(H_FIELD)? {
                "title" => Change::Title(w.need(H_TITLE)?.to_string()),
                "content" => Change::Content(w.value_text()?),
                other => return Err(Error::Codec(format!("unknown {H_FIELD} {other:?}"))),
            },
        },
        (TopicKind::Board(board), "delete") => BbsRecord::Delete {
            board,
            post: post()?,
            author: author()?,
        },
        (TopicKind::Board(board), "remove") => BbsRecord::Remove {
            board,
            post: post()?,
            comment: w
                .header(H_COMMENT)?
                .map(|c| number(c, H_COMMENT))
                .transpose()?,
            author: author()?,
        },
        (TopicKind::Board(board), "push") => BbsRecord::Push {
            board,
            post: post()?,
            author: author()?,
            push: Push::from_header(w.need(H_PUSH)?)
                .ok_or_else(|| Error::Codec(format!("bad {H_PUSH}")))?,
            body: w.value_text()?,
        },
        (TopicKind::Mail(to), "mail") => BbsRecord::Mail {
            to,
            from: author()?,
            subject: w.need(H_SUBJECT)?.to_string(),
            body: w.value_text()?,
        },
        (TopicKind::Mail(owner), "mail-delete") => BbsRecord::MailDelete {
            owner,
            mail: number(w.need(H_MAIL)?, H_MAIL)?,
        },
        (TopicKind::Subs(owner), "subscribe" | "unsubscribe") => {
            let target = SubTarget::from_key(&w.key_text()?)
                .ok_or_else(|| Error::Codec("key must be board:<name> or author:<name>".into()))?;
            if kind == "subscribe" {
                BbsRecord::Subscribe {
                    owner,
                    target,
                    keyword: w.value_text()?,
                }
            } else {
                BbsRecord::Unsubscribe { owner, target }
            }
        }
        _ => return Err(wrong()),
    };
    let entry = Entry { record, time };
    // Records whose author header disagrees with the topic owner are malformed.
    match &entry.record {
        BbsRecord::MailDelete { owner, .. }
        | BbsRecord::Subscribe { owner, .. }
        | BbsRecord::Unsubscribe { owner, .. }
            if author()? != *owner =>
        {
            Err(Error::Codec(format!(
                "only {owner} writes {kind} records on {topic}"
            )))
        }
        _ => Ok(entry),
    }
}
