//! What a session needs from the world: a [`Backend`] opens one [`Link`] per session. A
//! link registers and logs in (on the Kafka backend: SCRAM credentials, then a SASL
//! connection as that user), appends records (through the server's record policy), reads
//! the [`State`] it folds from what it consumes, and delivers live [`PostEvent`]s to a sink.
//!
//! [`memory::MemoryBackend`] implements it in process for tests and demos; the Kafka
//! backend ([`kafka`]: producer and group consumer of `client`, the kafka-client crate)
//! implements the same traits.

pub mod kafka;
pub mod memory;

use std::sync::Arc;

use crate::codec::Entry;
use crate::error::{Error, Result};
use crate::model::PostEvent;
use crate::prefs::{ReadMark, UserPrefs};
use crate::state::State;

/// Receives every new post as it is appended, from whatever thread the backend uses. It
/// must not block (push onto a channel).
pub type EventSink = Arc<dyn Fn(&PostEvent) + Send + Sync>;

/// Receives every record the link's view folds in (posts, comments, pushes, edits, deletes,
/// boards, mail, ...), after it is folded, from whatever thread the backend uses. It must
/// not block. The TUI uses it to refresh what is on screen without polling.
pub type RecordSink = Arc<dyn Fn(&Entry) + Send + Sync>;

fn unsupported(what: &str) -> Error {
    Error::Backend(format!("this backend does not support {what}"))
}

/// Opens session links.
pub trait Backend: Send + Sync {
    /// A new link, logged out.
    fn connect(&self) -> Result<Box<dyn Link>>;

    /// This backend acting for a real client at `peer` (the classic port's person), so
    /// the server applies its login and registration limits to that address; `None`
    /// when the backend has no way to say so (its links then count as its own address).
    fn for_peer(&self, _peer: std::net::SocketAddr) -> Option<Arc<dyn Backend>> {
        None
    }
}

/// A part of the BBS a link's view may not hold yet (a link may read long boards only from
/// their newest posts, see [`State::window`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Every post of a board (`list-post`).
    Board(String),
    /// A post, with its comments (`read`, `comment`, ...), wherever it is.
    Post(crate::model::PostId),
    /// One page of posts older than the oldest held of a board (scrolling back).
    Older(String),
}

/// What the policy accepted for one append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Topic written.
    pub topic: String,
    /// Offset of the record.
    pub offset: i64,
    /// The record as stamped by the server (post id, time).
    pub entry: Entry,
}

/// One session's connection to the BBS.
pub trait Link: Send {
    /// Creates an account. `Failure::UsernameTaken` if the name exists.
    fn register(&mut self, user: &str, email: &str, password: &str) -> Result<()>;
    /// Authenticates as `user`. `Failure::LoginFailed` on a bad name or password.
    fn login(&mut self, user: &str, password: &str) -> Result<()>;
    /// Drops back to anonymous.
    fn logout(&mut self) -> Result<()>;
    /// Appends a record as the logged-in user (or anonymously). The server's policy may
    /// refuse it (`Error::Refused`). When this returns, the view reflects the record.
    fn append(&mut self, entry: Entry) -> Result<Appended>;
    /// Runs `f` on the current view: public boards, and the logged-in user's mail and
    /// subscriptions.
    fn with_view(&self, f: &mut dyn FnMut(&State));
    /// Installs the sink for live post events (replacing any earlier one).
    fn set_event_sink(&mut self, sink: EventSink);
    /// Waits until the view reflects everything the server stored before the call
    /// (others' writes too). The command language calls it before each command; a backend
    /// whose view is always current does nothing.
    fn sync(&self) -> Result<()> {
        Ok(())
    }

    // Added for the TUI. The defaults say "unsupported" so that a backend written before
    // them still builds; the TUI then degrades (no record sink: no live refresh of comments
    // and pushes; no prefs: unread state is not kept).

    /// Installs the sink that sees every record folded into the view (replacing any
    /// earlier one).
    fn set_record_sink(&mut self, _sink: RecordSink) {}
    /// Makes the view hold `need` before a command reads it. A backend whose view holds
    /// everything has nothing to do; a missing post or board is not an error here (the
    /// command reading the view says so).
    fn load(&self, _need: Need) -> Result<()> {
        Ok(())
    }
    /// The logged-in user's read marks and favourites (empty for a new user).
    fn prefs(&self) -> Result<UserPrefs> {
        Err(unsupported("per-user state"))
    }
    /// Stores the logged-in user's read mark for `board` (on Kafka: a committed offset).
    fn put_read_mark(&mut self, _board: &str, _mark: &ReadMark) -> Result<()> {
        Err(unsupported("read marks"))
    }
    /// Stores the logged-in user's favourite boards, in order.
    fn put_favourites(&mut self, _boards: &[String]) -> Result<()> {
        Err(unsupported("favourites"))
    }
    /// Users logged in right now, sorted, without duplicates.
    fn online(&self) -> Result<Vec<String>> {
        Err(unsupported("the online list"))
    }
}
