//! The `Session` API: everything a user can do, with the checks of the command language in
//! their fixed order (login first, then existence, then ownership), over a backend
//! [`Link`]. The line protocol ([`crate::line`]: line mode and the classic port) and the TUI
//! ([`crate::tui`]) drive it, and so does the server's `admin` command; only the formatting
//! differs. It also turns live post events into subscription notifications
//! (matching keywords, once per post, never to the poster, only posts made after
//! subscribing).

use std::collections::{HashMap, HashSet};

use crate::backend::{EventSink, Link, Need, RecordSink};
use crate::codec::{BbsRecord, Entry};
use crate::error::{Failure, Result};
use crate::model::{Change, PostEvent, PostId, Push, SubTarget};
use crate::names;
use crate::prefs::{ReadMark, UserPrefs};
use crate::state::{Board, Mail, Post, State, Subscription};
use crate::time::Zone;

/// A row of `list-board`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    /// Position in creation order, from 1 (kept when filtered).
    pub index: usize,
    /// The board.
    pub board: Board,
}

/// A mail with its current number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRow {
    /// Number from 1 in arrival order, renumbered after deletes.
    pub number: usize,
    /// The mail.
    pub mail: Mail,
}

/// One user's session.
pub struct Session {
    /// The connection to the BBS.
    link: Box<dyn Link>,
    /// Who is logged in.
    user: Option<String>,
    /// (target, keyword) → the largest post id when this session subscribed: only newer
    /// posts notify.
    since: HashMap<(SubTarget, String), PostId>,
    /// The largest post id at login: the floor for subscriptions made elsewhere.
    login_mark: PostId,
    /// Posts already notified in this session.
    notified: HashSet<PostId>,
    /// The zone dates are shown in (the server stores UTC; users read their own clock).
    zone: Zone,
}

fn post_id(s: &str) -> Result<PostId> {
    s.parse().map_err(|_| Failure::NoSuchPost.into())
}

impl Session {
    /// A logged-out session over `link`.
    pub fn new(link: Box<dyn Link>) -> Session {
        Session {
            link,
            user: None,
            since: HashMap::new(),
            login_mark: 0,
            notified: HashSet::new(),
            zone: Zone::local(),
        }
    }

    /// Shows dates in `zone` from now on (the default is the local zone).
    pub fn set_zone(&mut self, zone: Zone) {
        self.zone = zone;
    }

