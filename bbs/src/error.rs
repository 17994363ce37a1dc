//! The crate's one error type, and the user-visible refusals of the command language.
//!
//! A [`Failure`] is an expected outcome a user is told about in words fixed by the classic
//! command language (`Please login first.`); its `Display` is exactly that line. Everything
//! else (a broken backend, an undecodable record) is an [`Error`] of another variant.

/// A refusal the user sees; `Display` gives the exact line of the command language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The command needs a logged-in user.
    #[error("Please login first.")]
    NotLoggedIn,
    /// `login` while already logged in.
    #[error("Please logout first.")]
    AlreadyLoggedIn,
    /// Unknown user or wrong password.
    #[error("Login failed.")]
    LoginFailed,
    /// `register` with a name that exists.
    #[error("Username is already used.")]
    UsernameTaken,
    /// `create-board` with a name that exists.
    #[error("Board already exist.")]
    BoardExists,
    /// A board that does not exist.
    #[error("Board does not exist.")]
    NoSuchBoard,
    /// A post that never existed or was deleted.
    #[error("Post does not exist.")]
    NoSuchPost,
    /// Editing or deleting someone else's post.
    #[error("Not the post owner.")]
    NotOwner,
    /// Removing a post or comment on a board one does not moderate.
    #[error("Not the board moderator.")]
    NotModerator,
    /// An operator-only action (`delete-board`, `disable-user`) by someone else.
    #[error("Not the operator.")]
    NotOperator,
    /// A comment number that the post does not have.
    #[error("No such comment.")]
    NoSuchComment,
    /// Mail to a user that does not exist.
    #[error("{0} does not exist.")]
    NoSuchUser(String),
    /// A mail number that is not in the mailbox.
    #[error("No such mail.")]
    NoSuchMail,
    /// The same (board or author, keyword) pair twice.
    #[error("Already subscribed.")]
    AlreadySubscribed,
    /// `unsubscribe` of a board or author with no subscription.
    #[error("You haven't subscribed {0}.")]
    NotSubscribed(String),
    /// A name that cannot be stored (too long for a topic name once encoded, or empty).
    #[error("Invalid name: {0}.")]
    BadName(String),
    /// Any other record-policy violation, with the policy's message.
    #[error("{0}")]
    Policy(String),
}

/// Everything that can go wrong in the bbs crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An expected refusal, shown to the user as its exact line.
    #[error(transparent)]
    Refused(#[from] Failure),
    /// A record that does not follow the data model.
    #[error("bad bbs record: {0}")]
    Codec(String),
    /// The transport to the broker failed.
    #[error("backend: {0}")]
    Backend(String),
    /// Terminal or socket I/O failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
