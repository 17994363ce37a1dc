//! Width-aware text helpers for drawing: fitting a string into a number of columns
//! (truncating with `…`, padding with spaces) and drawing it into the buffer. Everything is
//! measured in display columns, so CJK names and titles line up.
//!
//! Every string drawn goes through [`put`] (and [`fit`]), which show control and bidi
//! characters escaped with [`safe_text`]'s one escaping function (`\u{1b}`), never raw,
//! so stored text cannot repaint the terminal; a tab becomes a space.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::tui::editor::char_width;

/// `s` as it may be drawn: tabs as spaces, other control and bidi characters escaped.
pub fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\t') {
        std::borrow::Cow::Owned(safe_text::line(&s.replace('\t', " ")).into_owned())
    } else {
        safe_text::line(s)
    }
}

/// `s` cut to at most `width` columns (with `…` when cut) and padded to exactly `width`.
pub fn fit(s: &str, width: usize) -> String {
    let s = safe(s);
    let mut out = String::new();
    let mut w = 0;
    let total: usize = s.chars().map(char_width).sum();
    let limit = if total > width {
        width.saturating_sub(1)
    } else {
        width
    };
    for c in s.chars() {
        let cw = char_width(c);
        if w + cw > limit {
            break;
        }
        out.push(c);
        w += cw;
    }
    if total > width && width > 0 {
        out.push('…');
        w += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// `s` right-aligned in `width` columns.
pub fn right(s: &str, width: usize) -> String {
    let shown = safe(s);
    let s: &str = &shown;
    let w: usize = s.chars().map(char_width).sum();
    if w >= width {
        return fit(s, width);
    }
    let mut out: String = std::iter::repeat_n(' ', width - w).collect();
    out.push_str(s);
    out
}

/// Draws `s` at (x, y) within `area`, clipped to the area's right edge.
pub fn put(buf: &mut Buffer, area: Rect, x: u16, y: u16, s: &str, style: Style) -> u16 {
    if y >= area.bottom() || x >= area.right() || y < area.y {
        return x;
    }
    let max = usize::from(area.right() - x);
    let (nx, _) = buf.set_stringn(x, y, safe(s), max, style);
    nx
}

/// Fills row `y` of `area` with `style` (a background bar).
pub fn bar(buf: &mut Buffer, area: Rect, y: u16, style: Style) {
    if y >= area.y && y < area.bottom() {
        buf.set_style(Rect::new(area.x, y, area.width, 1), style);
    }
}

/// A rectangle of `w`×`h` centred in `area` (clamped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_columns() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("中文字", 4), "中… ");
        assert_eq!(fit("中文", 4), "中文");
        assert_eq!(right("7", 3), "  7");
    }

    #[test]
    fn controls_are_drawn_escaped() {
        assert_eq!(fit("a\x1b[2Jb", 12), "a\\u{1b}[2Jb ");
        assert_eq!(fit("x\ty", 4), "x y ");
        assert_eq!(safe("\u{202e}abc"), "\\u{202e}abc");
        let area = Rect::new(0, 0, 20, 1);
        let mut buf = Buffer::empty(area);
        put(&mut buf, area, 0, 0, "\rX\x07", Style::default());
        let drawn: String = (0..20).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(drawn.starts_with("\\u{d}X\\u{7}"), "{drawn:?}");
        assert!(!drawn.chars().any(char::is_control), "{drawn:?}");
    }
}
