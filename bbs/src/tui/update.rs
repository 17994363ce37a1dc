//! Input → state: a key is looked up in the key map through the chain of contexts of what
//! is focused (help, prompt, composer, login form, or the screen), and the resulting
//! [`Action`] changes the [`App`] and returns [`Effect`]s. Typed characters go to the
//! focused text field. Screen-level actions are in [`super::navigate`].

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind,
};

use super::action::{Action, Context};
use super::app::{App, Effect, Screen};
use super::compose::{parse_sub, ComposeKind, PromptKind, ONE_LINE_COMMENT};
use super::editor::TextArea;
use super::keymap::Key;
use super::msg::Request;
use super::posts::Search;

/// The key context of a screen.
pub(super) fn screen_context(s: Screen) -> Context {
    match s {
        Screen::Login => Context::Login,
        Screen::Boards => Context::Boards,
        Screen::Posts => Context::Posts,
        Screen::Reader => Context::Reader,
        Screen::Mail => Context::Mail,
        Screen::MailRead => Context::MailRead,
        Screen::Subs => Context::Subs,
        Screen::Notifications => Context::Notifications,
        Screen::Online => Context::Online,
    }
}

/// Applies an editing action to a text field; false if it is not one.
fn edit(area: &mut TextArea, action: Action) -> bool {
    match action {
        Action::CursorLeft => area.left(),
        Action::CursorRight => area.right(),
        Action::LineStart => area.home(),
        Action::LineEnd => area.end(),
        Action::DeleteBack => area.delete_back(),
        Action::DeleteForward => area.delete_forward(),
        Action::DeleteWord => area.delete_word(),
        Action::KillLine => area.kill_line(),
        _ => return false,
    }
    true
}

/// A character to insert, if the key types one.
fn typed(ev: &KeyEvent) -> Option<char> {
    match ev.code {
        KeyCode::Char(c)
            if !ev
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(c)
        }
        _ => None,
    }
}

impl App {
    /// Handles a key press.
    pub fn on_key(&mut self, ev: KeyEvent) -> Vec<Effect> {
        if ev.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let key = Key::from_event(&ev);
        if self.help.is_some() {
            return self.help_key(key);
        }
        if self.prompt.is_some() {
            return self.prompt_key(key, &ev);
        }
        if self.composer.is_some() {
            return self.composer_key(key, &ev);
        }
        if self.screen() == Screen::Login {
            return self.login_key(key, &ev);
        }
        if self.screen() == Screen::Reader && self.reader.pick.is_some() {
            return self.pick_key(key);
        }
        let chain = [screen_context(self.screen()), Context::Nav, Context::Global];
        match self.keymap.lookup(&chain, key) {
            Some(a) => self.update(a),
            None => Vec::new(),
        }
    }

    fn help_key(&mut self, key: Key) -> Vec<Effect> {
        let chain = [Context::Nav, Context::Global];
        let step = match self.keymap.lookup(&chain, key) {
            Some(Action::Down) => 1,
            Some(Action::Up) => -1,
            Some(Action::PageDown) => self.page_height() as isize,
            Some(Action::PageUp) => -(self.page_height() as isize),
            Some(Action::Quit) => return self.update(Action::Quit),
            _ => {
                self.help = None;
                return Vec::new();
            }
        };
        // Clamped to the last page, so Up moves at once after scrolling past the end.
        let rows = super::view::help_rows(self.size.1);
        let max = super::view::help_lines(&self.keymap)
            .len()
            .saturating_sub(rows);
        let s = self.help.unwrap_or(0) as isize + step;
        self.help = Some((s.max(0) as usize).min(max));
        Vec::new()
    }

