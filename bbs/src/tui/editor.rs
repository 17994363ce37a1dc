//! A small multi-line text buffer for the composer, the prompt and the login form, correct
//! for wide characters: the cursor is a character position, and where it lands on screen
//! is computed from display widths (unicode-width), so CJK text (two columns a character)
//! wraps and places the terminal cursor — and with it the IME's candidate window — at the
//! right cell. Pure: no terminal here.

use unicode_width::UnicodeWidthChar;

/// Display width of a character (control characters count as one cell: they are shown as
/// a replacement).
pub fn char_width(c: char) -> usize {
    c.width().unwrap_or(1)
}

/// Display width of a string.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Text being edited: lines of characters and a cursor (line, char index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextArea {
    /// The lines (without newlines); never empty.
    lines: Vec<Vec<char>>,
    /// Cursor line.
    row: usize,
    /// Cursor position in the line, in characters (0..=len).
    col: usize,
    /// Single-line fields refuse newlines.
    single_line: bool,
}

/// A visual row of wrapped text: (logical line, first char, end char).
pub type VisualRow = (usize, usize, usize);

impl TextArea {
    /// An empty multi-line area.
    pub fn new() -> TextArea {
        TextArea {
            lines: vec![Vec::new()],
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
        self.lines = text.split('\n').map(|l| l.chars().collect()).collect();
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
        let mut out = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.extend(l.iter());
        }
        out
    }

    /// Whether there is no text.
    pub fn is_empty(&self) -> bool {
        self.lines.len() == 1 && self.lines[0].is_empty()
    }

    /// The logical lines.
    pub fn lines(&self) -> impl Iterator<Item = &[char]> {
        self.lines.iter().map(Vec::as_slice)
    }

    /// The cursor (line, char index).
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }

    /// Inserts a character at the cursor.
    pub fn insert(&mut self, c: char) {
        if c == '\n' {
            self.newline();
            return;
        }
        if c.is_control() {
            return;
        }
        self.lines[self.row].insert(self.col, c);
        self.col += 1;
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

    /// Backspace.
    pub fn delete_back(&mut self) {
        if self.col > 0 {
            self.col -= 1;
            self.lines[self.row].remove(self.col);
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.lines[self.row].len();
            self.lines[self.row].extend(line);
        }
    }

    /// Delete.
    pub fn delete_forward(&mut self) {
        if self.col < self.lines[self.row].len() {
            self.lines[self.row].remove(self.col);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].extend(next);
        }
    }

    /// Deletes the word before the cursor (Ctrl-W).
    pub fn delete_word(&mut self) {
        let line = &mut self.lines[self.row];
        let mut start = self.col;
        while start > 0 && line[start - 1].is_whitespace() {
            start -= 1;
        }
        while start > 0 && !line[start - 1].is_whitespace() {
            start -= 1;
        }
        line.drain(start..self.col);
        self.col = start;
    }

    /// Deletes to the start of the line (Ctrl-U).
    pub fn kill_line(&mut self) {
        self.lines[self.row].drain(..self.col);
        self.col = 0;
    }

    /// Cursor left (to the previous line's end at a line start).
    pub fn left(&mut self) {
        if self.col > 0 {
            self.col -= 1;
        } else if self.row > 0 {
            self.row -= 1;
            self.col = self.lines[self.row].len();
        }
    }

    /// Cursor right.
    pub fn right(&mut self) {
        if self.col < self.lines[self.row].len() {
            self.col += 1;
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
        self.col = self.lines[self.row].len();
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
        self.lines[self.row][..self.col]
            .iter()
            .copied()
            .map(char_width)
            .sum()
    }

    /// The text wrapped to `width` columns: visual rows and the cursor's (row, x) among
    /// them. A wide character never straddles a row edge; the cursor at a full row's end
    /// goes to the start of the next visual row.
    pub fn wrap(&self, width: usize) -> (Vec<VisualRow>, (usize, usize)) {
        let width = width.max(2);
        let mut rows = Vec::new();
        let mut cursor = (0, 0);
        for (li, line) in self.lines.iter().enumerate() {
            let mut start = 0;
            let mut w = 0;
            for (ci, &c) in line.iter().enumerate() {
                let cw = char_width(c);
                if w + cw > width {
                    rows.push((li, start, ci));
                    start = ci;
                    w = 0;
                }
                if li == self.row && ci == self.col {
                    cursor = (rows.len(), w);
                }
                w += cw;
            }
            if li == self.row && self.col == line.len() {
                cursor = if w >= width {
                    (rows.len() + 1, 0)
                } else {
                    (rows.len(), w)
                };
                if w >= width {
                    rows.push((li, start, line.len()));
                    rows.push((li, line.len(), line.len()));
                    continue;
                }
            }
            rows.push((li, start, line.len()));
        }
        (rows, cursor)
    }

    /// The characters of a visual row.
    pub fn row_text(&self, row: VisualRow) -> String {
        self.lines[row.0][row.1..row.2].iter().collect()
    }
}

/// The char index in `line` whose display column is at or just before `x`.
fn col_at_width(line: &[char], x: usize) -> usize {
    let mut w = 0;
    for (i, &c) in line.iter().enumerate() {
        let cw = char_width(c);
        if w + cw > x {
            return i;
        }
        w += cw;
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
}
