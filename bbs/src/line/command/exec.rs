//! The executor: runs one parsed [`Command`] on a [`Session`] and renders its output with
//! [`super::format`]. This is the whole command language: parse, execute, format.

use super::format;
use super::parse::parse;
use super::Command;
use crate::error::Result;
use crate::session::Session;

/// What a command line produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// Output lines, without terminators.
    pub lines: Vec<String>,
    /// The session ends (`exit`).
    pub close: bool,
}

fn one(line: impl Into<String>) -> Result<Vec<String>> {
    Ok(vec![line.into()])
}

/// Parses and runs one line.
pub fn run_line(session: &mut Session, line: &str) -> Reply {
    match parse(line) {
        Ok(cmd) => execute(session, &cmd),
        Err(e) => Reply {
            lines: vec![e.to_string()],
            close: false,
        },
    }
}

/// Runs one command.
pub fn execute(session: &mut Session, cmd: &Command) -> Reply {
    if *cmd == Command::Exit {
        session.close();
        return Reply {
            lines: Vec::new(),
            close: true,
        };
    }
    let lines = match outcome(session, cmd) {
        Ok(lines) => lines,
        Err(e) => {
            if !matches!(e, crate::Error::Refused(_)) {
                tracing::warn!(error = %e, ?cmd, "command failed");
            }
            vec![format::error(&e)]
        }
    };
    Reply {
        lines,
        close: false,
    }
}

fn outcome(s: &mut Session, cmd: &Command) -> Result<Vec<String>> {
    match cmd {
        Command::Empty | Command::Exit => Ok(Vec::new()),
        Command::Register {
            user,
            email,
            password,
        } => {
            s.register(user, email, password)?;
            one("Register successfully.")
        }
        Command::Login { user, password } => one(format!(
            "Welcome, {}.",
            safe_text::line(&s.login(user, password)?)
        )),
        Command::Logout => one(format!("Bye, {}.", safe_text::line(&s.logout()?))),
        Command::Whoami => one(safe_text::line(&s.whoami()?).into_owned()),
        Command::CreateBoard { name } => {
            s.create_board(name)?;
            one("Create board successfully.")
        }
        Command::CreatePost {
            board,
            title,
            content,
        } => {
            s.create_post(board, title, content)?;
            one("Create post successfully.")
        }
        Command::ListBoard { filter } => Ok(format::boards(&s.boards(filter.as_deref()))),
        Command::ListPost { board, filter } => {
            let scored = s.posts(board, None)?.iter().any(|p| !p.pushes.is_empty());
            let rows = s.posts(board, filter.as_deref())?;
            Ok(format::posts(&rows, scored, s.zone()))
        }
        Command::Search { board, key } => {
            let all = s.posts(board, None)?;
            let scored = all.iter().any(|p| !p.pushes.is_empty());
            let rows: Vec<_> = all
                .into_iter()
                .filter(|p| crate::search::contains(&p.title, key))
                .collect();
            if rows.is_empty() {
                return one(format!("No match for \"{}\".", safe_text::line(key)));
            }
            Ok(format::posts(&rows, scored, s.zone()))
        }
        Command::Read { post } => Ok(format::post(&s.read(post)?, s.zone())),
        Command::UpdatePost { post, change } => {
            s.update_post(post, change.clone())?;
            one("Update successfully.")
        }
        Command::DeletePost { post } => {
            s.delete_post(post)?;
            one("Delete successfully.")
        }
        Command::RemovePost { post } => {
            s.remove_post(post)?;
            one("Post removed.")
        }
        Command::RemoveComment { post, n } => {
            s.remove_comment(post, n)?;
            one("Comment removed.")
        }
        Command::DeleteBoard { board } => {
            s.delete_board(board)?;
            one("Board deleted.")
        }
        Command::SetUserDisabled { user, disabled } => {
            s.set_user_disabled(user, *disabled)?;
            one(if *disabled {
                "User disabled."
            } else {
                "User enabled."
            })
        }
        Command::Comment { post, text } => {
            s.comment(post, text)?;
            one("Comment successfully.")
        }
        Command::Push { post, push, text } => {
            s.push(post, *push, text)?;
            one("Push successfully.")
        }
        Command::MailTo {
            user,
            subject,
            content,
        } => {
            s.mail_to(user, subject, content)?;
            one("Sent successfully.")
        }
        Command::ListMail => Ok(format::mails(&s.mails()?, s.zone())),
        Command::RetrMail { n } => Ok(format::mail(&s.retr_mail(n)?, s.zone())),
        Command::DeleteMail { n } => {
            s.delete_mail(n)?;
            one("Mail deleted.")
        }
        Command::Subscribe { target, keyword } => {
            s.subscribe(target.clone(), keyword)?;
            one("Subscribe successfully.")
        }
        Command::Unsubscribe { target } => {
            s.unsubscribe(target.clone())?;
            one("Unsubscribe successfully.")
        }
        Command::ListSub => Ok(format::subscriptions(&s.subscriptions()?)),
    }
}
