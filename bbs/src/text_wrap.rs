//! Display-width text layout shared by the post reader (a post's body) and the editor (the
//! composer and prompt): the width of a grapheme cluster as a terminal draws it, and where
//! a line breaks so that no row is wider than the screen and no cluster is split across
//! rows. A cluster is what a user sees as one character: a wide CJK ideograph (two
//! columns), a letter with its combining marks, an emoji ZWJ sequence such as a family, a
//! flag. Widths come from `unicode-width`'s string rules, the same ratatui draws with, so
//! the text and the terminal cursor land on the cells the screen shows. Pure: no I/O.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of one grapheme cluster: two columns for wide characters and emoji
/// sequences, none for a lone combining mark, one for a control character (shown as a
/// replacement).
pub fn cluster_width(cluster: &str) -> usize {
    cluster.width()
}

/// Display width of `s`, cluster by cluster (what the clusters of [`rows`] add up to).
pub fn str_width(s: &str) -> usize {
    s.graphemes(true).map(cluster_width).sum()
}

/// The byte ranges of `line`'s rows when wrapped at `width` columns (at least 2, so a
/// wide cluster always fits): each row takes clusters while they fit, and a cluster that
/// would overflow starts the next row. An empty line is one empty row. `line` should hold
/// no newline (split on them first).
pub fn rows(line: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(2);
    let mut out = Vec::new();
    let (mut start, mut w) = (0, 0);
    for (i, g) in line.grapheme_indices(true) {
        let gw = cluster_width(g);
        if w + gw > width {
            out.push(start..i);
            start = i;
            w = 0;
        }
        w += gw;
    }
    out.push(start..line.len());
    out
}

/// `line` wrapped at `width` columns, as strings (see [`rows`]).
pub fn wrap_line(line: &str, width: usize) -> Vec<String> {
    rows(line, width)
        .into_iter()
        .map(|r| line[r].to_string())
        .collect()
}

/// The byte offset of the cluster boundary before `at` in `line` (0 at the start).
pub fn prev_boundary(line: &str, at: usize) -> usize {
    line[..at]
        .grapheme_indices(true)
        .next_back()
        .map_or(0, |(i, _)| i)
}

/// The byte offset of the cluster boundary after `at` in `line` (its length at the end).
pub fn next_boundary(line: &str, at: usize) -> usize {
    line[at..]
        .graphemes(true)
        .next()
        .map_or(line.len(), |g| at + g.len())
}

/// The first cluster boundary of `line` at or after byte `at` (a character boundary):
/// where a cursor goes when an edit left it inside a cluster.
pub fn boundary_at_or_after(line: &str, at: usize) -> usize {
    line.grapheme_indices(true)
        .map(|(i, _)| i)
        .find(|&i| i >= at)
        .unwrap_or(line.len())
}

/// The last cluster boundary of `line` at or before byte `at` (a character boundary).
pub fn boundary_at_or_before(line: &str, at: usize) -> usize {
    line.grapheme_indices(true)
        .map(|(i, _)| i)
        .take_while(|&i| i <= at)
        .last()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMILY: &str = "👨\u{200d}👩\u{200d}👧";

    #[test]
    fn clusters_have_the_width_the_terminal_draws() {
        assert_eq!(cluster_width("a"), 1);
        assert_eq!(cluster_width("中"), 2);
        assert_eq!(cluster_width("e\u{301}"), 1);
        assert_eq!(cluster_width(FAMILY), 2);
        assert_eq!(cluster_width("🇹🇼"), 2);
        assert_eq!(str_width(&format!("a{FAMILY}中e\u{301}")), 6);
    }

    #[test]
    fn rows_never_split_a_cluster() {
        assert_eq!(wrap_line("一二三四五", 5), ["一二", "三四", "五"]);
        assert_eq!(wrap_line("", 5), [""]);
        // A family is one two-column cluster: two fit in four columns, a third wraps.
        let three = FAMILY.repeat(3);
        assert_eq!(wrap_line(&three, 4), [FAMILY.repeat(2), FAMILY.to_string()]);
        // Combining marks stay with their letter.
        let accents = "e\u{301}".repeat(3);
        assert_eq!(wrap_line(&accents, 2), ["e\u{301}e\u{301}", "e\u{301}"]);
    }

    #[test]
    fn boundaries_step_over_whole_clusters() {
        let s = format!("a{FAMILY}b");
        let fam_end = 1 + FAMILY.len();
        assert_eq!(next_boundary(&s, 1), fam_end);
        assert_eq!(prev_boundary(&s, fam_end), 1);
        assert_eq!(next_boundary(&s, s.len()), s.len());
        assert_eq!(prev_boundary(&s, 0), 0);
        // Inside the family (after the man): snap to either edge.
        assert_eq!(boundary_at_or_after(&s, 5), fam_end);
        assert_eq!(boundary_at_or_before(&s, 5), 1);
    }
}
