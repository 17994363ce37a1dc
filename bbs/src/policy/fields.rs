//! The record policy's field rules: how many headers a BBS record may carry and how big
//! they may be (checked on the raw record, before it is decoded), and, per field, its
//! maximum length and which characters it may hold (see [`safe_text`]: one-line fields
//! hold no control or bidi character at all, content may also hold `\n` and `\t`). New
//! board names must also be names people can tell apart ([`safe_text::lookalike`]). The
//! limits are documented in `docs/data-model.md`.

use safe_text::{check_field, Shape};

use crate::codec::{BbsRecord, WireRecord};
use crate::error::Failure;
use crate::model::Change;
use crate::state::State;

/// Most headers a BBS record may carry (the richest kind, an edit of a title, has six).
pub const MAX_HEADERS: usize = 16;
/// Longest header name, in bytes.
pub const MAX_HEADER_NAME_BYTES: usize = 64;
/// Longest header value, in bytes (a 200-character title of 4-byte characters fits).
pub const MAX_HEADER_VALUE_BYTES: usize = 1024;
/// Longest post title or title edit, in characters (one line).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest board name, in characters (one line).
pub const MAX_BOARD_NAME_CHARS: usize = 40;
/// Longest user name, in characters (the account rule of the broker).
pub const MAX_USER_NAME_CHARS: usize = safe_text::names::MAX_NAME_CHARS;
/// Longest mail subject, in characters (one line).
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest subscription keyword, in characters (one line).
pub const MAX_KEYWORD_CHARS: usize = 100;
/// Longest comment or push remark, in characters (one line).
pub const MAX_COMMENT_CHARS: usize = 500;
/// Longest e-mail address of a profile, in characters (one line).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest post or mail content, in characters: 64 Ki, far below a board topic's
/// `max.message.bytes` (1 MiB).
pub const MAX_CONTENT_CHARS: usize = 64 * 1024;

fn field(name: &str, text: &str, shape: Shape, max: usize) -> Result<(), Failure> {
    check_field(name, text, shape, max).map_err(Failure::Policy)
}

/// The cheap checks on a raw record: header count and sizes.
pub fn check_headers(w: &WireRecord) -> Result<(), Failure> {
    if w.headers.len() > MAX_HEADERS {
        return Err(Failure::Policy(format!(
            "a BBS record may carry at most {MAX_HEADERS} headers, not {}",
            w.headers.len()
        )));
    }
    for (name, value) in &w.headers {
        if name.len() > MAX_HEADER_NAME_BYTES {
            return Err(Failure::Policy(format!(
                "a header name may be at most {MAX_HEADER_NAME_BYTES} bytes"
            )));
        }
        let len = value.as_ref().map_or(0, bytes::Bytes::len);
        if len > MAX_HEADER_VALUE_BYTES {
            return Err(Failure::Policy(format!(
                "header {} is {len} bytes; at most {MAX_HEADER_VALUE_BYTES} are allowed",
                safe_text::line(name)
            )));
        }
    }
    Ok(())
}

/// The length and character rules of every field of a decoded record.
pub fn check_record(record: &BbsRecord) -> Result<(), Failure> {
    let user = |what: &str, name: &str| field(what, name, Shape::Line, MAX_USER_NAME_CHARS);
    user("author", record.actor())?;
    match record {
        BbsRecord::Board { name, .. } => {
            field("board name", name, Shape::Line, MAX_BOARD_NAME_CHARS)?
        }
        BbsRecord::BoardDelete { name, .. } => {
            field("board name", name, Shape::Line, MAX_BOARD_NAME_CHARS)?
        }
        BbsRecord::UserStatus { name, .. } => user("user name", name)?,
        BbsRecord::User { name, email } => {
            user("user name", name)?;
            field("e-mail address", email, Shape::Line, MAX_EMAIL_CHARS)?;
        }
        BbsRecord::Post { title, body, .. } => {
            field("title", title, Shape::Line, MAX_TITLE_CHARS)?;
            field("content", body, Shape::Content, MAX_CONTENT_CHARS)?;
        }
        BbsRecord::Comment { body, .. } | BbsRecord::Push { body, .. } => {
            field("comment", body, Shape::Line, MAX_COMMENT_CHARS)?
        }
        BbsRecord::Edit { change, .. } => match change {
            Change::Title(t) => field("title", t, Shape::Line, MAX_TITLE_CHARS)?,
            Change::Content(c) => field("content", c, Shape::Content, MAX_CONTENT_CHARS)?,
        },
        BbsRecord::Mail {
            to, subject, body, ..
        } => {
            user("recipient", to)?;
            field("subject", subject, Shape::Line, MAX_SUBJECT_CHARS)?;
            field("content", body, Shape::Content, MAX_CONTENT_CHARS)?;
        }
        BbsRecord::Subscribe {
            target, keyword, ..
        } => {
            field(
                "subscription target",
                &target.name,
                Shape::Line,
                MAX_BOARD_NAME_CHARS.max(MAX_USER_NAME_CHARS),
            )?;
            field("keyword", keyword, Shape::Line, MAX_KEYWORD_CHARS)?;
        }
        BbsRecord::Unsubscribe { target, .. } => field(
            "subscription target",
            &target.name,
            Shape::Line,
            MAX_BOARD_NAME_CHARS.max(MAX_USER_NAME_CHARS),
        )?,
        BbsRecord::Delete { .. } | BbsRecord::Remove { .. } | BbsRecord::MailDelete { .. } => {}
    }
    Ok(())
}

/// A new board's name must be acceptable on its own and must not look like an existing
/// board (in `state` or created earlier in the same batch, `pending`).
pub fn check_new_board<'a>(
    name: &str,
    state: &State,
    pending: impl Iterator<Item = &'a String> + Clone,
) -> Result<(), Failure> {
    safe_text::lookalike::check_new("board name", name, |keys| {
        let hit = |n: &str| {
            let k = safe_text::lookalike::keys(n);
            k[0] == keys[0] || k[1] == keys[1]
        };
        state
            .boards()
            .iter()
            .map(|b| b.name.clone())
            .chain(pending.clone().cloned())
            .find(|n| hit(n))
    })
    .map_err(Failure::Policy)
}
