//! The messages between the UI thread and the worker that owns the session: [`Request`]s
//! go in (as a [`Wake`], with the record channel's wake-ups), [`Reply`]s come out through an
//! [`Output`]. They carry plain owned data (rows of lists, one post), so the UI never
//! touches the backend and renders only what it was sent. Both halves of the worker
//! (`worker`, the thread loop, and `worker_ops`, the session calls) share these types.

use crate::model::{Change, Millis, PostEvent, PostId, Push, SubTarget};
use crate::prefs::ReadMark;
use crate::session::MailRow;
use crate::state::{Post, Subscription};

/// One row of the board list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardInfo {
    /// Board name.
    pub name: String,
    /// Its creator, shown as moderator.
    pub creator: String,
    /// Live posts on it.
    pub posts: usize,
    /// Live posts by others the user has not read.
    pub unread: usize,
    /// False when `unread` is an upper bound (the read mark is older than the posts the
    /// client holds of a long board): shown with a `+`.
    pub unread_exact: bool,
    /// Time of the newest post (or of creation when empty).
    pub last: Millis,
    /// Pinned on top of the list.
    pub favourite: bool,
}

/// One row of a post list: what the PTT-like columns need, not the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRow {
    /// Global id.
    pub id: PostId,
    /// Sum of push scores.
    pub score: i64,
    /// Creation time.
    pub time: Millis,
    /// Author.
    pub author: String,
    /// Current title.
    pub title: String,
}

impl PostRow {
    /// The row of a post.
    pub fn of(p: &Post) -> PostRow {
        PostRow {
            id: p.id,
            score: p.score,
            time: p.time,
            author: p.author.clone(),
            title: p.title.clone(),
        }
    }
}

/// Which user operation a [`Reply::Done`] or [`Reply::Failed`] answers, so the UI knows
/// where to show the outcome (the login form, the composer, a toast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Logging in.
    Login,
    /// Registering.
    Register,
    /// Creating a board.
    CreateBoard,
    /// Sending something written in the composer (post, comment, push, edit, mail).
    Send,
    /// Deleting a post.
    Delete,
    /// Deleting a mail.
    DeleteMail,
    /// Subscribing or unsubscribing.
    Subscribe,
    /// Anything else (loading lists, saving read marks).
    Other,
}

/// Connection state shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Opening the first connection.
    Connecting,
    /// Connected.
    Online,
    /// The connection failed; retrying (attempt number, last error).
    Reconnecting(u32, String),
}

/// What the UI asks the worker to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Create an account.
    Register {
        /// Username.
        user: String,
        /// Email.
        email: String,
        /// Password.
        password: String,
    },
    /// Log in; on success the worker sends `LoggedIn` and the board list.
    Login {
        /// Username.
        user: String,
        /// Password.
        password: String,
    },
    /// Log out.
    Logout,
    /// Send the board list.
    Boards,
    /// Send a board's posts and read mark; its changes are then pushed live.
    OpenBoard(String),
    /// Send one post and mark it read; its changes are then pushed live.
    OpenPost(PostId),
    /// Send a board's posts again with one more page of older ones (the list reached the
    /// oldest post the client holds of a long board).
    OlderPosts(String),
    /// Send a board's posts again, all of them (a search on a long board covers it whole).
    AllPosts(String),
    /// The post view was closed.
    ClosePost,
    /// Create a board.
    CreateBoard(String),
    /// Create a post.
    Post {
        /// Board.
        board: String,
        /// Title.
        title: String,
        /// Content.
        body: String,
    },
    /// Comment on a post.
    Comment(PostId, String),
    /// Push (推/噓/→) a post.
    Push(PostId, Push, String),
    /// Edit a post (one record per changed field).
    Edit(PostId, Vec<Change>),
    /// Delete a post.
    Delete(PostId),
    /// Remove a post as its board's moderator.
    Remove(PostId),
    /// Remove the n-th comment (from 1) of a post as its board's moderator.
    RemoveComment(PostId, u32),
    /// Mark every post of a board read.
    MarkAllRead(String),
    /// Store the favourites list.
    Favourites(Vec<String>),
    /// Send the mailbox.
    Mails,
    /// Send a mail.
    Mail {
        /// Recipient.
        to: String,
        /// Subject.
        subject: String,
        /// Content.
        body: String,
    },
    /// Delete the mail with this offset.
    DeleteMail(i64),
    /// Send the subscriptions.
    Subs,
    /// Subscribe to a board or author with a keyword.
    Subscribe(SubTarget, String),
    /// Drop every keyword of a target.
    Unsubscribe(SubTarget),
    /// Send who is online.
    Online,
    /// Answer with `Pong` after everything sent before (tests and benches wait on it).
    Ping(u64),
    /// Stop the worker.
    Shutdown,
}

