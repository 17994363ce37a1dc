//! `bbs-server admin ...`: the operator's moderation commands against the running server.
//! They log in over the Kafka protocol as the operator (`__operator`, with the secret the
//! server wrote to `<data>/operator.secret`, like `users`), so every action is an ordinary
//! BBS record checked by the record policy, and replays after a restart. `backup` is the
//! exception: it copies the data directory's logs while holding the directory lock.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::codec::OPERATOR;
use bbs::session::Session;
use bbs::view::Post;
use broker::auth::lock::DirLock;
use broker::auth::operator::read_secret;
use clap::Subcommand;

/// What the operator does.
#[derive(Subcommand, Debug)]
pub enum AdminAction {
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
    /// Copy the data directory's logs to DIR (which must not exist yet). The server must
    /// be stopped: the copy holds the data directory's lock, so no write happens during it
    /// and the copy is a consistent state (every log ends on a whole, fsynced batch).
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
pub fn run(dir: &Path, action: AdminAction) -> Result<()> {
    if let AdminAction::Backup { dir: to } = &action {
        return backup(dir, to);
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

/// Copies the data directory `from` to `to` under the directory lock (see
/// [`AdminAction::Backup`]); the lock file and the operator secret are not copied.
fn backup(from: &Path, to: &Path) -> Result<()> {
    let _lock = match DirLock::acquire(from) {
        Ok(lock) => lock,
        Err(broker::Error::Locked(_)) => bail!(
            "the server is running on {}: stop it first (the backup holds the data \
             directory's lock so that nothing writes while it copies)",
            from.display()
        ),
        Err(e) => return Err(e.into()),
    };
    if to.exists() {
        bail!("{} already exists: give a new directory", to.display());
    }
    let (mut files, mut bytes) = (0u64, 0u64);
    copy_tree(from, to, &mut files, &mut bytes)?;
    println!("backup: {files} files, {bytes} bytes to {}", to.display());
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, files: &mut u64, bytes: &mut u64) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "lock" || name == "operator.secret" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst, files, bytes)?;
        } else {
            *bytes +=
                std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
            *files += 1;
        }
    }
    Ok(())
}

/// One post as a JSON object (a line).
pub fn post_json(p: &Post) -> String {
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
