//! The application state ([`App`]): which screens are open, each screen's data, the forms,
//! toasts and settings; and how the worker's [`Reply`]s change it. Key handling and
//! actions are in [`super::update`]; drawing is in [`super::view`]. Nothing here does I/O:
//! side effects are returned as [`Effect`]s for the loop to carry out.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::boards::BoardList;
use super::compose::{Composer, LoginForm, Prompt};
use super::config::Config;
use super::keymap::KeyMap;
use super::local::LocalState;
use super::msg::{ConnState, Op, Reply, Request};
use super::post_layout::Reader;
use super::posts::Order;
use super::posts::PostList;
use super::scroll::Cursor;
use super::theme::{no_color_env, Theme};
use crate::model::PostEvent;
use crate::session::MailRow;
use crate::state::Subscription;

/// Whether an error text is about the server being unreachable (stale once online).
fn is_outage(text: &str) -> bool {
    [
        "unreachable",
        "not sent (",
        "not connected",
        "connection reset",
        "connection refused",
    ]
    .iter()
    .any(|w| text.to_lowercase().contains(w))
}

/// A screen (the stack of open screens is [`App::screens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Login / register.
    Login,
    /// Board list.
    Boards,
    /// A board's posts.
    Posts,
    /// A post.
    Reader,
    /// Mailbox.
    Mail,
    /// One mail.
    MailRead,
    /// Subscriptions.
    Subs,
    /// Notification log.
    Notifications,
    /// Who is online.
    Online,
}

/// Something for the loop to do outside the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a request to the worker.
    Request(Request),
    /// Ring the terminal bell.
    Bell,
    /// Edit the composer's focused field in `$EDITOR`.
    Editor(String),
    /// Write the local state (drafts, theme, last user) to disk.
    SaveLocal,
    /// Leave.
    Quit,
}

/// How a toast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    /// Confirmation.
    Info,
    /// Something failed.
    Error,
    /// A subscription matched, or mail arrived.
    Notice,
}

/// A message that shows for a while in the corner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    /// The text.
    pub text: String,
    /// Its look.
    pub kind: ToastKind,
    /// When it goes away.
    pub until: Instant,
}

/// The mailbox screen.
#[derive(Debug, Clone, Default)]
pub struct MailBox {
    /// Mails with their numbers.
    pub rows: Vec<MailRow>,
    /// Selection.
    pub cursor: Cursor,
    /// Scroll of the open mail.
    pub scroll: usize,
    /// Mails that arrived since the mailbox was last opened.
    pub unseen: usize,
}

/// A generic list screen (subscriptions, notifications, online users).
#[derive(Debug, Clone)]
pub struct ListOf<T> {
    /// Rows.
    pub rows: Vec<T>,
    /// Selection.
    pub cursor: Cursor,
}

impl<T> Default for ListOf<T> {
    fn default() -> Self {
        ListOf {
            rows: Vec::new(),
            cursor: Cursor::default(),
        }
    }
}

/// Settings that can change while running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Ring the bell on notices.
    pub bell: bool,
    /// Mouse capture.
    pub mouse: bool,
    /// How long toasts stay.
    pub toast: Duration,
    /// The zone dates and times are shown in (`[ui] timezone`).
    pub zone: crate::time::Zone,
}

