//! Forms: the multi-line [`Composer`] (posts, comments, pushes, edits, mail), the one-line
//! [`Prompt`] (filters, searches, names, confirmations) and the [`LoginForm`]. Each knows
//! its fields and turns itself into a worker [`Request`]; drafts are keyed so an unsent
//! text comes back when the same composer is opened again, even after a restart.

use super::editor::TextArea;
use super::msg::Request;
use crate::model::{Change, PostId, Push, SubTarget};

/// What is being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeKind {
    /// A new post on a board.
    Post(String),
    /// A comment on a post.
    Comment(PostId),
    /// A push on a post.
    Push(PostId, Push),
    /// An edit of an own post (original title and body, to send only what changed).
    Edit(PostId, String, String),
    /// A mail.
    Mail,
}

/// Why a comment with a line break is refused (the server and the classic format keep
/// one line per comment).
pub const ONE_LINE_COMMENT: &str =
    "A comment is one line: remove the line breaks (or write a post or a mail).";

/// A labelled field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Shown before / above the field.
    pub label: &'static str,
    /// The text.
    pub area: TextArea,
}

/// The composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composer {
    /// What it writes.
    pub kind: ComposeKind,
    /// Its fields; the last one is the multi-line body (except for pushes).
    pub fields: Vec<Field>,
    /// The focused field.
    pub focus: usize,
    /// The last refusal (validation or server), shown in the composer.
    pub error: Option<String>,
    /// Sent and waiting for the answer.
    pub sending: bool,
    /// The draft key of a reply by mail (`mail:<to>:<subject>`), so a reply never takes
    /// over or overwrites the draft of another mail.
    pub reply_key: Option<String>,
}

fn field(label: &'static str, single: bool, text: &str) -> Field {
    let area = if single {
        TextArea::single_line()
    } else {
        TextArea::new()
    };
    Field {
        label,
        area: area.with_text(text),
    }
}

impl Composer {
    /// A composer of `kind` (mail: recipient and subject prefilled).
    pub fn new(kind: ComposeKind, to: &str, subject: &str) -> Composer {
        let (fields, focus) = match &kind {
            ComposeKind::Post(_) => (
                vec![field("Title", true, ""), field("Content", false, "")],
                0,
            ),
            ComposeKind::Comment(_) => (vec![field("Comment", false, "")], 0),
            ComposeKind::Push(_, p) => (vec![field(p.symbol(), true, "")], 0),
            ComposeKind::Edit(_, title, body) => (
                vec![field("Title", true, title), field("Content", false, body)],
                1,
            ),
            ComposeKind::Mail => (
                vec![
                    field("To", true, to),
                    field("Subject", true, subject),
                    field("Content", false, ""),
                ],
                if to.is_empty() {
                    0
                } else if subject.is_empty() {
                    1
                } else {
                    2
                },
            ),
        };
        Composer {
            kind,
            fields,
            focus,
            error: None,
            sending: false,
            reply_key: None,
        }
    }

    /// The key of this composer's draft.
    pub fn draft_key(&self) -> String {
        if let Some(k) = &self.reply_key {
            return k.clone();
        }
        match &self.kind {
            ComposeKind::Post(b) => format!("post:{b}"),
            ComposeKind::Comment(id) => format!("comment:{id}"),
            ComposeKind::Push(id, p) => format!("push:{id}:{}", p.as_header()),
            ComposeKind::Edit(id, ..) => format!("edit:{id}"),
            ComposeKind::Mail => "mail".to_string(),
        }
    }

