//! Screen-level actions: moving in lists, opening boards, posts and mails, starting the
//! composer or a question, favourites, unread jumps. `update(action) -> effects`.

use super::action::Action;
use super::app::{App, Effect, Screen, ToastKind};
use super::compose::{ComposeKind, Composer, Prompt, PromptKind};
use super::moderate::NOT_MODERATOR;
use super::msg::Request;
use super::scroll::{clamp_scroll, Cursor};
use crate::model::{Push, SubTarget};

impl App {
    /// Applies an action to the shown screen.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        let lh = self.list_height();
        match action {
            Action::Quit => {
                self.stash_draft();
                return vec![Effect::SaveLocal, Effect::Quit];
            }
            Action::Help => self.help = Some(0),
            Action::Back => return self.go_back(),
            Action::GoMail => {
                self.mail.unseen = 0;
                self.push_screen(Screen::Mail);
                return vec![Effect::Request(Request::Mails)];
            }
            Action::GoOnline => {
                self.push_screen(Screen::Online);
                return vec![Effect::Request(Request::Online)];
            }
            Action::GoNotifications => {
                self.unseen_notes = 0;
                self.push_screen(Screen::Notifications);
            }
            Action::GoSubs => {
                self.push_screen(Screen::Subs);
                return vec![Effect::Request(Request::Subs)];
            }
            Action::CycleTheme => {
                self.theme = self.theme.next();
                self.local.theme = Some(self.theme.name.to_string());
                self.toast(ToastKind::Info, format!("Theme: {}", self.theme.name));
                return vec![Effect::SaveLocal];
            }
            Action::ToggleBell => {
                self.settings.bell = !self.settings.bell;
                let on = if self.settings.bell { "on" } else { "off" };
                self.toast(ToastKind::Info, format!("Bell {on}"));
            }
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::PageUp => self.page(false),
            Action::PageDown => self.page(true),
            Action::Top => self.step(isize::MIN / 2),
            Action::Bottom => self.step(isize::MAX / 2),
            Action::Open => return self.open(),
            Action::Filter => {
                let kind = match self.screen() {
                    Screen::Boards => PromptKind::FilterBoards,
                    _ => PromptKind::SearchTitle,
                };
                let initial = match (&kind, &self.posts.search) {
                    (PromptKind::FilterBoards, _) => self.boards.filter.clone(),
                    (_, Some(super::posts::Search::Title(t))) => t.clone(),
                    _ => String::new(),
                };
                self.prompt = Some(Prompt::new(kind, &initial));
                return self.whole_board();
            }
            Action::SearchAuthor => {
                self.prompt = Some(Prompt::new(PromptKind::SearchAuthor, ""));
                return self.whole_board();
            }
            Action::ClearFilter => match self.screen() {
                Screen::Boards => self.boards.set_filter("", lh),
                _ => self.posts.set_search(None, lh),
            },
            Action::CreateBoard => self.prompt = Some(Prompt::new(PromptKind::CreateBoard, "")),
            Action::ToggleFavourite => {
                let name = match self.screen() {
                    Screen::Boards => self.boards.selected().map(|b| b.name.clone()),
                    _ => Some(self.posts.board.clone()),
                };
                if let Some(name) = name {
                    let list = self.boards.toggle_favourite(&name, lh);
                    let msg = if list.contains(&name) {
                        "★ Favourite"
                    } else {
                        "Not a favourite"
                    };
                    self.toast(ToastKind::Info, format!("{msg}: {name}"));
                    return vec![Effect::Request(Request::Favourites(list))];
                }
            }
            Action::MarkAllRead => {
                let board = match self.screen() {
                    Screen::Boards => self.boards.selected().map(|b| b.name.clone()),
                    _ => Some(self.posts.board.clone()),
                };
                if let Some(board) = board {
                    if self.posts.board == board {
                        self.posts.mark_all_read();
                    }
                    self.boards.set_unread(&board, 0);
                    return vec![Effect::Request(Request::MarkAllRead(board))];
                }
            }
            Action::NextUnread => {
                let next = match self.screen() {
                    Screen::Boards => self.boards.next_unread(),
                    _ => self.posts.next_unread(),
                };
                match (next, self.screen()) {
                    (Some(i), Screen::Boards) => {
                        self.boards.cursor.select(i, self.boards.len(), lh)
                    }
                    (Some(i), _) => self.posts.cursor.select(i, self.posts.len(), lh),
                    (None, _) => self.toast(ToastKind::Info, "Nothing unread."),
                }
            }
            Action::NewPost => self.compose(ComposeKind::Post(self.posts.board.clone()), "", ""),
            Action::Comment | Action::PushUp | Action::PushDown | Action::PushArrow => {
                if let Some(id) = self.reader.post.as_ref().map(|p| p.id) {
                    let kind = match action {
                        Action::PushUp => ComposeKind::Push(id, Push::Up),
                        Action::PushDown => ComposeKind::Push(id, Push::Down),
                        Action::PushArrow => ComposeKind::Push(id, Push::Arrow),
                        _ => ComposeKind::Comment(id),
                    };
                    self.compose(kind, "", "");
                }
            }
            Action::Edit => {
                if let Some(p) = self.reader.post.clone() {
                    if Some(&p.author) != self.user.as_ref() {
                        self.toast(ToastKind::Error, "Not the post owner.");
                    } else {
                        self.compose(ComposeKind::Edit(p.id, p.title, p.body), "", "");
                    }
                }
            }
            Action::Delete => self.ask_delete(),
            Action::Remove => self.ask_remove(),
            Action::RemoveComment => self.start_pick(),
            Action::NextPost | Action::PrevPost => {
                return self.next_post(action == Action::NextPost)
            }
            Action::SubscribeBoard => {
                let t = SubTarget::board(&self.posts.board);
                self.prompt = Some(Prompt::new(PromptKind::Subscribe(t), ""));
            }
            Action::SubscribeAuthor => {
                if let Some(p) = &self.reader.post {
                    let t = SubTarget::author(&p.author);
                    self.prompt = Some(Prompt::new(PromptKind::Subscribe(t), ""));
                }
            }
            Action::NewMail => {
                let to = match self.screen() {
                    Screen::Online => self.online.rows.get(self.online.cursor.sel).cloned(),
                    _ => None,
                };
                self.compose(ComposeKind::Mail, to.as_deref().unwrap_or(""), "");
            }
            Action::ReplyMail => {
                let (to, subject) = match self.screen() {
                    Screen::Reader => match &self.reader.post {
                        Some(p) => (p.author.clone(), p.title.clone()),
                        None => return Vec::new(),
                    },
                    _ => match self.mail.rows.get(self.mail.cursor.sel) {
                        Some(m) => (m.mail.from.clone(), m.mail.subject.clone()),
                        None => return Vec::new(),
                    },
                };
                let subject = if subject.starts_with("Re: ") {
                    subject
                } else {
                    format!("Re: {subject}")
                };
                self.reply_mail(&to, &subject);
            }
            Action::AddSub => self.prompt = Some(Prompt::new(PromptKind::AddSub, "")),
            _ => {}
        }
        self.older_posts()
    }

    /// A search is about to start on a long board's list: ask for all its posts, so the
    /// search covers the posts not held yet.
    fn whole_board(&mut self) -> Vec<Effect> {
        if self.screen() != Screen::Posts || !self.posts.older || self.posts.asking_older {
            return Vec::new();
        }
        self.posts.asking_older = true;
        vec![Effect::Request(Request::AllPosts(self.posts.board.clone()))]
    }

    /// Asks for older posts when the selection reached the oldest held of a long board.
    fn older_posts(&mut self) -> Vec<Effect> {
        if self.screen() != Screen::Posts || !self.posts.wants_older() {
            return Vec::new();
        }
        self.posts.asking_older = true;
        vec![Effect::Request(Request::OlderPosts(
            self.posts.board.clone(),
        ))]
    }

    fn go_back(&mut self) -> Vec<Effect> {
        match self.screen() {
            Screen::Boards | Screen::Login => self.quit_twice(),
            Screen::Reader => {
                self.back();
                vec![Effect::Request(Request::ClosePost)]
            }
            _ => {
                self.back();
                if self.screen() == Screen::Boards {
                    // Back on the board list: recount (another session may have read).
                    return vec![Effect::Request(Request::Boards)];
                }
                Vec::new()
            }
        }
    }

    /// A reply by mail: always a fresh composer addressed to `to` with `subject`, with a
    /// draft of its own (keyed by recipient and subject), so a kept draft of another mail
    /// is neither shown here nor overwritten.
    fn reply_mail(&mut self, to: &str, subject: &str) {
        let mut c = Composer::new(ComposeKind::Mail, to, subject);
        c.reply_key = Some(format!("mail:{to}:{subject}"));
        if let Some(d) = self.local.drafts.get(&c.draft_key()) {
            c.restore(d);
        }
        self.composer = Some(c);
    }

    fn compose(&mut self, kind: ComposeKind, to: &str, subject: &str) {
        let mut c = Composer::new(kind, to, subject);
        if let Some(d) = self.local.drafts.get(&c.draft_key()) {
            c.restore(d);
            if matches!(c.kind, ComposeKind::Mail) && !to.is_empty() {
                c.fields[0].area.set_text(to);
            }
        }
        self.composer = Some(c);
    }

    fn ask_delete(&mut self) {
        let me = self.user.clone().unwrap_or_default();
        let owner = match self.screen() {
            Screen::Posts => self.posts.selected().map(|r| r.author.clone()),
            Screen::Reader => self.reader.post.as_ref().map(|p| p.author.clone()),
            _ => None,
        };
        if owner.is_some_and(|a| a != me) {
            // Refused the same way as an edit: at once, before any question.
            self.toast(ToastKind::Error, "Not the post owner.");
            return;
        }
        let kind = match self.screen() {
            Screen::Posts => self
                .posts
                .selected()
                .map(|r| PromptKind::ConfirmDelete(r.id)),
            Screen::Reader => self
                .reader
                .post
                .as_ref()
                .map(|p| PromptKind::ConfirmDelete(p.id)),
            Screen::Mail | Screen::MailRead => self
                .mail
                .rows
                .get(self.mail.cursor.sel)
                .map(|m| PromptKind::ConfirmDeleteMail(m.mail.offset)),
            Screen::Subs => self
                .subs
                .rows
                .get(self.subs.cursor.sel)
                .map(|(t, _)| PromptKind::ConfirmUnsubscribe(t.clone())),
            _ => None,
        };
        self.prompt = kind.map(|k| Prompt::new(k, ""));
    }

    /// Asks to confirm removing the selected (or open) post as its board's moderator; the
    /// server refuses anyone else (`Not the board moderator.`).
    fn ask_remove(&mut self) {
        let (id, board) = match (self.screen(), &self.reader.post) {
            (Screen::Posts, _) => (self.posts.selected().map(|r| r.id), &self.posts.board),
            (Screen::Reader, Some(p)) => (Some(p.id), &p.board),
            _ => (None, &self.posts.board),
        };
        if id.is_some() && !self.moderates(board) {
            // Refused like an edit of another's post: at once, before any question.
            self.toast(ToastKind::Error, NOT_MODERATOR);
            return;
        }
        self.prompt = id.map(|id| Prompt::new(PromptKind::ConfirmRemove(id), ""));
    }

    fn cursor_of(&mut self) -> Option<(&mut Cursor, usize)> {
        let n = match self.screen() {
            Screen::Boards => self.boards.len(),
            Screen::Posts => self.posts.len(),
            Screen::Mail => self.mail.rows.len(),
            Screen::Subs => self.subs.rows.len(),
            Screen::Notifications => self.notes.rows.len(),
            Screen::Online => self.online.rows.len(),
            _ => return None,
        };
        let c = match self.screen() {
            Screen::Boards => &mut self.boards.cursor,
            Screen::Posts => &mut self.posts.cursor,
            Screen::Mail => &mut self.mail.cursor,
            Screen::Subs => &mut self.subs.cursor,
            Screen::Notifications => &mut self.notes.cursor,
            _ => &mut self.online.cursor,
        };
        Some((c, n))
    }

    fn step(&mut self, delta: isize) {
        let (lh, ph) = (self.list_height(), self.page_height());
        match self.screen() {
            Screen::Reader => self.reader.scroll_by(delta, ph),
            Screen::MailRead => {
                let n = self.mail_lines();
                let s = (self.mail.scroll as isize).saturating_add(delta).max(0) as usize;
                self.mail.scroll = clamp_scroll(s, n, ph);
            }
            _ => {
                if let Some((c, n)) = self.cursor_of() {
                    c.step(delta, n, lh);
                }
            }
        }
    }

    fn page(&mut self, down: bool) {
        let (lh, ph) = (self.list_height(), self.page_height());
        match self.screen() {
            Screen::Reader | Screen::MailRead => {
                let d = ph.saturating_sub(1).max(1) as isize;
                self.step(if down { d } else { -d });
            }
            _ => {
                if let Some((c, n)) = self.cursor_of() {
                    c.page(down, n, lh);
                }
            }
        }
    }

    /// Lines of the open mail (for scrolling).
    pub fn mail_lines(&self) -> usize {
        self.mail
            .rows
            .get(self.mail.cursor.sel)
            .map_or(0, |m| m.mail.body.lines().count() + 4)
    }

    fn open(&mut self) -> Vec<Effect> {
        match self.screen() {
            Screen::Boards => {
                let Some(name) = self.boards.selected().map(|b| b.name.clone()) else {
                    return Vec::new();
                };
                if self.posts.board != name {
                    self.posts.loaded = false;
                    self.posts.board = name.clone();
                }
                self.push_screen(Screen::Posts);
                vec![Effect::Request(Request::OpenBoard(name))]
            }
            Screen::Posts => match self.posts.selected().map(|r| r.id) {
                Some(id) => self.read(id),
                None => Vec::new(),
            },
            Screen::Notifications => match self.notes.rows.get(self.notes.cursor.sel).map(|e| e.id)
            {
                Some(id) => self.read(id),
                None => Vec::new(),
            },
            Screen::Mail if !self.mail.rows.is_empty() => {
                self.mail.scroll = 0;
                self.push_screen(Screen::MailRead);
                Vec::new()
            }
            Screen::Online => self.update(Action::NewMail),
            _ => Vec::new(),
        }
    }

    fn read(&mut self, id: crate::model::PostId) -> Vec<Effect> {
        self.reader.open(id);
        self.push_screen(Screen::Reader);
        vec![Effect::Request(Request::OpenPost(id))]
    }

    fn next_post(&mut self, forward: bool) -> Vec<Effect> {
        let Some(cur) = self.reader.want else {
            return Vec::new();
        };
        let Some(i) = self.posts.position(cur) else {
            return Vec::new();
        };
        let j = if forward { i + 1 } else { i.wrapping_sub(1) };
        match self.posts.row_at(j).map(|r| r.id) {
            Some(id) => {
                let lh = self.list_height();
                self.posts.cursor.select(j, self.posts.len(), lh);
                self.reader.open(id);
                vec![Effect::Request(Request::OpenPost(id))]
            }
            None => {
                self.toast(ToastKind::Info, "No more posts.");
                Vec::new()
            }
        }
    }
}