/// The whole UI state.
pub struct App {
    /// Open screens; the last is shown.
    pub screens: Vec<Screen>,
    /// The logged-in user.
    pub user: Option<String>,
    /// `HOST:PORT` (or `demo`), for the status bar.
    pub server: String,
    /// Connection state, for the status bar.
    pub conn: ConnState,
    /// The login form.
    pub login: LoginForm,
    /// The board list.
    pub boards: BoardList,
    /// The open board's posts.
    pub posts: PostList,
    /// The open post.
    pub reader: Reader,
    /// The mailbox.
    pub mail: MailBox,
    /// Subscriptions, one row per (target, keyword).
    pub subs: ListOf<(crate::model::SubTarget, String)>,
    /// Notifications, newest first.
    pub notes: ListOf<PostEvent>,
    /// Notifications not yet looked at.
    pub unseen_notes: usize,
    /// Who is online.
    pub online: ListOf<String>,
    /// The composer, when open.
    pub composer: Option<Composer>,
    /// The one-line question, when open.
    pub prompt: Option<Prompt>,
    /// The help overlay, when open (its scroll).
    pub help: Option<usize>,
    /// Toasts, oldest first.
    pub toasts: VecDeque<Toast>,
    /// Keys.
    pub keymap: KeyMap,
    /// Colours.
    pub theme: Theme,
    /// Runtime settings.
    pub settings: Settings,
    /// Local state (drafts, last user, theme).
    pub local: LocalState,
    /// Terminal size (columns, rows) as of the last resize.
    pub size: (u16, u16),
    /// When `q`/`Esc` was last pressed on the top-level screen: a second press before
    /// [`QUIT_AGAIN`] has passed quits, so one stray key never ends the session.
    pub quit_armed: Option<Instant>,
}

/// How long a first `q`/`Esc` on the top-level screen waits for the second.
pub const QUIT_AGAIN: Duration = Duration::from_secs(2);

impl App {
    /// A fresh app on the login screen.
    pub fn new(config: &Config, local: LocalState, server: &str) -> App {
        let (keymap, warnings) = KeyMap::new(&config.keys);
        let theme = if no_color_env() {
            Theme::mono()
        } else {
            local
                .theme
                .as_deref()
                .and_then(Theme::by_name)
                .or_else(|| Theme::by_name(&config.ui.theme))
                .unwrap_or_else(Theme::dark)
        };
        let (zone, zone_error) = match crate::time::Zone::parse(&config.ui.timezone) {
            Ok(z) => (z, None),
            Err(e) => (crate::time::Zone::local(), Some(e)),
        };
        let mut login = LoginForm::default();
        if let Some(u) = &local.last_user {
            login.user.set_text(u);
            login.focus = 1;
        }
        let mut app = App {
            screens: vec![Screen::Login],
            user: None,
            server: server.to_string(),
            conn: ConnState::Connecting,
            login,
            boards: BoardList::default(),
            posts: PostList::default(),
            reader: Reader::default(),
            mail: MailBox::default(),
            subs: ListOf::default(),
            notes: ListOf::default(),
            unseen_notes: 0,
            online: ListOf::default(),
            composer: None,
            prompt: None,
            help: None,
            toasts: VecDeque::new(),
            keymap,
            theme,
            settings: Settings {
                bell: config.ui.bell,
                mouse: config.ui.mouse,
                toast: Duration::from_secs(config.ui.toast_seconds.max(1)),
                zone,
            },
            local,
            size: (80, 24),
            quit_armed: None,
        };
        app.posts.newest_first = config.ui.order == Order::NewestFirst;
        app.reader.zone = app.settings.zone.clone();
        for w in warnings.into_iter().chain(zone_error) {
            app.toast(ToastKind::Error, w);
        }
        app
    }

    /// The screen shown.
    pub fn screen(&self) -> Screen {
        self.screens.last().copied().unwrap_or(Screen::Login)
    }

    /// Rows of a list body (title bar, column header, status bar excluded).
    pub fn list_height(&self) -> usize {
        usize::from(self.size.1).saturating_sub(3).max(1)
    }

    /// Rows of a text body (title bar and status bar excluded).
    pub fn page_height(&self) -> usize {
        usize::from(self.size.1).saturating_sub(2).max(1)
    }

    /// Columns of the body.
    pub fn width(&self) -> usize {
        usize::from(self.size.0).max(1)
    }

    /// Shows a toast.
    pub fn toast(&mut self, kind: ToastKind, text: impl Into<String>) {
        self.toasts.push_back(Toast {
            text: text.into(),
            kind,
            until: Instant::now() + self.settings.toast,
        });
        while self.toasts.len() > 4 {
            self.toasts.pop_front();
        }
    }

