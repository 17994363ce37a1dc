//! What the worker does for each request and each record the link saw: the session calls,
//! and the rows sent back. Runs only on the worker thread (see [`super::worker`]).

use std::sync::mpsc::Sender;
use std::sync::Arc;

use super::msg::{
    op_of, reconnecting, BoardInfo, ConnState, Op, Output, PostRow, Reply, Request, Wake,
};
use crate::backend::Backend;
use crate::codec::{BbsRecord, Entry};
use crate::error::{Error, Result};
use crate::model::{PostEvent, PostId};
use crate::prefs::UserPrefs;
use crate::session::Session;

/// The worker's state.
pub(super) struct Worker {
    /// Opens links (again, after a failure).
    backend: Arc<dyn Backend>,
    /// Replies out.
    out: Output,
    /// Where the record sink sends records.
    rec_tx: Sender<Entry>,
    /// Wakes the worker loop when a record arrives.
    wake: Sender<Wake>,
    /// The session, once connected.
    session: Option<Session>,
    /// Name and password of the logged-in user, to log in again after a reconnect.
    creds: Option<(String, String)>,
    /// The user's read marks and favourites (the worker's copy; the backend's is the truth).
    prefs: UserPrefs,
    /// The post the UI shows: its changes are sent in full.
    open_post: Option<PostId>,
    /// `Some(n)` while disconnected after `n` failed attempts.
    retry: Option<u32>,
    /// Why the last connection attempt or request failed (for "server unreachable").
    last_error: String,
}

/// What a send that could not reach the server says: short, complete, and what happens to
/// the text.
pub(super) fn not_sent(why: &str) -> String {
    let why = why.strip_prefix("backend: ").unwrap_or(why);
    format!("Not sent ({why}); kept as a draft.")
}

fn message(e: &Error) -> String {
    match e {
        Error::Refused(f) => f.to_string(),
        other => other.to_string(),
    }
}

impl Worker {
    pub(super) fn new(
        backend: Arc<dyn Backend>,
        out: Output,
        rec_tx: Sender<Entry>,
        wake: Sender<Wake>,
    ) -> Worker {
        Worker {
            backend,
            out,
            rec_tx,
            wake,
            session: None,
            creds: None,
            prefs: UserPrefs::default(),
            open_post: None,
            retry: None,
            last_error: String::new(),
        }
    }

    pub(super) fn send(&self, r: Reply) {
        (self.out)(r);
    }

    /// `Some(attempt)` while a reconnect is pending.
    pub(super) fn retry_attempt(&self) -> Option<u32> {
        self.retry
    }

    /// The last connection error.
    pub(super) fn last_error(&self) -> String {
        self.last_error.clone()
    }

    /// What to tell the user about a request made while disconnected.
    pub(super) fn offline_message(&self) -> String {
        format!(
            "Server unreachable ({}); retrying. Nothing was sent.",
            self.last_error
        )
    }

    /// Opens the first link.
    pub(super) fn connect(&mut self) {
        self.send(Reply::Conn(ConnState::Connecting));
        self.reconnect();
    }

    /// Opens a link (and logs in again if a user was logged in).
    pub(super) fn reconnect(&mut self) {
        match self.open() {
            Ok(()) => {
                if self.retry.take().is_some() {
                    tracing::info!("reconnected");
                }
                self.send(Reply::Conn(ConnState::Online));
            }
            Err(e) => {
                let attempt = self.retry.map_or(1, |a| a + 1);
                tracing::warn!(attempt, error = %e, "cannot reach the server");
                self.retry = Some(attempt);
                self.last_error = e.to_string();
                self.session = None;
                self.send(Reply::Conn(reconnecting(attempt, &e)));
            }
        }
    }

    fn open(&mut self) -> Result<()> {
        let mut session = Session::new(self.backend.connect()?);
        let rec_tx = self.rec_tx.clone();
        let wake = self.wake.clone();
        session.set_record_sink(Arc::new(move |e: &Entry| {
            if rec_tx.send(e.clone()).is_ok() {
                let _ = wake.send(Wake::Records);
            }
        }));
        if let Some((user, password)) = self.creds.clone() {
            session.login(&user, &password)?;
        }
        self.session = Some(session);
        Ok(())
    }

