//! A small multi-line text buffer for the composer, the prompt and the login form, correct
//! for what users see as one character: the cursor moves, and backspace and delete
//! remove, whole grapheme clusters (a letter with its combining marks, an emoji ZWJ
//! sequence, a flag, a wide CJK ideograph), never half of one. Where the cursor lands on
//! screen is computed from display widths ([`crate::text_wrap`]), so CJK text (two columns
//! a character) wraps and places the terminal cursor — and with it the IME's candidate
//! window — at the right cell. Pure: no terminal here.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthChar;

use crate::text_wrap;

/// Display width of a character (control characters count as one cell: they are shown as
/// a replacement).
pub fn char_width(c: char) -> usize {
    c.width().unwrap_or(1)
}

/// Display width of a string.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Text being edited: lines and a cursor (line, byte offset on a cluster boundary).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextArea {
    /// The lines (without newlines); never empty.
    lines: Vec<String>,
    /// Cursor line.
    row: usize,
    /// Cursor position in the line: a byte offset, always on a grapheme cluster boundary
    /// (0..=len), so no edit or move can land inside a cluster.
    col: usize,
    /// Single-line fields refuse newlines.
    single_line: bool,
}

/// A visual row of wrapped text: (logical line, first byte, end byte).
pub type VisualRow = (usize, usize, usize);

impl TextArea {
    /// An empty multi-line area.
    pub fn new() -> TextArea {
        TextArea {
            lines: vec![String::new()],
            ..TextArea::default()
        }
    }

    /// An empty single-line field.
    pub fn single_line() -> TextArea {
        TextArea {
            single_line: true,
            ..TextArea::new()
        }
    }