    /// The field texts (what a draft stores).
    pub fn texts(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.area.text()).collect()
    }

    /// Restores a draft's texts.
    pub fn restore(&mut self, texts: &[String]) {
        for (f, t) in self.fields.iter_mut().zip(texts) {
            f.area.set_text(t);
        }
    }

    /// Whether nothing was typed.
    pub fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.area.text().trim().is_empty())
    }

    /// The focused field's text.
    pub fn focused(&mut self) -> &mut TextArea {
        let i = self.focus.min(self.fields.len() - 1);
        &mut self.fields[i].area
    }

    /// Whether the focus is on the last field (where Enter sends).
    pub fn on_last_field(&self) -> bool {
        self.focus + 1 >= self.fields.len()
    }

    /// The request that sends it, or what is missing.
    pub fn request(&self) -> Result<Request, String> {
        let t = self.texts();
        let need = |i: usize, what: &str| -> Result<String, String> {
            let s = t
                .get(i)
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default();
            if s.trim().is_empty() {
                Err(format!("{what} is empty."))
            } else {
                Ok(s)
            }
        };
        Ok(match &self.kind {
            ComposeKind::Post(board) => Request::Post {
                board: board.clone(),
                title: need(0, "The title")?.trim().to_string(),
                body: need(1, "The content")?,
            },
            ComposeKind::Comment(id) => {
                let text = need(0, "The comment")?;
                if text.trim().contains('\n') {
                    return Err(ONE_LINE_COMMENT.into());
                }
                Request::Comment(*id, text.trim().to_string())
            }
            ComposeKind::Push(id, p) => Request::Push(*id, *p, need(0, "The remark")?),
            ComposeKind::Edit(id, title, body) => {
                let new_title = need(0, "The title")?.trim().to_string();
                let new_body = need(1, "The content")?;
                let mut changes = Vec::new();
                if &new_title != title {
                    changes.push(Change::Title(new_title));
                }
                if &new_body != body {
                    changes.push(Change::Content(new_body));
                }
                if changes.is_empty() {
                    return Err("Nothing changed.".into());
                }
                Request::Edit(*id, changes)
            }
            ComposeKind::Mail => Request::Mail {
                to: need(0, "The recipient")?.trim().to_string(),
                subject: need(1, "The subject")?.trim().to_string(),
                body: need(2, "The content")?,
            },
        })
    }

    /// The title of the composer's box.
    pub fn title(&self) -> String {
        match &self.kind {
            ComposeKind::Post(b) => format!("New post on {b}"),
            ComposeKind::Comment(id) => format!("Comment on #{id}"),
            ComposeKind::Push(id, p) => format!("{} #{id}", p.symbol()),
            ComposeKind::Edit(id, ..) => format!("Edit #{id}"),
            ComposeKind::Mail => "New mail".into(),
        }
    }
}

/// What a one-line question is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// Filter boards by name (live).
    FilterBoards,
    /// Search posts by title (live).
    SearchTitle,
    /// Search posts by author (live).
    SearchAuthor,
    /// Name of a new board.
    CreateBoard,
    /// Keyword for a subscription to this target.
    Subscribe(SubTarget),
    /// `board NAME KEYWORD` or `author NAME KEYWORD`.
    AddSub,
    /// Delete post? (y/n)
    ConfirmDelete(PostId),
    /// Remove post (as the moderator)? (y/n)
    ConfirmRemove(PostId),
    /// Remove comment n (from 1) of a post (as the moderator)? (y/n)
    ConfirmRemoveComment(PostId, u32),
    /// Delete mail? (y/n)
    ConfirmDeleteMail(i64),
    /// Unsubscribe? (y/n)
    ConfirmUnsubscribe(SubTarget),
}

impl PromptKind {
    /// A yes/no question: answered by one key.
    pub fn is_confirm(&self) -> bool {
        matches!(
            self,
            PromptKind::ConfirmDelete(_)
                | PromptKind::ConfirmRemove(_)
                | PromptKind::ConfirmRemoveComment(..)
                | PromptKind::ConfirmDeleteMail(_)
                | PromptKind::ConfirmUnsubscribe(_)
        )
    }