    /// Logs out and drops the link.
    pub(super) fn close(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.close();
        }
        self.session = None;
    }

    fn me(&self) -> String {
        self.creds.as_ref().map(|c| c.0.clone()).unwrap_or_default()
    }

    /// While idle: checks that the link still reaches the server, so the status bar says
    /// "reconnecting" when the server goes away even if the user is only reading.
    pub(super) fn health_check(&mut self) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        if let Err(e) = session.check_link() {
            if matches!(e, Error::Backend(_) | Error::Io(_)) {
                tracing::warn!(error = %e, "lost the server");
                self.retry = Some(0);
                self.last_error = e.to_string();
                self.session = None;
                self.send(Reply::Conn(reconnecting(0, &e)));
            }
        }
    }

    /// Handles one request.
    pub(super) fn request(&mut self, req: Request) {
        if let Request::Ping(n) = req {
            self.send(Reply::Pong(n));
            return;
        }
        let op = op_of(&req);
        if let Err(e) = self.try_request(req) {
            tracing::debug!(error = %e, ?op, "request failed");
            let lost = matches!(e, Error::Backend(_) | Error::Io(_));
            let msg = if lost && op == Op::Send {
                not_sent(&e.to_string())
            } else {
                message(&e)
            };
            self.send(Reply::Failed(op, msg));
            if lost {
                self.retry = Some(0);
                self.last_error = e.to_string();
                self.session = None;
                self.send(Reply::Conn(reconnecting(0, &e)));
            }
        }
    }

    fn session(&mut self) -> Result<&mut Session> {
        self.session
            .as_mut()
            .ok_or_else(|| Error::Backend("not connected".into()))
    }

    fn try_request(&mut self, req: Request) -> Result<()> {
        match req {
            Request::Register {
                user,
                email,
                password,
            } => {
                self.session()?.register(&user, &email, &password)?;
                self.send(Reply::Done(
                    Op::Register,
                    format!("Registered {user}. Log in now."),
                ));
            }
            Request::Login { user, password } => {
                let s = self.session()?;
                s.login(&user, &password)?;
                let prefs = s.prefs().unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "no per-user state on this backend");
                    UserPrefs::default()
                });
                self.prefs = prefs;
                self.creds = Some((user.clone(), password));
                self.send(Reply::LoggedIn(user));
                self.boards()?;
            }
            Request::Logout => {
                self.session()?.logout()?;
                self.creds = None;
                self.prefs = UserPrefs::default();
                self.send(Reply::LoggedOut);
            }
            Request::Boards => {
                // Another session of the same user may have read posts: take the read
                // marks from the server so both sessions count the same.
                match self.session()?.prefs() {
                    Ok(p) => self.prefs.read = p.read,
                    Err(e) => tracing::debug!(error = %e, "read marks not reloaded"),
                }
                self.boards()?
            }
            Request::OpenBoard(board) => {
                let (rows, older) = self.post_rows(&board)?;
                let read = self.prefs.read.get(&board).cloned().unwrap_or_default();
                self.send(Reply::Posts {
                    board,
                    rows,
                    read,
                    older,
                });
            }
            Request::OlderPosts(board) => {
                self.session()?.older_posts(&board)?;
                self.more_posts(board)?;
            }
            Request::AllPosts(board) => {
                self.session()?.all_posts(&board)?;
                self.more_posts(board)?;
            }
            Request::OpenPost(id) => {
                let post = self.session()?.read(&id.to_string())?;
                self.open_post = Some(id);
                let board = post.board.clone();
                self.send(Reply::Post(Box::new(post)));
                let mut mark = self.prefs.read.get(&board).cloned().unwrap_or_default();
                match self.session()?.mark_read(&board, &mut mark, id) {
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "read mark not stored"),
                }
                self.prefs.read.insert(board, mark);
            }
            Request::ClosePost => self.open_post = None,
            Request::CreateBoard(name) => {
                self.session()?.create_board(&name)?;
                self.send(Reply::Done(
                    Op::CreateBoard,
                    format!("Board {name} created."),
                ));
            }
            Request::Post { board, title, body } => {
                let id = self.session()?.create_post(&board, &title, &body)?;
                let mut mark = self.prefs.read.get(&board).cloned().unwrap_or_default();
                let _ = self.session()?.mark_read(&board, &mut mark, id);
                self.prefs.read.insert(board, mark);
                self.send(Reply::Done(Op::Send, format!("Posted #{id}.")));
            }
            Request::Comment(id, text) => {
                self.session()?.comment(&id.to_string(), &text)?;
                self.send(Reply::Done(Op::Send, "Comment sent.".into()));
            }
            Request::Push(id, push, text) => {
                self.session()?.push(&id.to_string(), push, &text)?;
                self.send(Reply::Done(Op::Send, format!("{} sent.", push.symbol())));
            }
            Request::Edit(id, changes) => {
                for c in changes {
                    self.session()?.update_post(&id.to_string(), c)?;
                }
                self.send(Reply::Done(Op::Send, format!("Post #{id} updated.")));
            }
            Request::Delete(id) => {
                self.session()?.delete_post(&id.to_string())?;
                self.send(Reply::Done(Op::Delete, format!("Post #{id} deleted.")));
            }
            Request::Remove(id) => {
                self.session()?.remove_post(&id.to_string())?;
                self.send(Reply::Done(Op::Delete, format!("Post #{id} removed.")));
            }
            Request::RemoveComment(id, n) => {
                self.session()?
                    .remove_comment(&id.to_string(), &n.to_string())?;
                self.send(Reply::Done(Op::Other, format!("Comment {n} removed.")));
            }
            Request::MarkAllRead(board) => {
                let max = self
                    .session()?
                    .view(|s| s.board_posts(&board).map(|p| p.id).max().unwrap_or(0));
                let mark = self.prefs.read.entry(board.clone()).or_default();
                mark.mark_all(max);
                let mark = mark.clone();
                self.session()?.put_read_mark(&board, &mark)?;
                self.boards()?;
            }
            Request::Favourites(list) => {
                self.session()?.set_favourites(&list)?;
                self.prefs.favourites = list;
            }
            Request::Mails => self.mails()?,
            Request::Mail { to, subject, body } => {
                self.session()?.mail_to(&to, &subject, &body)?;
                self.send(Reply::Done(Op::Send, format!("Mail sent to {to}.")));
            }
            Request::DeleteMail(offset) => {
                let s = self.session()?;
                let n = s
                    .mails()?
                    .into_iter()
                    .find(|m| m.mail.offset == offset)
                    .map_or(0, |m| m.number);
                s.delete_mail(&n.to_string())?;
                self.send(Reply::Done(Op::DeleteMail, "Mail deleted.".into()));
            }
            Request::Subs => {
                let subs = self.session()?.subscriptions()?;
                self.send(Reply::Subs(subs));
            }
            Request::Subscribe(target, keyword) => {
                self.session()?.subscribe(target.clone(), &keyword)?;
                self.send(Reply::Done(
                    Op::Subscribe,
                    format!("Subscribed to {target} \"{keyword}\"."),
                ));
            }
            Request::Unsubscribe(target) => {
                self.session()?.unsubscribe(target.clone())?;
                self.send(Reply::Done(
                    Op::Subscribe,
                    format!("Unsubscribed {target}."),
                ));
            }
            Request::Online => {
                let users = self.session()?.online()?;
                self.send(Reply::Online(users));
            }
            Request::Ping(_) | Request::Shutdown => {}
        }
        Ok(())
    }

    fn boards(&mut self) -> Result<()> {
        let me = self.me();
        let prefs = &self.prefs;
        let Some(s) = self.session.as_ref() else {
            return Err(Error::Backend("not connected".into()));
        };
        let infos = s.view(|st| {
            st.boards()
                .iter()
                .map(|b| {
                    let read = prefs.read.get(&b.name);
                    let summary = st.summary(&b.name);
                    let unread = st.unread(&b.name, &me, read);
                    BoardInfo {
                        name: b.name.clone(),
                        creator: b.creator.clone(),
                        posts: summary.live as usize,
                        unread: unread.count as usize,
                        unread_exact: unread.exact,
                        last: b.time.max(summary.last),
                        favourite: prefs.favourites.contains(&b.name),
                    }
                })
                .collect()
        });
        self.send(Reply::Boards(infos));
        Ok(())
    }

    /// A board's rows after more of them were read.
    fn more_posts(&mut self, board: String) -> Result<()> {
        let (rows, older) = self.post_rows(&board)?;
        self.send(Reply::MorePosts { board, rows, older });
        Ok(())
    }

    /// A board's rows as held, and whether it has older posts than those.
    fn post_rows(&mut self, board: &str) -> Result<(Vec<PostRow>, bool)> {
        Ok(self.session()?.view(|s| {
            let rows = s
                .board_posts(board)
                .map(|p| PostRow::of(&s.shown(p)))
                .collect();
            (rows, s.window(board).is_some())
        }))
    }

    fn mails(&mut self) -> Result<()> {
        let rows = self.session()?.mails()?;
        self.send(Reply::Mails(rows));
        Ok(())
    }

    /// A record the link folded into its view: tell the UI what changed.
    pub(super) fn record(&mut self, entry: &Entry) {
        self.record_inner(entry);
        // A post created or deleted changes a board's counts: recount them from the view
        // and the read marks, so the board list is exact whatever screen is shown.
        if matches!(
            entry.record,
            BbsRecord::Post { .. } | BbsRecord::Delete { .. }
        ) {
            let _ = self.boards();
        }
    }

    fn record_inner(&mut self, entry: &Entry) {
        let me = self.me();
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match &entry.record {
            BbsRecord::Post {
                board,
                id: Some(id),
                author,
                title,
                ..
            } => {
                if let Some(row) = s.view(|st| st.live_post(*id).map(PostRow::of)) {
                    (self.out)(Reply::NewPost {
                        board: board.clone(),
                        row,
                    });
                }
                let ev = PostEvent {
                    board: board.clone(),
                    id: *id,
                    title: title.clone(),
                    author: author.clone(),
                };
                if s.notification(&ev) {
                    (self.out)(Reply::Notify(ev));
                }
            }
            BbsRecord::Comment { board, post, .. }
            | BbsRecord::Push { board, post, .. }
            | BbsRecord::Edit { board, post, .. }
            | BbsRecord::Delete { board, post, .. }
            | BbsRecord::Remove { board, post, .. } => {
                let live = s.view(|st| st.shown_post(*post));
                (self.out)(Reply::PostChanged {
                    board: board.clone(),
                    id: *post,
                    row: live.as_ref().map(PostRow::of),
                });
                if self.open_post == Some(*post) {
                    if let Some(p) = live {
                        (self.out)(Reply::Post(Box::new(p)));
                    }
                }
            }
            // A board deleted or a user disabled changes the board list and its counts.
            BbsRecord::Board { .. }
            | BbsRecord::BoardDelete { .. }
            | BbsRecord::UserStatus { .. } => {
                let _ = self.boards();
            }
            BbsRecord::Mail {
                to, from, subject, ..
            } if *to == me => {
                (self.out)(Reply::MailArrived(from.clone(), subject.clone()));
                let _ = self.mails();
            }
            BbsRecord::MailDelete { owner, .. } if *owner == me => {
                let _ = self.mails();
            }
            BbsRecord::Subscribe { owner, .. } | BbsRecord::Unsubscribe { owner, .. }
                if *owner == me =>
            {
                if let Ok(subs) = s.subscriptions() {
                    (self.out)(Reply::Subs(subs));
                }
            }
            _ => {}
        }
    }
}