    fn login_key(&mut self, key: Key, ev: &KeyEvent) -> Vec<Effect> {
        let action = self.keymap.lookup(&[Context::Login, Context::Edit], key);
        let f = &mut self.login;
        match action {
            Some(Action::Quit) if key.code == KeyCode::Esc => return self.quit_twice(),
            Some(Action::Quit) => return vec![Effect::SaveLocal, Effect::Quit],
            Some(Action::Send) => {
                if f.busy {
                    return Vec::new();
                }
                if f.focus + 1 < f.field_count() && f.focused().is_empty() {
                    f.focus += 1;
                    return Vec::new();
                }
                return match f.request() {
                    Ok(r) => {
                        f.busy = true;
                        f.error = None;
                        f.info = None;
                        vec![Effect::Request(r)]
                    }
                    Err(e) => {
                        f.error = Some(e);
                        Vec::new()
                    }
                };
            }
            Some(Action::NextField) => f.focus = (f.focus + 1) % f.field_count(),
            Some(Action::PrevField) => f.focus = (f.focus + f.field_count() - 1) % f.field_count(),
            Some(Action::ToggleRegister) => {
                f.register = !f.register;
                f.error = None;
                f.focus = f.focus.min(f.field_count() - 1);
            }
            Some(a) => {
                edit(f.focused(), a);
            }
            None => {
                if let Some(c) = typed(ev) {
                    f.focused().insert(c);
                }
            }
        }
        Vec::new()
    }

    fn prompt_key(&mut self, key: Key, ev: &KeyEvent) -> Vec<Effect> {
        let Some(p) = self.prompt.as_mut() else {
            return Vec::new();
        };
        if p.kind.is_confirm() {
            let kind = p.kind.clone();
            self.prompt = None;
            if matches!(ev.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return vec![Effect::Request(match kind {
                    PromptKind::ConfirmDelete(id) => Request::Delete(id),
                    PromptKind::ConfirmRemove(id) => Request::Remove(id),
                    PromptKind::ConfirmRemoveComment(id, n) => {
                        self.end_pick();
                        Request::RemoveComment(id, n)
                    }
                    PromptKind::ConfirmDeleteMail(off) => Request::DeleteMail(off),
                    PromptKind::ConfirmUnsubscribe(t) => Request::Unsubscribe(t),
                    _ => return Vec::new(),
                })];
            }
            return Vec::new();
        }
        match self.keymap.lookup(&[Context::Prompt, Context::Edit], key) {
            Some(Action::Send) => return self.submit_prompt(),
            Some(Action::Cancel) => {
                let kind = p.kind.clone();
                self.prompt = None;
                self.live_filter(&kind, "");
                return Vec::new();
            }
            Some(a) => {
                edit(&mut p.input, a);
            }
            None => match typed(ev) {
                Some(c) => p.input.insert(c),
                None => return Vec::new(),
            },
        }
        let (kind, text) = (p.kind.clone(), p.input.text());
        self.live_filter(&kind, &text);
        Vec::new()
    }

    /// Filters and searches follow the text as it is typed.
    fn live_filter(&mut self, kind: &PromptKind, text: &str) {
        let lh = self.list_height();
        match kind {
            PromptKind::FilterBoards => self.boards.set_filter(text, lh),
            PromptKind::SearchTitle => self.posts.set_search(Some(Search::Title(text.into())), lh),
            PromptKind::SearchAuthor => {
                self.posts.set_search(Some(Search::Author(text.into())), lh)
            }
            _ => {}
        }
    }

    fn submit_prompt(&mut self) -> Vec<Effect> {
        let Some(p) = self.prompt.take() else {
            return Vec::new();
        };
        let text = p.input.text().trim().to_string();
        let req = match &p.kind {
            PromptKind::FilterBoards | PromptKind::SearchTitle | PromptKind::SearchAuthor => {
                return Vec::new();
            }
            PromptKind::CreateBoard if !text.is_empty() => Request::CreateBoard(text),
            PromptKind::Subscribe(t) if !text.is_empty() => Request::Subscribe(t.clone(), text),
            PromptKind::AddSub => match parse_sub(&text) {
                Ok((t, k)) => Request::Subscribe(t, k),
                Err(e) => {
                    self.prompt = Some(super::compose::Prompt {
                        error: Some(e),
                        ..p
                    });
                    return Vec::new();
                }
            },
            _ => return Vec::new(),
        };
        vec![Effect::Request(req)]
    }

