//! The interpreter of a session's byte stream, without I/O: bytes in → text out. It prints
//! the banner and the `% ` prompt, runs complete lines through the command language,
//! handles `exit`, bounds the line buffer (a 1 MB line costs at most `max_line` bytes), and
//! renders asynchronous notifications so they never garble the input line: the
//! notification goes on its own line, then the prompt and the partial input received so
//! far are printed again. The blocking driver ([`super::driver`]) and the classic TCP port
//! feed it; so can any async loop.

use super::command::exec::run_line;
use super::command::format::{self, PROMPT};
use super::command::parse::parse;
use crate::model::PostEvent;
use crate::session::Session;

/// Default bound on one input line.
pub const MAX_LINE: usize = 64 * 1024;

/// How a notification is drawn over a pending prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeStyle {
    /// Newline, notification, newline, prompt and partial input: safe on pipes, sockets and
    /// any terminal (the prompt line stays visible above).
    Newline,
    /// Erase the prompt line (`\r` + ANSI erase line), notification, newline, prompt and
    /// partial input: for terminals that understand ANSI.
    Ansi,
}

/// One session's interpreter.
pub struct Interpreter {
    /// The session commands run on.
    session: Session,
    /// Bytes of the line being typed (no newline yet).
    partial: Vec<u8>,
    /// The current line overflowed `max_line`: drop bytes until its newline.
    overflow: bool,
    /// Bound on `partial`.
    max_line: usize,
    /// How notifications are drawn.
    style: NoticeStyle,
    /// `exit` was run (or input ended): no more output.
    closed: bool,
}

impl Interpreter {
    /// An interpreter over `session`.
    pub fn new(session: Session, style: NoticeStyle) -> Interpreter {
        Interpreter {
            session,
            partial: Vec::new(),
            overflow: false,
            max_line: MAX_LINE,
            style,
            closed: false,
        }
    }

    /// Changes the line bound.
    pub fn with_max_line(mut self, max_line: usize) -> Interpreter {
        self.max_line = max_line.max(1);
        self
    }

    /// The session, e.g. to install its event sink.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Banner and first prompt.
    pub fn greeting(&self) -> String {
        let mut out = format::banner().join("\n");
        out.push('\n');
        out.push_str(PROMPT);
        out
    }

    /// Consumes input bytes; returns what to print. Complete lines run as commands.
    pub fn feed(&mut self, data: &[u8]) -> String {
        let mut out = String::new();
        for &b in data {
            if self.closed {
                break;
            }
            if b == b'\n' {
                let mut line = std::mem::take(&mut self.partial);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if std::mem::take(&mut self.overflow) {
                    out.push_str("Line too long.\n");
                    out.push_str(PROMPT);
                } else {
                    self.run(&String::from_utf8_lossy(&line), &mut out);
                }
            } else if self.overflow {
                continue;
            } else if self.partial.len() >= self.max_line {
                self.partial.clear();
                self.overflow = true;
            } else {
                self.partial.push(b);
            }
        }
        out
    }

    /// Input ended: a last unterminated line still runs, then the session closes.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        if !self.closed && !self.partial.is_empty() && !self.overflow {
            let line = std::mem::take(&mut self.partial);
            self.run(&String::from_utf8_lossy(&line), &mut out);
        }
        if !self.closed {
            self.session.close();
            self.closed = true;
        }
        out
    }

    fn run(&mut self, line: &str, out: &mut String) {
        if parse(line).is_ok_and(|c| c.reads_view()) {
            // Commands see everything written before they were typed (on Kafka: the feed
            // catches up with the server first).
            self.session.sync();
        }
        let reply = run_line(&mut self.session, line);
        for l in &reply.lines {
            out.push_str(l);
            out.push('\n');
        }
        if reply.close {
            self.closed = true;
        } else {
            out.push_str(PROMPT);
        }
    }

    /// A live post event: the text to print if it notifies this session.
    pub fn event(&mut self, ev: &PostEvent) -> Option<String> {
        if self.closed || !self.session.notification(ev) {
            return None;
        }
        let lead = match self.style {
            NoticeStyle::Newline => "\n",
            NoticeStyle::Ansi => "\r\x1b[2K",
        };
        Some(format!(
            "{lead}{}\n{PROMPT}{}",
            format::notification(ev),
            String::from_utf8_lossy(&self.partial)
        ))
    }
}