    /// Replaces the text; the cursor goes to the end.
    pub fn set_text(&mut self, text: &str) {
        let text = if self.single_line {
            text.replace('\n', " ")
        } else {
            text.to_string()
        };
        self.lines = text.split('\n').map(str::to_string).collect();
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].len();
    }

    /// Builder form of [`TextArea::set_text`].
    pub fn with_text(mut self, text: &str) -> TextArea {
        self.set_text(text);
        self
    }

    /// The text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].is_empty()
    }

    /// The logical lines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// The cursor (line, grapheme cluster index in the line).
    pub fn cursor(&self) -> (usize, usize) {
        let line = &self.lines[self.row];
        (self.row, line[..self.col].graphemes(true).count())
    }

    /// The cursor line.
    fn line(&self) -> &str {
        &self.lines[self.row]
    }

    /// Inserts a character at the cursor. One that joins the cluster before it (a
    /// combining mark, a joiner, a variation selector) extends that cluster; the cursor
    /// goes after the cluster the character ends up in.
    pub fn insert(&mut self, c: char) {
        if c == '\n' {
            self.newline();
            return;
        }
        if c.is_control() {
            return;
        }
        let line = &mut self.lines[self.row];
        line.insert(self.col, c);
        self.col = text_wrap::boundary_at_or_after(line, self.col + c.len_utf8());
    }

    /// Inserts text (pasted) at the cursor.
    pub fn insert_str(&mut self, s: &str) {
        for c in s.chars() {
            match c {
                '\r' => {}
                '\t' => self.insert(' '),
                c => self.insert(c),
            }
        }
    }

    /// Splits the line at the cursor (a space in single-line fields).
    pub fn newline(&mut self) {
        if self.single_line {
            self.insert(' ');
            return;
        }
        let rest = self.lines[self.row].split_off(self.col);
        self.row += 1;
        self.lines.insert(self.row, rest);
        self.col = 0;
    }

    /// Joins the next line onto the cursor line, the cursor staying where the join is
    /// (before a cluster the join merged, e.g. a line starting with a combining mark).
    fn join_next(&mut self) {
        let next = self.lines.remove(self.row + 1);
        let line = &mut self.lines[self.row];
        line.push_str(&next);
        self.col = text_wrap::boundary_at_or_before(line, self.col);
    }

    /// Backspace: removes the cluster before the cursor.
    pub fn delete_back(&mut self) {
        if self.col > 0 {
            let start = text_wrap::prev_boundary(self.line(), self.col);
            self.lines[self.row].replace_range(start..self.col, "");
            self.col = start;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
            self.join_next();
        }
    }

    /// Delete: removes the cluster after the cursor.
    pub fn delete_forward(&mut self) {
        if self.col < self.line().len() {
            let end = text_wrap::next_boundary(self.line(), self.col);
            self.lines[self.row].replace_range(self.col..end, "");
        } else if self.row + 1 < self.lines.len() {
            self.join_next();
        }
    }

    /// Deletes the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        let line = &self.lines[self.row];
        let space = |g: &str| g.chars().next().is_some_and(char::is_whitespace);
        let mut clusters = line[..self.col].grapheme_indices(true).rev().peekable();
        let mut start = self.col;
        while let Some((i, _)) = clusters.next_if(|&(_, g)| space(g)) {
            start = i;
        }
        while let Some((i, _)) = clusters.next_if(|&(_, g)| !space(g)) {
            start = i;
        }
        self.lines[self.row].replace_range(start..self.col, "");
        self.col = start;
    }

    /// Deletes to the start of the line (Ctrl-U).
    pub fn kill_line(&mut self) {
        self.lines[self.row].replace_range(..self.col, "");
        self.col = 0;
    }

    /// Cursor left one cluster (to the previous line's end at a line start).
    pub fn left(&mut self) {
        if self.col > 0 {
            self.col = text_wrap::prev_boundary(self.line(), self.col);
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
        }
    }

    /// Cursor right one cluster.
    pub fn right(&mut self) {
        if self.col < self.line().len() {
            self.col = text_wrap::next_boundary(self.line(), self.col);
        } else if self.row + 1 < self.lines.len() {
            self.row += 1;
            self.col = 0;
        }
    }

    /// Home.
    pub fn home(&mut self) {
        self.col = 0;
    }

    /// End.
    pub fn end(&mut self) {
        self.col = self.line().len();
    }

    /// Cursor up one logical line, keeping the display column. Returns false at the top.
    pub fn up(&mut self) -> bool {
        if self.row == 0 {
            return false;
        }
        let x = self.display_col();
        self.row -= 1;
        self.col = col_at_width(&self.lines[self.row], x);
        true
    }

    /// Cursor down one logical line, keeping the display column. Returns false at the end.
    pub fn down(&mut self) -> bool {
        if self.row + 1 >= self.lines.len() {
            return false;
        }
        let x = self.display_col();
        self.row += 1;
        self.col = col_at_width(&self.lines[self.row], x);
        true
    }

    /// Display width of the line before the cursor.
    pub fn display_col(&self) -> usize {
        text_wrap::str_width(&self.line()[..self.col])
    }

    /// The text wrapped to `width` columns: visual rows and the cursor's (row, x) among
    /// them. A cluster never straddles a row edge; the cursor at a full row's end goes to
    /// the start of the next visual row.
    pub fn wrap(&self, width: usize) -> (Vec<VisualRow>, (usize, usize)) {
        let width = width.max(2);
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        for (li, line) in self.lines.iter().enumerate() {
            let pieces = text_wrap::rows(line, width);
            let here = li == self.row;
            for (k, r) in pieces.iter().enumerate() {
                let last = k + 1 == pieces.len();
                if here && r.start <= self.col && (self.col < r.end || last) {
                    let x = text_wrap::str_width(&line[r.start..self.col]);
                    cursor = (rows.len(), x);
                    if last && self.col == line.len() && x >= width {
                        // At the end of a full row: the cursor starts the next one.
                        rows.push((li, r.start, r.end));
                        cursor = (rows.len(), 0);
                        rows.push((li, line.len(), line.len()));
                        continue;
                    }
                }
                rows.push((li, r.start, r.end));
            }
        }
        (rows, cursor)
    }

    /// The text of a visual row.
    pub fn row_text(&self, row: VisualRow) -> String {
        self.lines[row.0][row.1..row.2].to_string()
    }
}

