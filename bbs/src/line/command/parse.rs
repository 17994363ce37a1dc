//! The parser: one command line → [`Command`] or a [`ParseError`] whose text is the
//! `Usage: ...` line. Syntax is checked before anything else (login, existence), so a
//! malformed line never reaches the session.
//!
//! Quoting rules (none beyond these): the first word is the command; positional words are
//! separated by whitespace; a board name, title, subject, comment or keyword runs to the
//! next option marker (a known `--option` standing as its own word) or `##` filter, or to
//! the end of the line, so it may contain spaces; values are trimmed; in `--content`,
//! `<br>` becomes a line break.

use super::{Command, ParseError};
use crate::model::{Change, Push, SubKind, SubTarget};

const U_REGISTER: &str = "register <username> <email> <password>";
const U_LOGIN: &str = "login <username> <password>";
const U_CREATE_BOARD: &str = "create-board <name>";
const U_CREATE_POST: &str = "create-post <board> --title <title> --content <content>";
const U_LIST_BOARD: &str = "list-board [##<key>]";
const U_LIST_POST: &str = "list-post <board> [##<key>]";
const U_SEARCH: &str = "search <board> <key>";
const U_READ: &str = "read <post-id>";
const U_UPDATE: &str = "update-post <post-id> --title <new> | --content <new>";
const U_DELETE: &str = "delete-post <post-id>";
const U_COMMENT: &str = "comment <post-id> <comment>";
const U_PUSH: &str = "push <post-id> <推|噓|→> <text>";
const U_MAIL_TO: &str = "mail-to <username> --subject <subject> --content <content>";
const U_RETR: &str = "retr-mail <n>";
const U_DELETE_MAIL: &str = "delete-mail <n>";
const U_REMOVE_POST: &str = "remove-post <post-id>";
const U_REMOVE_COMMENT: &str = "remove-comment <post-id> <comment-number>";
const U_DELETE_BOARD: &str = "delete-board <name>";
const U_DISABLE_USER: &str = "disable-user <username>";
const U_ENABLE_USER: &str = "enable-user <username>";
const U_UNSUB: &str = "unsubscribe --board <board-name> | --author <author-name>";

/// A line split into the text before the first option and the options' values.
struct Options<'a> {
    /// Text before the first option marker, trimmed.
    head: &'a str,
    /// (option name without `--`, value trimmed), in line order.
    opts: Vec<(&'a str, &'a str)>,
}

impl<'a> Options<'a> {
    /// Splits `rest` at the markers `--<name>` for `names` (whole words only).
    fn split(rest: &'a str, names: &[&'static str]) -> Options<'a> {
        let mut marks: Vec<(usize, usize, &'a str)> = Vec::new(); // (start, end, name)
        let bytes = rest.as_bytes();
        let mut i = 0;
        while let Some(pos) = rest[i..].find("--") {
            let start = i + pos;
            let word_end = rest[start..]
                .find(char::is_whitespace)
                .map_or(rest.len(), |e| start + e);
            let at_word_start = start == 0 || bytes[start - 1].is_ascii_whitespace();
            let name = &rest[start + 2..word_end];
            if at_word_start {
                if let Some(n) = names.iter().find(|n| **n == name) {
                    marks.push((start, word_end, n));
                }
            }
            i = word_end.max(start + 2);
        }
        let head_end = marks.first().map_or(rest.len(), |m| m.0);
        let opts = marks
            .iter()
            .enumerate()
            .map(|(k, &(_, end, name))| {
                let stop = marks.get(k + 1).map_or(rest.len(), |m| m.0);
                (name, rest[end..stop].trim())
            })
            .collect();
        Options {
            head: rest[..head_end].trim(),
            opts,
        }
    }
    /// The value of `name` when it appears exactly once with a non-empty value.
    fn one(&self, name: &str) -> Option<&'a str> {
        let mut it = self.opts.iter().filter(|(n, _)| *n == name);
        match (it.next(), it.next()) {
            (Some((_, v)), None) if !v.is_empty() => Some(v),
            _ => None,
        }
    }
    fn has(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }
}