    fn composer_key(&mut self, key: Key, ev: &KeyEvent) -> Vec<Effect> {
        let Some(c) = self.composer.as_mut() else {
            return Vec::new();
        };
        match self.keymap.lookup(&[Context::Composer, Context::Edit], key) {
            Some(Action::Send) if key.code == KeyCode::Enter && !c.on_last_field() => c.focus += 1,
            Some(Action::Send) => {
                if c.sending {
                    return Vec::new();
                }
                return match c.request() {
                    Ok(r) => {
                        c.sending = true;
                        c.error = None;
                        vec![Effect::Request(r)]
                    }
                    Err(e) => {
                        c.error = Some(e);
                        Vec::new()
                    }
                };
            }
            Some(Action::Newline) if matches!(c.kind, ComposeKind::Comment(_)) => {
                c.error = Some(ONE_LINE_COMMENT.into());
                return Vec::new();
            }
            Some(Action::Newline) => {
                if c.on_last_field() {
                    c.focused().newline();
                } else {
                    c.focus += 1;
                }
            }
            Some(Action::NextField) => c.focus = (c.focus + 1) % c.fields.len(),
            Some(Action::PrevField) => c.focus = (c.focus + c.fields.len() - 1) % c.fields.len(),
            Some(Action::Cancel) => return self.close_composer(),
            Some(Action::ExternalEditor) => return vec![Effect::Editor(c.focused().text())],
            Some(Action::CursorUp) => {
                if !c.focused().up() && c.focus > 0 {
                    c.focus -= 1;
                }
            }
            Some(Action::CursorDown) => {
                if !c.focused().down() && !c.on_last_field() {
                    c.focus += 1;
                }
            }
            Some(a) => {
                edit(c.focused(), a);
            }
            None => match typed(ev) {
                Some(ch) => c.focused().insert(ch),
                None => return Vec::new(),
            },
        }
        c.error = None;
        Vec::new()
    }

    /// Closes the composer, keeping a draft if anything was typed.
    pub fn close_composer(&mut self) -> Vec<Effect> {
        self.stash_draft();
        self.composer = None;
        vec![Effect::SaveLocal]
    }

    /// Copies the open composer's text into the local drafts.
    pub fn stash_draft(&mut self) {
        if let Some(c) = &self.composer {
            if c.is_blank() {
                self.local.drafts.remove(&c.draft_key());
            } else {
                self.local.drafts.insert(c.draft_key(), c.texts());
            }
        }
    }

    /// `$EDITOR` returned with `text` for the focused field.
    pub fn editor_done(&mut self, text: Option<String>) {
        match (text, self.composer.as_mut()) {
            (Some(t), Some(c)) => {
                let t = t.strip_suffix('\n').unwrap_or(&t).to_string();
                c.focused().set_text(&t);
            }
            (None, Some(c)) => c.error = Some("The editor failed; the text is unchanged.".into()),
            _ => {}
        }
    }

    /// Pasted text goes to the focused field.
    pub fn on_paste(&mut self, text: &str) {
        if let Some(c) = self.composer.as_mut() {
            c.focused().insert_str(text);
        } else if let Some(p) = self.prompt.as_mut() {
            p.input.insert_str(text);
        } else if self.screen() == Screen::Login {
            self.login.focused().insert_str(text);
        }
    }

    /// Mouse (only when enabled): the wheel scrolls.
    pub fn on_mouse(&mut self, ev: MouseEvent) -> Vec<Effect> {
        if !self.settings.mouse || self.composer.is_some() || self.prompt.is_some() {
            return Vec::new();
        }
        let action = match ev.kind {
            MouseEventKind::ScrollDown => Action::Down,
            MouseEventKind::ScrollUp => Action::Up,
            _ => return Vec::new(),
        };
        let mut fx = Vec::new();
        for _ in 0..3 {
            fx.extend(self.update(action));
        }
        fx
    }
}