/// The byte offset of the cluster boundary in `line` whose display column is at or just
/// before `x`.
fn col_at_width(line: &str, x: usize) -> usize {
    let mut w = 0;
    for (i, g) in line.grapheme_indices(true) {
        let gw = text_wrap::cluster_width(g);
        if w + gw > x {
            return i;
        }
        w += gw;
    }
    line.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_cursor_is_measured_in_columns() {
        let mut t = TextArea::new();
        t.insert_str("中文ab");
        assert_eq!(t.display_col(), 6);
        t.left();
        t.left();
        assert_eq!(t.display_col(), 4);
        t.delete_back();
        assert_eq!(t.text(), "中ab");
        assert_eq!(t.display_col(), 2);
    }

    #[test]
    fn wrapping_never_splits_a_wide_char() {
        let t = TextArea::new().with_text("一二三四五");
        let (rows, cursor) = t.wrap(5);
        let texts: Vec<String> = rows.iter().map(|r| t.row_text(*r)).collect();
        assert_eq!(texts, ["一二", "三四", "五"]);
        assert_eq!(cursor, (2, 2));
    }

    #[test]
    fn cursor_at_a_full_row_moves_to_the_next_row() {
        let t = TextArea::new().with_text("一二");
        let (rows, cursor) = t.wrap(4);
        assert_eq!(rows.len(), 2);
        assert_eq!(cursor, (1, 0));
    }

    #[test]
    fn vertical_moves_keep_the_display_column() {
        let mut t = TextArea::new().with_text("abcdef\n中文字");
        t.up();
        t.end();
        t.left();
        t.left();
        t.left(); // col 3 ("abc|def"), display 3
        t.down();
        // 3 columns falls inside 文 (columns 2-3): the cursor stays before it.
        assert_eq!(t.cursor(), (1, 1));
        assert_eq!(t.display_col(), 2);
    }

    #[test]
    fn newlines_join_and_split() {
        let mut t = TextArea::new().with_text("ab");
        t.left();
        t.newline();
        assert_eq!(t.text(), "a\nb");
        t.delete_back();
        assert_eq!(t.text(), "ab");
        let mut s = TextArea::single_line();
        s.insert_str("a\nb");
        assert_eq!(s.text(), "a b");
    }

    /// A family emoji: man, woman, girl joined by ZWJs — one cluster, two columns.
    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧";

    #[test]
    fn moves_step_over_combining_marks_and_emoji_sequences() {
        let mut t = TextArea::new().with_text(&format!("e\u{301}{FAMILY}🇹🇼x"));
        t.left();
        assert_eq!(t.cursor(), (0, 3), "before x");
        t.left();
        assert_eq!(t.cursor(), (0, 2), "before the flag");
        assert_eq!(t.display_col(), 3);
        t.left();
        assert_eq!(t.cursor(), (0, 1), "before the family");
        assert_eq!(t.display_col(), 1);
        t.left();
        assert_eq!((t.cursor(), t.display_col()), ((0, 0), 0));
        t.right();
        t.right();
        assert_eq!((t.cursor(), t.display_col()), ((0, 2), 3));
    }

    #[test]
    fn backspace_and_delete_remove_whole_clusters() {
        let mut t = TextArea::new().with_text(&format!("a{FAMILY}b"));
        t.left();
        t.delete_back();
        assert_eq!(t.text(), "ab");
        let mut t = TextArea::new().with_text("e\u{301}中\u{1100}\u{1161}");
        t.home();
        t.delete_forward();
        assert_eq!(t.text(), "中\u{1100}\u{1161}");
        t.end();
        t.delete_back();
        assert_eq!(t.text(), "中");
        t.delete_back();
        assert!(t.is_empty());
    }

    #[test]
    fn inserting_a_mark_extends_the_cluster_before_the_cursor() {
        let mut t = TextArea::new().with_text("ab");
        t.left();
        t.insert('\u{301}');
        assert_eq!(t.text(), "a\u{301}b");
        assert_eq!((t.cursor(), t.display_col()), ((0, 1), 1));
        // A letter typed before a lone mark takes it: the cursor goes after both.
        let mut t = TextArea::new().with_text("\u{301}");
        t.home();
        t.insert('e');
        assert_eq!(t.cursor(), (0, 1));
        t.delete_back();
        assert!(t.is_empty(), "{:?}", t.text());
        // Typing a ZWJ sequence one character at a time builds one cluster.
        let mut t = TextArea::new();
        t.insert_str(FAMILY);
        assert_eq!((t.cursor(), t.display_col()), ((0, 1), 2));
        t.delete_back();
        assert!(t.is_empty());
    }

    #[test]
    fn wrapping_and_vertical_moves_measure_clusters() {
        let t = TextArea::new().with_text(&FAMILY.repeat(3));
        let (rows, cursor) = t.wrap(4);
        let texts: Vec<String> = rows.iter().map(|r| t.row_text(*r)).collect();
        assert_eq!(texts, [FAMILY.repeat(2), FAMILY.to_string()]);
        assert_eq!(cursor, (1, 2));
        let mut t = TextArea::new().with_text(&format!("{FAMILY}ab\nxyz"));
        t.left(); // "xy|z": column 2, where the family ends on the line above
        t.up();
        assert_eq!((t.cursor(), t.display_col()), ((0, 1), 2));
        t.delete_word();
        assert_eq!(t.text(), "ab\nxyz");
    }
}