/// Turns `<br>` into line breaks.
fn content(s: &str) -> String {
    s.replace("<br>", "\n")
}

/// Splits `rest` into the text before a `##` filter and the filter.
fn filter(rest: &str) -> (&str, Option<String>) {
    let mut from = 0;
    while let Some(pos) = rest[from..].find("##") {
        let at = from + pos;
        if at == 0 || rest.as_bytes()[at - 1].is_ascii_whitespace() {
            return (rest[..at].trim(), Some(rest[at + 2..].trim().to_string()));
        }
        from = at + 2;
    }
    (rest.trim(), None)
}

/// The first word of `rest` (required) and the remainder.
fn first_word(rest: &str) -> Option<(&str, &str)> {
    let rest = rest.trim_start();
    if rest.is_empty() {
        return None;
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some((&rest[..end], rest[end..].trim()))
}

/// Parses one command line (without its line terminator).
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let line = line.trim();
    let Some((word, rest)) = first_word(line) else {
        return Ok(Command::Empty);
    };
    let usage = ParseError::Usage;
    let words: Vec<&str> = rest.split_whitespace().collect();
    Ok(match word {
        "register" => match words[..] {
            [user, email, password] => Command::Register {
                user: user.into(),
                email: email.into(),
                password: password.into(),
            },
            _ => return Err(usage(U_REGISTER)),
        },
        "login" => match words[..] {
            [user, password] => Command::Login {
                user: user.into(),
                password: password.into(),
            },
            _ => return Err(usage(U_LOGIN)),
        },
        "logout" => Command::Logout,
        "whoami" => Command::Whoami,
        "exit" => Command::Exit,
        "list-mail" => Command::ListMail,
        "list-sub" => Command::ListSub,
        "create-board" if !rest.is_empty() => Command::CreateBoard { name: rest.into() },
        "create-board" => return Err(usage(U_CREATE_BOARD)),
        "create-post" => {
            let o = Options::split(rest, &["title", "content"]);
            match (o.head, o.one("title"), o.one("content")) {
                (board, Some(title), Some(c)) if !board.is_empty() && o.opts.len() == 2 => {
                    Command::CreatePost {
                        board: board.into(),
                        title: title.into(),
                        content: content(c),
                    }
                }
                _ => return Err(usage(U_CREATE_POST)),
            }
        }
        "list-board" => match filter(rest) {
            ("", filter) => Command::ListBoard { filter },
            _ => return Err(usage(U_LIST_BOARD)),
        },
        "list-post" => match filter(rest) {
            ("", _) => return Err(usage(U_LIST_POST)),
            (board, filter) => Command::ListPost {
                board: board.into(),
                filter,
            },
        },
        // Extension (search ignoring case and width): not in the classic language.
        "search" => match first_word(rest) {
            Some((board, key)) if !key.is_empty() => Command::Search {
                board: board.into(),
                key: key.into(),
            },
            _ => return Err(usage(U_SEARCH)),
        },
        "read" => match words.first() {
            Some(id) => Command::Read {
                post: id.to_string(),
            },
            None => return Err(usage(U_READ)),
        },
        "delete-post" => match words.first() {
            Some(id) => Command::DeletePost {
                post: id.to_string(),
            },
            None => return Err(usage(U_DELETE)),
        },
        // Extension (moderation): not in the classic language.
        "remove-post" => match words[..] {
            [id] => Command::RemovePost {
                post: id.to_string(),
            },
            _ => return Err(usage(U_REMOVE_POST)),
        },
        "remove-comment" => match words[..] {
            [id, n] => Command::RemoveComment {
                post: id.to_string(),
                n: n.to_string(),
            },
            _ => return Err(usage(U_REMOVE_COMMENT)),
        },
        // Extensions (the operator's moderation).
        "delete-board" if !rest.is_empty() => Command::DeleteBoard { board: rest.into() },
        "delete-board" => return Err(usage(U_DELETE_BOARD)),
        "disable-user" | "enable-user" => match words[..] {
            [user] => Command::SetUserDisabled {
                user: user.to_string(),
                disabled: word == "disable-user",
            },
            _ if word == "disable-user" => return Err(usage(U_DISABLE_USER)),
            _ => return Err(usage(U_ENABLE_USER)),
        },
        "retr-mail" => match words.first() {
            Some(n) => Command::RetrMail { n: n.to_string() },
            None => return Err(usage(U_RETR)),
        },
        "delete-mail" => match words.first() {
            Some(n) => Command::DeleteMail { n: n.to_string() },
            None => return Err(usage(U_DELETE_MAIL)),
        },
        "update-post" => {
            let o = Options::split(rest, &["title", "content"]);
            let change = match (o.opts.len(), o.one("title"), o.one("content")) {
                (1, Some(t), None) => Change::Title(t.into()),
                (1, None, Some(c)) => Change::Content(content(c)),
                _ => return Err(usage(U_UPDATE)),
            };
            match o.head.split_whitespace().collect::<Vec<_>>()[..] {
                [id] => Command::UpdatePost {
                    post: id.into(),
                    change,
                },
                _ => return Err(usage(U_UPDATE)),
            }
        }
        "comment" => match first_word(rest) {
            Some((id, text)) if !text.is_empty() => Command::Comment {
                post: id.into(),
                text: text.into(),
            },
            _ => return Err(usage(U_COMMENT)),
        },
        "push" => match first_word(rest).and_then(|(id, r)| Some((id, first_word(r)?))) {
            Some((id, (mark, text))) if !text.is_empty() => Command::Push {
                post: id.into(),
                push: push_mark(mark).ok_or(usage(U_PUSH))?,
                text: text.into(),
            },
            _ => return Err(usage(U_PUSH)),
        },
        "mail-to" => {
            let o = Options::split(rest, &["subject", "content"]);
            let user: Vec<&str> = o.head.split_whitespace().collect();
            match (&user[..], o.one("subject"), o.one("content")) {
                ([user], Some(subject), Some(c)) if o.opts.len() == 2 => Command::MailTo {
                    user: user.to_string(),
                    subject: subject.into(),
                    content: content(c),
                },
                _ => return Err(usage(U_MAIL_TO)),
            }
        }
        "subscribe" => {
            let o = Options::split(rest, &["board", "author", "keyword"]);
            let kind = if o.has("author") && !o.has("board") {
                SubKind::Author
            } else {
                SubKind::Board
            };
            let bad = ParseError::SubscribeOption(kind);
            if !o.head.is_empty() || o.opts.len() != 2 {
                return Err(bad);
            }
            let target = match (o.one("board"), o.one("author")) {
                (Some(b), None) => SubTarget::board(b),
                (None, Some(a)) => SubTarget::author(a),
                _ => return Err(bad),
            };
            match o.one("keyword") {
                Some(keyword) => Command::Subscribe {
                    target,
                    keyword: keyword.into(),
                },
                None => return Err(bad),
            }
        }
        "unsubscribe" => {
            let o = Options::split(rest, &["board", "author"]);
            if !o.head.is_empty() || o.opts.len() != 1 {
                return Err(usage(U_UNSUB));
            }
            match (o.one("board"), o.one("author")) {
                (Some(b), None) => Command::Unsubscribe {
                    target: SubTarget::board(b),
                },
                (None, Some(a)) => Command::Unsubscribe {
                    target: SubTarget::author(a),
                },
                _ => return Err(usage(U_UNSUB)),
            }
        }
        other => return Err(ParseError::Unknown(other.to_string())),
    })
}

/// The kind of a `push`: the PTT marks, or `+` / `-` / `>` for keyboards without them.
fn push_mark(mark: &str) -> Option<Push> {
    match mark {
        "推" | "+" => Some(Push::Up),
        "噓" | "-" => Some(Push::Down),
        "→" | ">" => Some(Push::Arrow),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
