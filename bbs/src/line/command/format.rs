//! The formatter: results of the [`crate::session::Session`] API → the exact output lines of
//! the classic command language (tabs, colons and dates as `classic-commands.md` fixes
//! them; dates in the session's [`Zone`]). Lines carry no terminator. Extensions (pushes
//! in `read`, the `Score` column of `list-post`) are documented in
//! `docs/line-mode-extensions.md` and print nothing where there are no pushes.
//!
//! Every piece of stored text is shown through [`safe_text`]'s escaping (one-line fields
//! with every control and bidi character escaped as `\u{..}`, content keeping `\n` and
//! `\t`), so records that bypassed the policy cannot repaint a terminal or fake a row.

use safe_text::{content, line};

use crate::error::Error;
use crate::model::{PostEvent, SubKind};
use crate::session::{BoardRow, MailRow};
use crate::state::{Mail, Post, Subscription};
use crate::time::{full_date, month_day, Zone};

/// The three banner lines printed on connect.
pub fn banner() -> Vec<String> {
    let stars = "*".repeat(32);
    vec![
        stars.clone(),
        "** Welcome to the BBS server. **".to_string(),
        stars,
    ]
}

/// The prompt (no newline).
pub const PROMPT: &str = "% ";

/// A failed command's line: the exact refusal, or `Error: ...` for a broken backend.
pub fn error(e: &Error) -> String {
    match e {
        Error::Refused(f) => line(&f.to_string()).into_owned(),
        other => line(&format!("Error: {other}")).into_owned(),
    }
}

/// `list-board`.
pub fn boards(rows: &[BoardRow]) -> Vec<String> {
    let mut out = vec!["\tIndex\tName\tModerator".to_string()];
    out.extend(rows.iter().map(|r| {
        format!(
            "\t{}\t{}\t{}",
            r.index,
            line(&r.board.name),
            line(&r.board.creator)
        )
    }));
    out
}

/// `list-post`. With `scored` (the board has pushes) every row ends with a `Score` column,
/// the post's push score (`+2`, `0`, `-1`): an extension, so boards without pushes print
/// exactly the classic table.
pub fn posts(posts: &[Post], scored: bool, zone: &Zone) -> Vec<String> {
    let mut header = "\tID\tTitle\tAuthor\tDate".to_string();
    if scored {
        header.push_str("\tScore");
    }
    let mut out = vec![header];
    out.extend(posts.iter().map(|p| {
        let mut row = format!(
            "\t{}\t{}\t{}\t{}",
            p.id,
            line(&p.title),
            line(&p.author),
            month_day(p.time, zone)
        );
        if scored {
            row.push_str(&score(p.score));
        }
        row
    }));
    out
}

/// A push score as a column: `\t+2`, `\t0`, `\t-1`.
fn score(n: i64) -> String {
    if n > 0 {
        format!("\t+{n}")
    } else {
        format!("\t{n}")
    }
}

fn body_lines(body: &str, out: &mut Vec<String>) {
    out.extend(content(body).split('\n').map(|l| format!("\t{l}")));
}

/// `read`.
pub fn post(p: &Post, zone: &Zone) -> Vec<String> {
    let mut out = vec![
        format!("\tAuthor\t:{}", line(&p.author)),
        format!("\tTitle\t:{}", line(&p.title)),
        format!("\tDate\t:{}", full_date(p.time, zone)),
        "\t--".to_string(),
    ];
    body_lines(&p.body, &mut out);
    out.push("\t--".to_string());
    out.extend(
        p.comments
            .iter()
            .map(|c| format!("\t{}: {}", line(&c.author), line(&c.body))),
    );
    // Extension: pushes after the comments, one line each, `\t<mark> <user>: <text>`.
    out.extend(p.pushes.iter().map(|x| {
        format!(
            "\t{} {}: {}",
            x.push.symbol(),
            line(&x.author),
            line(&x.body)
        )
    }));
    out
}

/// `list-mail`.
pub fn mails(rows: &[MailRow], zone: &Zone) -> Vec<String> {
    let mut out = vec!["\tID\tSubject\tFrom\tDate".to_string()];
    out.extend(rows.iter().map(|r| {
        format!(
            "\t{}\t{}\t{}\t{}",
            r.number,
            line(&r.mail.subject),
            line(&r.mail.from),
            month_day(r.mail.time, zone)
        )
    }));
    out
}

/// `retr-mail`.
pub fn mail(m: &Mail, zone: &Zone) -> Vec<String> {
    let mut out = vec![
        format!("\tSubject\t:{}", line(&m.subject)),
        format!("\tFrom\t:{}", line(&m.from)),
        format!("\tDate\t:{}", full_date(m.time, zone)),
        "\t--".to_string(),
    ];
    body_lines(&m.body, &mut out);
    out
}

/// `list-sub`: one line per kind, kinds in the order first subscribed; nothing when empty.
pub fn subscriptions(subs: &[Subscription]) -> Vec<String> {
    let mut kinds: Vec<SubKind> = Vec::new();
    for s in subs {
        if !kinds.contains(&s.target.kind) {
            kinds.push(s.target.kind);
        }
    }
    kinds
        .into_iter()
        .map(|kind| {
            let parts: Vec<String> = subs
                .iter()
                .filter(|s| s.target.kind == kind)
                .map(|s| {
                    let keywords: Vec<_> = s.keywords.iter().map(|k| line(k)).collect();
                    format!("{}: {}", line(&s.target.name), keywords.join(", "))
                })
                .collect();
            format!("{}: {}", kind.word(), parts.join("; "))
        })
        .collect()
}

/// A live subscription notification.
pub fn notification(ev: &PostEvent) -> String {
    format!(
        "*[{}] {} - by {}*",
        line(&ev.board),
        line(&ev.title),
        line(&ev.author)
    )
}