    /// Drops expired toasts; returns whether anything changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        let before = self.toasts.len();
        self.toasts.retain(|t| t.until > now);
        before != self.toasts.len()
    }

    /// The terminal was resized.
    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = (w, h);
        let (lh, ph, width) = (self.list_height(), self.page_height(), self.width());
        self.boards.cursor.clamp(self.boards.len(), lh);
        self.posts.cursor.clamp(self.posts.len(), lh);
        self.reader.resize(width, ph);
        self.mail.cursor.clamp(self.mail.rows.len(), lh);
    }

    /// `q`/`Esc` on the top-level screen: the first press asks, a second one within
    /// [`QUIT_AGAIN`] quits (Ctrl-c and `Q` quit at once through [`super::action::Action::Quit`]).
    pub fn quit_twice(&mut self) -> Vec<Effect> {
        let now = Instant::now();
        if self
            .quit_armed
            .is_some_and(|t| now.saturating_duration_since(t) < QUIT_AGAIN)
        {
            self.quit_armed = None;
            return self.update(super::action::Action::Quit);
        }
        self.quit_armed = Some(now);
        self.toast(
            ToastKind::Info,
            "Press q or Esc again to quit (Ctrl-c quits at once).",
        );
        Vec::new()
    }

    /// Pushes a screen.
    pub fn push_screen(&mut self, s: Screen) {
        if self.screen() != s {
            self.screens.push(s);
        }
    }

    /// Applies a worker reply.
    pub fn on_reply(&mut self, reply: Reply) -> Vec<Effect> {
        let mut fx = Vec::new();
        let (lh, ph, width) = (self.list_height(), self.page_height(), self.width());
        match reply {
            Reply::Conn(c) => {
                if matches!(c, ConnState::Online)
                    && matches!(self.conn, ConnState::Reconnecting(..))
                {
                    self.toast(ToastKind::Info, "Reconnected to the server.");
                    // Errors about the outage are stale now that the link is back.
                    self.toasts
                        .retain(|t| !(t.kind == ToastKind::Error && is_outage(&t.text)));
                    if let Some(c) = self.composer.as_mut() {
                        if c.error.as_deref().is_some_and(is_outage) {
                            c.error = None;
                        }
                    }
                    if self.login.error.as_deref().is_some_and(is_outage) {
                        self.login.error = None;
                    }
                    if self.user.is_some() {
                        fx.push(Effect::Request(Request::Boards));
                    }
                }
                if let ConnState::Reconnecting(_, e) = &c {
                    if self.screen() == Screen::Login {
                        self.login.error =
                            Some(format!("Server unreachable ({}): {e}", self.server));
                        self.login.busy = false;
                    }
                }
                self.conn = c;
            }
            Reply::LoggedIn(user) => {
                self.login.busy = false;
                self.login.error = None;
                self.login.password.set_text("");
                self.posts.me = user.clone();
                self.local.last_user = Some(user.clone());
                self.user = Some(user);
                self.screens = vec![Screen::Boards];
                fx.push(Effect::Request(Request::Mails));
                fx.push(Effect::Request(Request::Subs));
                fx.push(Effect::SaveLocal);
            }
            Reply::LoggedOut => {
                self.user = None;
                self.screens = vec![Screen::Login];
            }
            Reply::Boards(list) => self.boards.set(list, lh),
            Reply::MorePosts { board, rows, older } => {
                if self.posts.board == board {
                    self.posts.extend(rows, older, lh);
                }
            }
            Reply::Posts {
                board,
                rows,
                read,
                older,
            } => {
                let unread_before = self.boards.position(&board).is_some();
                self.posts.load(board.clone(), rows, read, lh);
                self.posts.older = older;
                if unread_before {
                    let n = self.posts.unread();
                    self.boards.set_unread(&board, n);
                }
            }
            Reply::Post(p) => {
                let (board, id) = (p.board.clone(), p.id);
                let first = self.reader.post.as_ref().is_none_or(|x| x.id != id);
                self.reader.set_post(*p, width, ph);
                if first && self.posts.board == board && self.posts.mark_read(id) {
                    self.boards.on_read(&board);
                }
            }
            Reply::NewPost { board, row } => {
                let me = self.user.clone().unwrap_or_default();
                self.boards.on_new_post(&board, &row, &me);
                if self.posts.board == board && self.posts.loaded {
                    self.posts.insert(row, lh);
                }
            }
            Reply::PostChanged { board, id, row } => {
                if row.is_none() {
                    let was_unread = self.posts.board == board
                        && self
                            .posts
                            .position(id)
                            .and_then(|i| self.posts.row_at(i))
                            .is_some_and(|r| !self.posts.is_read(r));
                    self.boards.on_deleted(&board, was_unread);
                    if self.reader.want == Some(id) && self.screen() == Screen::Reader {
                        self.toast(ToastKind::Info, format!("Post #{id} was deleted."));
                    }
                }
                if self.posts.board == board {
                    self.posts.update(id, row, lh);
                }
            }
            Reply::Mails(rows) => {
                self.mail.rows = rows;
                self.mail.cursor.clamp(self.mail.rows.len(), lh);
            }
            Reply::MailArrived(from, subject) => {
                if self.screen() != Screen::Mail {
                    self.mail.unseen += 1;
                }
                self.toast(ToastKind::Notice, format!("✉ Mail from {from}: {subject}"));
                if self.settings.bell {
                    fx.push(Effect::Bell);
                }
            }
            Reply::Subs(list) => self.set_subs(&list),
            Reply::Notify(ev) => {
                self.toast(
                    ToastKind::Notice,
                    format!("★ [{}] #{} {} — {}", ev.board, ev.id, ev.title, ev.author),
                );
                self.notes.rows.insert(0, ev);
                if self.screen() == Screen::Notifications {
                    self.notes.cursor.step(1, self.notes.rows.len(), lh);
                } else {
                    self.unseen_notes += 1;
                }
                if self.settings.bell {
                    fx.push(Effect::Bell);
                }
            }
            Reply::Online(users) => {
                self.online.rows = users;
                self.online.cursor.clamp(self.online.rows.len(), lh);
            }
            Reply::Done(op, msg) => self.done(op, msg, &mut fx),
            Reply::Failed(op, msg) => self.failed(op, msg, &mut fx),
            Reply::Pong(_) => {}
        }
        fx
    }

    fn set_subs(&mut self, list: &[Subscription]) {
        self.subs.rows = list
            .iter()
            .flat_map(|s| s.keywords.iter().map(|k| (s.target.clone(), k.clone())))
            .collect();
        let lh = self.list_height();
        self.subs.cursor.clamp(self.subs.rows.len(), lh);
    }

    fn done(&mut self, op: Op, msg: String, fx: &mut Vec<Effect>) {
        match op {
            Op::Register => {
                self.login.busy = false;
                self.login.register = false;
                self.login.error = None;
                self.login.info = Some(msg);
                self.login.focus = 1;
                return;
            }
            Op::Send => {
                if let Some(c) = self.composer.take() {
                    self.local.drafts.remove(&c.draft_key());
                    fx.push(Effect::SaveLocal);
                }
            }
            Op::Delete if self.screen() == Screen::Reader => self.back(),
            Op::DeleteMail if self.screen() == Screen::MailRead => self.back(),
            _ => {}
        }
        self.toast(ToastKind::Info, msg);
    }

    fn failed(&mut self, op: Op, msg: String, fx: &mut Vec<Effect>) {
        match op {
            Op::Login | Op::Register => {
                self.login.busy = false;
                self.login.info = None;
                // A refused password is never left in the field to be resent or seen.
                if op == Op::Login {
                    self.login.password.set_text("");
                    self.login.focus = 1;
                }
                self.login.error = Some(msg);
            }
            Op::Send if self.composer.is_some() => {
                if let Some(c) = self.composer.as_mut() {
                    c.sending = false;
                    c.error = Some(msg);
                }
                // Whatever the refusal, the text is kept as a draft as well.
                self.stash_draft();
                fx.push(Effect::SaveLocal);
            }
            _ => self.toast(ToastKind::Error, msg),
        }
    }

    /// Closes the shown screen (never the last one).
    pub fn back(&mut self) {
        if self.screens.len() > 1 {
            let closed = self.screens.pop();
            if closed == Some(Screen::Reader) {
                self.reader.want = None;
            }
        }
    }
}