    /// The zone dates are shown in.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// Runs `f` on the current view.
    pub fn view<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.link.with_view(&mut |s| {
            if let Some(f) = f.take() {
                out = Some(f(s));
            }
        });
        match out {
            Some(r) => r,
            None => unreachable_view(),
        }
    }

    /// Installs the sink that receives live post events (see [`Session::notification`]).
    pub fn set_event_sink(&mut self, sink: EventSink) {
        self.link.set_event_sink(sink);
    }

    /// Installs the sink that sees every record folded into the view (the TUI's live
    /// refresh).
    pub fn set_record_sink(&mut self, sink: RecordSink) {
        self.link.set_record_sink(sink);
    }

    /// Checks that the link still reaches the server (and brings the view up to date);
    /// unlike [`Session::sync`] the failure is returned, for connection-state display.
    pub fn check_link(&self) -> Result<()> {
        self.link.sync()
    }

    /// Brings the view up to date with everything the server has stored (see
    /// [`Link::sync`]); a failure only means the view may lag, so it is logged.
    pub fn sync(&self) {
        if let Err(e) = self.link.sync() {
            tracing::debug!(error = %e, "sync failed");
        }
    }

    /// The logged-in user.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    fn me(&self) -> Result<String> {
        self.user.clone().ok_or_else(|| Failure::NotLoggedIn.into())
    }

    /// `register`.
    pub fn register(&mut self, user: &str, email: &str, password: &str) -> Result<()> {
        if self.view(|s| s.user(user).is_some()) {
            return Err(Failure::UsernameTaken.into());
        }
        self.link.register(user, email, password)
    }

    /// `login`; returns the username.
    pub fn login(&mut self, user: &str, password: &str) -> Result<String> {
        if self.user.is_some() {
            return Err(Failure::AlreadyLoggedIn.into());
        }
        self.link.login(user, password)?;
        self.user = Some(user.to_string());
        self.login_mark = self.view(State::max_post_id);
        self.since.clear();
        Ok(user.to_string())
    }

    /// `logout`; returns who logged out.
    pub fn logout(&mut self) -> Result<String> {
        let me = self.me()?;
        self.link.logout()?;
        self.user = None;
        Ok(me)
    }

    /// `whoami`.
    pub fn whoami(&self) -> Result<String> {
        self.me()
    }

    /// `create-board`.
    pub fn create_board(&mut self, name: &str) -> Result<()> {
        let me = self.me()?;
        if self.view(|s| s.board(name).is_some()) {
            return Err(Failure::BoardExists.into());
        }
        names::board_topic(name)?;
        self.append(BbsRecord::Board {
            name: name.into(),
            creator: me,
        })?;
        Ok(())
    }

    /// `create-post`; returns the new post's id.
    pub fn create_post(&mut self, board: &str, title: &str, content: &str) -> Result<PostId> {
        let me = self.me()?;
        if self.view(|s| s.board(board).is_none()) {
            return Err(Failure::NoSuchBoard.into());
        }
        let done = self.append(BbsRecord::Post {
            board: board.into(),
            id: None,
            author: me,
            title: title.into(),
            body: content.into(),
        })?;
        match done.record {
            BbsRecord::Post { id: Some(id), .. } => Ok(id),
            _ => Err(crate::Error::Backend(
                "the server did not stamp a post id".into(),
            )),
        }
    }

    /// `list-board`: boards whose name contains `filter`, with their original index.
    pub fn boards(&self, filter: Option<&str>) -> Vec<BoardRow> {
        self.view(|s| {
            s.boards()
                .iter()
                .enumerate()
                .filter(|(_, b)| filter.is_none_or(|k| b.name.contains(k)))
                .map(|(i, b)| BoardRow {
                    index: i + 1,
                    board: b.clone(),
                })
                .collect()
        })
    }

    /// `list-post`: live posts of a board whose title contains `filter`.
    pub fn posts(&self, board: &str, filter: Option<&str>) -> Result<Vec<Post>> {
        self.link.load(Need::Board(board.to_string()))?;
        self.view(|s| {
            if s.board(board).is_none() {
                return Err(Failure::NoSuchBoard.into());
            }
            Ok(s.board_posts(board)
                .filter(|p| filter.is_none_or(|k| p.title.contains(k)))
                .map(|p| s.shown(p))
                .collect())
        })
    }

    /// Makes the view hold one more page of `board`'s posts before the oldest it holds (a
    /// reader scrolled there); nothing when it holds the whole board.
    pub fn older_posts(&self, board: &str) -> Result<()> {
        self.link.load(Need::Older(board.to_string()))
    }

    /// Makes the view hold every post of `board` (a search over a long board).
    pub fn all_posts(&self, board: &str) -> Result<()> {
        self.link.load(Need::Board(board.to_string()))
    }

    /// `read`.
    pub fn read(&self, post: &str) -> Result<Post> {
        let id = post_id(post)?;
        self.link.load(Need::Post(id))?;
        self.view(|s| s.shown_post(id))
            .ok_or_else(|| Failure::NoSuchPost.into())
    }

    /// Login, then existence, then (when `own`) ownership; returns the post.
    fn target_post(&self, post: &str, own: bool) -> Result<(String, Post)> {
        let me = self.me()?;
        let post = self.read(post)?;
        if own && post.author != me {
            return Err(Failure::NotOwner.into());
        }
        Ok((me, post))
    }

    /// `update-post`.
    pub fn update_post(&mut self, post: &str, change: Change) -> Result<()> {
        let (me, p) = self.target_post(post, true)?;
        self.append(BbsRecord::Edit {
            board: p.board,
            post: p.id,
            author: me,
            change,
        })?;
        Ok(())
    }

    /// Login, then existence, then the right to moderate the post's board (its creator or
    /// the operator); returns the post.
    fn moderated_post(&self, post: &str) -> Result<(String, Post)> {
        let (me, p) = self.target_post(post, false)?;
        let creator = self.view(|s| s.board(&p.board).map(|b| b.creator.clone()));
        if me != crate::codec::OPERATOR && creator.as_deref() != Some(me.as_str()) {
            return Err(Failure::NotModerator.into());
        }
        Ok((me, p))
    }

    /// `remove-post` (extension): the moderator removes a post from their board.
    pub fn remove_post(&mut self, post: &str) -> Result<()> {
        let (me, p) = self.moderated_post(post)?;
        self.append(BbsRecord::Remove {
            board: p.board,
            post: p.id,
            comment: None,
            author: me,
        })?;
        Ok(())
    }

    /// `remove-comment` (extension): the moderator removes the `n`-th comment of a post.
    pub fn remove_comment(&mut self, post: &str, n: &str) -> Result<()> {
        let (me, p) = self.moderated_post(post)?;
        // `n` counts the comments shown (not those of disabled users); the record names
        // the comment's position among all of them.
        let shown: Option<usize> = n.parse().ok();
        let n = self
            .view(|s| {
                let all = s.live_post(p.id)?;
                s.comment_position(all, shown?)
            })
            .ok_or(Failure::NoSuchComment)?;
        self.append(BbsRecord::Remove {
            board: p.board,
            post: p.id,
            comment: Some(n),
            author: me,
        })?;
        Ok(())
    }

    /// `delete-board <name>` (extension): the operator deletes a board.
    pub fn delete_board(&mut self, name: &str) -> Result<()> {
        let me = self.operator()?;
        if self.view(|s| s.board(name).is_none()) {
            return Err(Failure::NoSuchBoard.into());
        }
        self.append(BbsRecord::BoardDelete {
            name: name.into(),
            author: me,
        })?;
        Ok(())
    }

    /// `disable-user <name>` / `enable-user <name>` (extensions): the operator disables a
    /// user (no login, no writes, their posts hidden) or enables them again.
    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        let me = self.operator()?;
        if self.view(|s| s.user(name).is_none()) {
            return Err(Failure::NoSuchUser(name.into()).into());
        }
        self.append(BbsRecord::UserStatus {
            name: name.into(),
            disabled,
            author: me,
        })?;
        Ok(())
    }

    /// Login, then the operator's right.
    fn operator(&self) -> Result<String> {
        let me = self.me()?;
        if me != crate::codec::OPERATOR {
            return Err(Failure::NotOperator.into());
        }
        Ok(me)
    }

    /// `delete-post`.
    pub fn delete_post(&mut self, post: &str) -> Result<()> {
        let (me, p) = self.target_post(post, true)?;
        self.append(BbsRecord::Delete {
            board: p.board,
            post: p.id,
            author: me,
        })?;
        Ok(())
    }

    /// `comment`.
    pub fn comment(&mut self, post: &str, text: &str) -> Result<()> {
        let (me, p) = self.target_post(post, false)?;
        self.append(BbsRecord::Comment {
            board: p.board,
            post: p.id,
            author: me,
            body: text.into(),
        })?;
        Ok(())
    }

    /// A push (推/噓/→) on a post (the TUI's reaction; not in the classic language).
    pub fn push(&mut self, post: &str, push: Push, text: &str) -> Result<()> {
        let (me, p) = self.target_post(post, false)?;
        self.append(BbsRecord::Push {
            board: p.board,
            post: p.id,
            author: me,
            push,
            body: text.into(),
        })?;
        Ok(())
    }

    /// `mail-to`.
    pub fn mail_to(&mut self, to: &str, subject: &str, content: &str) -> Result<()> {
        let me = self.me()?;
        if self.view(|s| s.user(to).is_none()) {
            return Err(Failure::NoSuchUser(to.into()).into());
        }
        self.append(BbsRecord::Mail {
            to: to.into(),
            from: me,
            subject: subject.into(),
            body: content.into(),
        })?;
        Ok(())
    }

    /// `list-mail`.
    pub fn mails(&self) -> Result<Vec<MailRow>> {
        let me = self.me()?;
        Ok(self.view(|s| {
            s.mailbox(&me)
                .iter()
                .enumerate()
                .map(|(i, m)| MailRow {
                    number: i + 1,
                    mail: m.clone(),
                })
                .collect()
        }))
    }

    /// `retr-mail`.
    pub fn retr_mail(&self, n: &str) -> Result<Mail> {
        let number: usize = n.parse().map_err(|_| Failure::NoSuchMail)?;
        self.mails()?
            .into_iter()
            .find(|r| r.number == number)
            .map(|r| r.mail)
            .ok_or_else(|| Failure::NoSuchMail.into())
    }

    /// `delete-mail`.
    pub fn delete_mail(&mut self, n: &str) -> Result<()> {
        let me = self.me()?;
        let mail = self.retr_mail(n)?;
        self.append(BbsRecord::MailDelete {
            owner: me,
            mail: mail.offset,
        })?;
        Ok(())
    }

    /// `subscribe`.
    pub fn subscribe(&mut self, target: SubTarget, keyword: &str) -> Result<()> {
        let me = self.me()?;
        let known = self.view(|s| {
            s.subscriptions(&me)
                .iter()
                .any(|x| x.target == target && x.keywords.iter().any(|k| k == keyword))
        });
        if known {
            return Err(Failure::AlreadySubscribed.into());
        }
        self.append(BbsRecord::Subscribe {
            owner: me,
            target: target.clone(),
            keyword: keyword.into(),
        })?;
        let mark = self.view(State::max_post_id);
        self.since.insert((target, keyword.to_string()), mark);
        Ok(())
    }

    /// `unsubscribe`.
    pub fn unsubscribe(&mut self, target: SubTarget) -> Result<()> {
        let me = self.me()?;
        if !self.view(|s| s.subscriptions(&me).iter().any(|x| x.target == target)) {
            return Err(Failure::NotSubscribed(target.name).into());
        }
        self.since.retain(|(t, _), _| *t != target);
        self.append(BbsRecord::Unsubscribe { owner: me, target })?;
        Ok(())
    }

    /// `list-sub`: subscriptions in the order their targets were first subscribed.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let me = self.me()?;
        Ok(self.view(|s| s.subscriptions(&me).to_vec()))
    }

    /// The logged-in user's read marks and favourites, as stored by the backend.
    pub fn prefs(&self) -> Result<UserPrefs> {
        self.me()?;
        self.link.prefs()
    }

    /// Marks post `id` of `board` read in `mark` (advancing it over the board's posts) and
    /// stores the mark if it changed. Returns whether it changed.
    pub fn mark_read(&mut self, board: &str, mark: &mut ReadMark, id: PostId) -> Result<bool> {
        self.me()?;
        let changed = self.view(|s| {
            // The mark may advance over the posts held, only when it reaches them: posts
            // before a windowed board's held part are not known here.
            let reaches = s
                .window(board)
                .is_none_or(|w| mark.upto.saturating_add(1) >= w.first_id);
            let ids: Vec<PostId> = match reaches {
                true => s.board_posts(board).map(|p| p.id).collect(),
                false => Vec::new(),
            };
            mark.mark(id, ids)
        });
        if changed {
            self.link.put_read_mark(board, mark)?;
        }
        Ok(changed)
    }

    /// Stores a read mark as is (e.g. after "mark all read").
    pub fn put_read_mark(&mut self, board: &str, mark: &ReadMark) -> Result<()> {
        self.me()?;
        self.link.put_read_mark(board, mark)
    }

    /// Stores the favourite boards, in order.
    pub fn set_favourites(&mut self, boards: &[String]) -> Result<()> {
        self.me()?;
        self.link.put_favourites(boards)
    }

    /// Users logged in right now.
    pub fn online(&self) -> Result<Vec<String>> {
        self.link.online()
    }

    /// Whether a live post event should notify this session: a logged-in user other than
    /// the author, a subscription made before the post that matches it, and not notified
    /// yet. Marks it notified.
    pub fn notification(&mut self, ev: &PostEvent) -> bool {
        let Some(me) = self.user.clone() else {
            return false;
        };
        if ev.author == me || self.notified.contains(&ev.id) {
            return false;
        }
        // A hidden post (disabled author, deleted board) notifies nobody.
        if self.view(|s| s.live_post(ev.id).is_none() && s.any_post(ev.id).is_some()) {
            return false;
        }
        let hit = self.view(|s| {
            s.matching(&me, &ev.board, &ev.author, &ev.title)
                .any(|(t, k)| {
                    let since = self
                        .since
                        .get(&(t.clone(), k.to_string()))
                        .copied()
                        .unwrap_or(self.login_mark);
                    ev.id > since
                })
        });
        if hit {
            self.notified.insert(ev.id);
        }
        hit
    }

    /// Ends the session (logging out first).
    pub fn close(&mut self) {
        if self.user.is_some() {
            let _ = self.logout();
        }
    }

    fn append(&mut self, record: BbsRecord) -> Result<BbsEntry> {
        Ok(self.link.append(Entry::new(record))?.entry)
    }
}

/// The stamped entry an append returns.
type BbsEntry = Entry;

#[cold]
fn unreachable_view() -> ! {
    // A `Link::with_view` implementation that never calls its closure is a bug in that
    // backend, not a user or network condition.
    panic!("Link::with_view did not call its closure")
}