/// What the worker tells the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Connection state changed.
    Conn(ConnState),
    /// Logged in as this user.
    LoggedIn(String),
    /// Logged out.
    LoggedOut,
    /// The board list.
    Boards(Vec<BoardInfo>),
    /// A board's posts (ascending ids) and the user's read mark there.
    Posts {
        /// Board.
        board: String,
        /// Rows in id order.
        rows: Vec<PostRow>,
        /// What the user has read.
        read: ReadMark,
        /// The board has older posts than these (fetched on scroll).
        older: bool,
    },
    /// A board's posts after one more page of older ones was read (answers `OlderPosts`).
    MorePosts {
        /// Board.
        board: String,
        /// Rows in id order, the older ones included.
        rows: Vec<PostRow>,
        /// The board has older posts still.
        older: bool,
    },
    /// The post asked for (or its new state after a change).
    Post(Box<Post>),
    /// A new post appeared on a board.
    NewPost {
        /// Board.
        board: String,
        /// Its row.
        row: PostRow,
    },
    /// A post changed (comment, push, edit) or was deleted (`row` is `None`).
    PostChanged {
        /// Board.
        board: String,
        /// Post id.
        id: PostId,
        /// Its new row, `None` when deleted.
        row: Option<PostRow>,
    },
    /// The mailbox.
    Mails(Vec<MailRow>),
    /// A mail arrived: (from, subject).
    MailArrived(String, String),
    /// The subscriptions.
    Subs(Vec<Subscription>),
    /// A subscription matched a new post.
    Notify(PostEvent),
    /// Who is online.
    Online(Vec<String>),
    /// An operation succeeded, with a message for the user.
    Done(Op, String),
    /// An operation failed, with the message to show.
    Failed(Op, String),
    /// Answer to `Ping`.
    Pong(u64),
}

/// Where replies go (a channel into the UI loop, or a test's receiver).
pub type Output = Box<dyn Fn(Reply) + Send>;

/// What wakes the worker.
pub(super) enum Wake {
    /// A request from the UI.
    Request(Request),
    /// The record channel has something.
    Records,
}

/// The operation a request belongs to, for error placement.
pub(super) fn op_of(req: &Request) -> Op {
    match req {
        Request::Login { .. } => Op::Login,
        Request::Register { .. } => Op::Register,
        Request::CreateBoard(_) => Op::CreateBoard,
        Request::Post { .. }
        | Request::Comment(..)
        | Request::Push(..)
        | Request::Edit(..)
        | Request::Mail { .. } => Op::Send,
        Request::Delete(_) | Request::Remove(_) => Op::Delete,
        Request::DeleteMail(_) => Op::DeleteMail,
        Request::Subscribe(..) | Request::Unsubscribe(_) => Op::Subscribe,
        _ => Op::Other,
    }
}

/// The connection state after `attempt` failures with `err`.
pub(super) fn reconnecting(attempt: u32, err: &crate::Error) -> ConnState {
    ConnState::Reconnecting(attempt, err.to_string())
}
