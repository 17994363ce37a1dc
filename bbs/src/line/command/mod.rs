//! The classic command language: [`Command`] (what a line asks for), the parser
//! ([`parse::parse`]), the formatter of results ([`format`]) and the executor that runs a
//! command on a [`crate::session::Session`] and renders its output lines ([`exec`]).

pub mod exec;
pub mod format;
pub mod parse;

use crate::model::{Change, Push, SubKind, SubTarget};

/// One command line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A blank line: print nothing.
    Empty,
    /// `register <username> <email> <password>`
    Register {
        /// Username.
        user: String,
        /// Email.
        email: String,
        /// Password.
        password: String,
    },
    /// `login <username> <password>`
    Login {
        /// Username.
        user: String,
        /// Password.
        password: String,
    },
    /// `logout`
    Logout,
    /// `whoami`
    Whoami,
    /// `exit`
    Exit,
    /// `create-board <name>`
    CreateBoard {
        /// Board name (may contain spaces).
        name: String,
    },
    /// `create-post <board> --title <title> --content <content>`
    CreatePost {
        /// Board name.
        board: String,
        /// Title.
        title: String,
        /// Content, `<br>` already turned into `\n`.
        content: String,
    },
    /// `list-board [##<key>]`
    ListBoard {
        /// Substring filter on board names.
        filter: Option<String>,
    },
    /// `list-post <board> [##<key>]`
    ListPost {
        /// Board name.
        board: String,
        /// Substring filter on titles.
        filter: Option<String>,
    },
    /// `search <board> <key>` (extension): `list-post` of the titles containing `key`,
    /// ignoring case and fullwidth forms (see [`crate::search`]); `##<key>` stays the
    /// classic case-sensitive filter.
    Search {
        /// Board name (the first word).
        board: String,
        /// The text looked for (the rest of the line, spaces included).
        key: String,
    },
    /// `read <post-id>`
    Read {
        /// The id as typed (a non-number is a post that does not exist).
        post: String,
    },
    /// `update-post <post-id> --title <new>` / `--content <new>`
    UpdatePost {
        /// The id as typed.
        post: String,
        /// What changes.
        change: Change,
    },
    /// `delete-post <post-id>`
    DeletePost {
        /// The id as typed.
        post: String,
    },
    /// `remove-post <post-id>` (extension): the board's moderator removes a post.
    RemovePost {
        /// The id as typed.
        post: String,
    },
    /// `remove-comment <post-id> <n>` (extension): the moderator removes the n-th comment
    /// (from 1, as `read` lists them).
    RemoveComment {
        /// The id as typed.
        post: String,
        /// The comment number as typed.
        n: String,
    },
    /// `delete-board <name>` (extension): the operator deletes a board.
    DeleteBoard {
        /// The board name (rest of the line).
        board: String,
    },
    /// `disable-user <name>` / `enable-user <name>` (extensions): the operator disables
    /// or enables a user.
    SetUserDisabled {
        /// The user name.
        user: String,
        /// `true` for `disable-user`.
        disabled: bool,
    },
    /// `comment <post-id> <comment>`
    Comment {
        /// The id as typed.
        post: String,
        /// The comment (rest of the line).
        text: String,
    },
    /// `push <post-id> <推|噓|→> <text>` (extension: a reaction with a score)
    Push {
        /// The id as typed.
        post: String,
        /// 推 (+1), 噓 (-1) or → (0).
        push: Push,
        /// The remark (rest of the line).
        text: String,
    },
    /// `mail-to <username> --subject <subject> --content <content>`
    MailTo {
        /// Recipient.
        user: String,
        /// Subject.
        subject: String,
        /// Content, `<br>` already turned into `\n`.
        content: String,
    },
    /// `list-mail`
    ListMail,
    /// `retr-mail <n>`
    RetrMail {
        /// The mail number as typed.
        n: String,
    },
    /// `delete-mail <n>`
    DeleteMail {
        /// The mail number as typed.
        n: String,
    },
    /// `subscribe --board <board> --keyword <kw>` / `--author <author> --keyword <kw>`
    Subscribe {
        /// Board or author.
        target: SubTarget,
        /// Title keyword.
        keyword: String,
    },
    /// `unsubscribe --board <board>` / `--author <author>`
    Unsubscribe {
        /// Board or author.
        target: SubTarget,
    },
    /// `list-sub`
    ListSub,
}

impl Command {
    /// Whether the command's answer depends on the BBS's contents, so the view must catch
    /// up with the server before it runs. Account commands answer from the session and the
    /// server's credential store: a client that logs in at once reads nothing as anonymous.
    pub fn reads_view(&self) -> bool {
        !matches!(
            self,
            Command::Empty
                | Command::Register { .. }
                | Command::Login { .. }
                | Command::Logout
                | Command::Whoami
                | Command::Exit
        )
    }
}

/// Why a line is not a command; `Display` is the line the user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Missing or malformed arguments: the command's format.
    #[error("Usage: {0}")]
    Usage(&'static str),
    /// `subscribe` with missing or contradictory options.
    #[error("[Invalid option] usage: subscribe --{} <{}-name> --keyword <keyword>", .0.word(), .0.word())]
    SubscribeOption(SubKind),
    /// A word that is not a command.
    #[error("Unknown command: {0}")]
    Unknown(String),
}