    /// The question shown.
    pub fn label(&self) -> String {
        match self {
            PromptKind::FilterBoards => "Filter boards: ".into(),
            PromptKind::SearchTitle => "Search title: ".into(),
            PromptKind::SearchAuthor => "Search author: ".into(),
            PromptKind::CreateBoard => "New board name: ".into(),
            PromptKind::Subscribe(t) => format!("Keyword for {t}: "),
            PromptKind::AddSub => "Subscribe (board|author NAME KEYWORD): ".into(),
            PromptKind::ConfirmDelete(id) => format!("Delete post #{id}? (y/N) "),
            PromptKind::ConfirmRemove(id) => {
                format!("Remove post #{id} as the moderator? (y/N) ")
            }
            PromptKind::ConfirmRemoveComment(id, n) => {
                format!("Remove comment {n} of post #{id} as the moderator? (y/N) ")
            }
            PromptKind::ConfirmDeleteMail(_) => "Delete this mail? (y/N) ".into(),
            PromptKind::ConfirmUnsubscribe(t) => format!("Unsubscribe {t}? (y/N) "),
        }
    }
}

/// A one-line question at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it is for.
    pub kind: PromptKind,
    /// The answer being typed.
    pub input: TextArea,
    /// What was wrong with the last answer.
    pub error: Option<String>,
}

impl Prompt {
    /// A prompt with `initial` text.
    pub fn new(kind: PromptKind, initial: &str) -> Prompt {
        Prompt {
            kind,
            input: TextArea::single_line().with_text(initial),
            error: None,
        }
    }
}

/// Parses the answer of [`PromptKind::AddSub`].
pub fn parse_sub(s: &str) -> Result<(SubTarget, String), String> {
    let mut parts = s.split_whitespace();
    let usage = || "Type: board NAME KEYWORD, or author NAME KEYWORD.".to_string();
    let kind = parts.next().ok_or_else(usage)?;
    let name = parts.next().ok_or_else(usage)?;
    let keyword = parts.collect::<Vec<_>>().join(" ");
    if keyword.is_empty() {
        return Err(usage());
    }
    let target = match kind {
        "board" | "b" => SubTarget::board(name),
        "author" | "a" => SubTarget::author(name),
        _ => return Err(usage()),
    };
    Ok((target, keyword))
}

/// The login / register form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginForm {
    /// Registering instead of logging in.
    pub register: bool,
    /// Username.
    pub user: TextArea,
    /// Password (drawn masked).
    pub password: TextArea,
    /// Email (register only).
    pub email: TextArea,
    /// Focused field: 0 user, 1 password, 2 email.
    pub focus: usize,
    /// The last error (wrong password, name taken, server unreachable).
    pub error: Option<String>,
    /// The last success message (registered).
    pub info: Option<String>,
    /// Waiting for the worker.
    pub busy: bool,
    /// A hint under the form (demo credentials).
    pub hint: Option<String>,
}

impl Default for LoginForm {
    fn default() -> Self {
        LoginForm {
            register: false,
            user: TextArea::single_line(),
            password: TextArea::single_line(),
            email: TextArea::single_line(),
            focus: 0,
            error: None,
            info: None,
            busy: false,
            hint: None,
        }
    }
}

impl LoginForm {
    /// Number of fields in the current mode.
    pub fn field_count(&self) -> usize {
        if self.register {
            3
        } else {
            2
        }
    }

    /// The focused field.
    pub fn focused(&mut self) -> &mut TextArea {
        match self.focus {
            0 => &mut self.user,
            1 => &mut self.password,
            _ => &mut self.email,
        }
    }

    /// The request to send, or what is missing.
    pub fn request(&self) -> Result<Request, String> {
        let user = self.user.text().trim().to_string();
        let password = self.password.text();
        if user.is_empty() {
            return Err("Type a username.".into());
        }
        if user.contains(char::is_whitespace) {
            return Err("A username has no spaces.".into());
        }
        if password.is_empty() {
            return Err("Type a password.".into());
        }
        if self.register {
            let email = self.email.text().trim().to_string();
            if email.is_empty() {
                return Err("Type an email address.".into());
            }
            Ok(Request::Register {
                user,
                email,
                password,
            })
        } else {
            Ok(Request::Login { user, password })
        }
    }
}
