//! `bbs-server admin ...`: the operator's moderation commands against the running server.
//! They log in over the Kafka protocol as the operator (`__operator`, with the secret the
//! server wrote to `<data>/operator.secret`, like `users`), so every action is an ordinary
//! BBS record checked by the record policy, and replays after a restart. `backup` is the
//! exception: it copies the data directory's files (see [`crate::backup`]).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::codec::OPERATOR;
use bbs::session::Session;
use bbs::state::Post;
use broker::auth::operator::read_secret;
use broker::BrokerConfig;
use clap::Subcommand;

/// What the operator does.
#[derive(Subcommand, Debug)]
pub(crate) enum AdminAction {
    /// List the users logged in right now.
    Online,
    /// Remove a post on any board (it shows as removed by the moderator).
    RemovePost {
        /// The post id.
        id: String,
    },
    /// Remove the N-th comment (from 1) of a post on any board.
    RemoveComment {
        /// The post id.
        id: String,
        /// The comment number, as `read` lists them.
        n: String,
    },
    /// Print a board as JSON lines: one object per post (removed posts show the removal,
    /// not the author's text).
    ExportBoard {
        /// The board name.
        board: String,
    },
    /// Delete a board for good (operator only).
    ///
    /// It leaves the board list, its posts are no longer served, posts
    /// to it are refused, and its name is never used again (the records stay in the log).
    DeleteBoard {
        /// The board name.
        board: String,
    },
    /// Disable a user: no login, no writes, their posts hidden.
    ///
    /// They cannot log in ("The account NAME is disabled by the
    /// operator."), their live sessions can no longer write, and their posts, comments
    /// and pushes are hidden from everyone until `enable-user`.
    DisableUser {
        /// The user name.
        name: String,
    },
    /// Enable a disabled user again: they log in, and what they wrote is shown again.
    EnableUser {
        /// The user name.
        name: String,
    },
    /// Copy the data directory to DIR (new), while the server runs or is stopped.
    ///
    /// Each file is copied up to its size when opened, in an order in
    /// which nothing copied refers to data not copied (internal state, then boards,
    /// mailboxes and subscription lists, then the board and user directories); files
    /// removed by retention meanwhile are skipped. The copy is then recovered as after a
    /// crash (a torn tail is cut) and verified. It holds every record acknowledged before
    /// the backup started; start a server on it, or check it with `bbs-server check`.
    Backup {
        /// Where the copy goes.
        dir: std::path::PathBuf,
    },
}

/// Logs in to the running server of data directory `dir` as the operator.
fn operator_session(dir: &Path) -> Result<Session> {
    let (secret, addr) =
        read_secret(dir).context("is the server running? its operator secret is unreadable")?;
    let link = KafkaBackend::new(&addr)
        .connect()
        .map_err(|e| anyhow!("connecting to {addr}: {e}"))?;
    let mut session = Session::new(link);
    session
        .login(OPERATOR, &secret)
        .map_err(|e| anyhow!("logging in to {addr} as the operator: {e}"))?;
    Ok(session)
}

/// Runs one `admin` command against the server of data directory `dir` (blocking: call it
/// outside an async runtime).
pub(crate) fn run(dir: &Path, action: AdminAction, config: &BrokerConfig) -> Result<()> {
    if let AdminAction::Backup { dir: to } = &action {
        return crate::backup::run(dir, to, config);
    }
    let mut session = operator_session(dir)?;
    let result = match action {
        AdminAction::Online => session.online().map(|users| {
            for u in users {
                println!("{u}");
            }
        }),
        AdminAction::RemovePost { id } => session.remove_post(&id).map(|()| {
            println!("post {id} removed");
        }),
        AdminAction::RemoveComment { id, n } => session.remove_comment(&id, &n).map(|()| {
            println!("comment {n} of post {id} removed");
        }),
        AdminAction::DeleteBoard { board } => session.delete_board(&board).map(|()| {
            println!("board {board} deleted");
        }),
        AdminAction::DisableUser { name } => session.set_user_disabled(&name, true).map(|()| {
            println!("{name} disabled");
        }),
        AdminAction::EnableUser { name } => session.set_user_disabled(&name, false).map(|()| {
            println!("{name} enabled");
        }),
        AdminAction::Backup { .. } => Ok(()),
        AdminAction::ExportBoard { board } => session.posts(&board, None).map(|posts| {
            for p in &posts {
                println!("{}", post_json(p));
            }
        }),
    };
    session.close();
    match result {
        Ok(()) => Ok(()),
        Err(e) => bail!("{e}"),
    }
}

/// One post as a JSON object (a line).
pub(crate) fn post_json(p: &Post) -> String {
    let comments: Vec<String> = p
        .comments
        .iter()
        .map(|c| {
            format!(
                "{{\"author\":{},\"body\":{},\"time\":{}}}",
                json_str(&c.author),
                json_str(&c.body),
                c.time
            )
        })
        .collect();
    let pushes: Vec<String> = p
        .pushes
        .iter()
        .map(|x| {
            format!(
                "{{\"author\":{},\"score\":{},\"body\":{},\"time\":{}}}",
                json_str(&x.author),
                x.push.score(),
                json_str(&x.body),
                x.time
            )
        })
        .collect();
    format!(
        "{{\"id\":{},\"board\":{},\"author\":{},\"title\":{},\"body\":{},\"time\":{},\"edited\":{},\"removed_by\":{},\"comments\":[{}],\"pushes\":[{}]}}",
        p.id,
        json_str(&p.board),
        json_str(&p.author),
        json_str(&p.title),
        json_str(&p.body),
        p.time,
        p.edited.map_or("null".to_string(), |t| t.to_string()),
        p.removed_by.as_deref().map_or("null".to_string(), json_str),
        comments.join(","),
        pushes.join(",")
    )
}

/// A JSON string literal (RFC 8259 escaping).
fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        assert_eq!(json_str("a\"b\\c\nd\u{1b}"), "\"a\\\"b\\\\c\\nd\\u001b\"");
    }
}
