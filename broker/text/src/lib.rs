//! Text that reaches other people's terminals: which characters are unsafe to print, the
//! one function that renders them visibly escaped, and the check the BBS record policy
//! applies to a field before it is stored.
//!
//! Unsafe characters are the C0 controls, DEL, the C1 controls, the bidirectional
//! embedding/override/isolate/mark characters (U+202A-U+202E, U+2066-U+2069, U+200E,
//! U+200F, U+061C) and the line/paragraph separators U+2028/U+2029. A one-line field (a
//! title, a name, a subject, a keyword, a comment) may hold none of them; content may
//! also hold `\n` and `\t`. On output every unsafe character is shown as `\u{XX}` (the
//! lowercase hex code point in Rust's notation, e.g. ESC → `\u{1b}`), so data stored
//! before the rule existed, or written by another server, can neither repaint a terminal
//! nor fake a table row.
//!
//! This crate (`safe-text`, `broker/text`) is the text and name rules both sides share,
//! pure (no I/O): the escaping and field check above (the crate root), [`lookalike`]
//! (names people can tell apart, for account and board names) and [`names`] (what an
//! account may be called, and the operator's reserved name). The broker uses it for
//! accounts, the BBS (`bbs`) for its record policy and its output, so the client links
//! these rules without linking the broker.

use std::borrow::Cow;

pub mod lookalike;
pub mod names;

/// Whether a text is one line or multi-line content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A one-line field: no control character at all, not even `\n` or `\t`.
    Line,
    /// Content: `\n` and `\t` are allowed, other controls are not.
    Content,
}

/// True for the bidirectional formatting characters (embeddings, overrides, isolates,
/// marks) that can reorder what a terminal shows.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// True for characters that must never reach a terminal raw in a field of `shape`.
pub fn is_unsafe(c: char, shape: Shape) -> bool {
    if shape == Shape::Content && matches!(c, '\n' | '\t') {
        return false;
    }
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with every unsafe character (for `shape`) replaced by its visible escape
/// `\u{XX}`; borrowed unchanged when there is none. The one escaping function of every
/// output path (line mode, classic port, TUI).
pub fn escape(s: &str, shape: Shape) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c, shape)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c, shape) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A one-line field, escaped for output.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, Shape::Line)
}

/// Multi-line content, escaped for output (`\n` and `\t` kept).
pub fn content(s: &str) -> Cow<'_, str> {
    escape(s, Shape::Content)
}

/// Checks a field before it is stored: at most `max_chars` characters and no unsafe
/// character for its shape. The error names the field and the first offending character.
pub fn check_field(field: &str, s: &str, shape: Shape, max_chars: usize) -> Result<(), String> {
    let chars = s.chars().count();
    if chars > max_chars {
        return Err(format!(
            "the {field} has {chars} characters; at most {max_chars} are allowed"
        ));
    }
    if let Some(c) = s.chars().find(|&c| is_unsafe(c, shape)) {
        let what = match shape {
            Shape::Line => "one line of text without control or bidi characters",
            Shape::Content => {
                "text without control or bidi characters (other than newline and tab)"
            }
        };
        return Err(format!(
            "the {field} contains {}: it must be {what}",
            escape(&c.to_string(), Shape::Line)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_visibly() {
        assert_eq!(line("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(line("x\ry\nz\t"), "x\\u{d}y\\u{a}z\\u{9}");
        assert_eq!(content("x\ry\nz\t"), "x\\u{d}y\nz\t");
        assert_eq!(
            line("\u{202e}evil\u{7f}\u{85}"),
            "\\u{202e}evil\\u{7f}\\u{85}"
        );
        assert!(matches!(line("測試 ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn fields_refuse_controls_by_shape() {
        assert!(check_field("title", "hello 世界", Shape::Line, 200).is_ok());
        assert!(check_field("content", "a\n\tb", Shape::Content, 200).is_ok());
        let e = check_field("title", "a\nb", Shape::Line, 200).expect_err("newline");
        assert!(e.contains("title") && e.contains("\\u{a}"), "{e}");
        assert!(check_field("content", "a\x1b[2J", Shape::Content, 200).is_err());
        assert!(check_field("content", "a\rb", Shape::Content, 200).is_err());
        assert!(check_field("title", "\u{2066}x", Shape::Line, 200).is_err());
        assert!(check_field("title", "\u{200f}x", Shape::Line, 200).is_err());
        let e = check_field("title", &"x".repeat(201), Shape::Line, 200).expect_err("too long");
        assert!(e.contains("201 characters"), "{e}");
    }
}
