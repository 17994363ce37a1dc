//! The post being read, laid out as lines for the current width ([`Reader`], the post
//! screen's state: the lines and the scroll position): header, body (wrapped by display
//! width), then pushes and comments interleaved in time order. The layout is rebuilt only
//! when the post or the width changes, so drawing a post with 10,000 comments draws only the
//! visible slice ([`crate::tui::view`] draws it).

use super::scroll::clamp_scroll;
use crate::model::{Millis, PostId, Push};
use crate::state::Post;
use crate::time;

/// What kind of line (the view styles by kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// `label: value` in the header.
    Meta(&'static str),
    /// Body text.
    Body,
    /// A horizontal rule.
    Rule,
    /// A section heading.
    Heading,
    /// A push line: the push, the author, the date on the right.
    Push(Push, String, String),
    /// A comment line (`author` on the first line only, `None` on continuations).
    Comment(Option<String>, String),
}

/// One laid-out line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RLine {
    /// Its kind.
    pub kind: LineKind,
    /// Its text.
    pub text: String,
}

/// `MM/DD HH:MM` in `zone`.
pub fn stamp(ms: Millis, zone: &time::Zone) -> String {
    format!(
        "{} {}",
        time::month_day(ms, zone),
        time::hour_minute(ms, zone)
    )
}

/// Splits `text` into pieces of at most `width` columns (wide characters and other
/// grapheme clusters never split; see [`crate::text_wrap`]).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    text.split('\n')
        // Control and bidi characters are shown escaped, never raw (a tab as a space).
        .flat_map(|line| crate::text_wrap::wrap_line(&super::view::text::safe(line), width))
        .collect()
}

/// The post view's state.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    /// The post shown (`None` while loading).
    pub post: Option<Post>,
    /// The id asked for.
    pub want: Option<PostId>,
    /// Laid-out lines.
    lines: Vec<RLine>,
    /// The width they were laid out for.
    width: usize,
    /// First visible line.
    pub scroll: usize,
    /// The zone dates and times are shown in.
    pub zone: time::Zone,
    /// The comment (index into the post's comments) a moderator is picking to remove;
    /// `None` when not picking.
    pub pick: Option<usize>,
}

impl Reader {
    /// Starts loading post `id`.
    pub fn open(&mut self, id: PostId) {
        if self.want != Some(id) {
            self.post = None;
            self.lines.clear();
            self.scroll = 0;
            self.pick = None;
        }
        self.want = Some(id);
    }

    /// The post (or its new state) arrived. Keeps the scroll position; a reader at the
    /// bottom stays at the bottom (follows new comments).
    pub fn set_post(&mut self, post: Post, width: usize, height: usize) {
        if self.want != Some(post.id) {
            return;
        }
        let same = self.post.as_ref().is_some_and(|p| p.id == post.id);
        let at_bottom = same && self.scroll >= self.max_scroll(height) && self.scroll > 0;
        self.post = Some(post);
        self.layout(width);
        if !same {
            self.scroll = 0;
        } else if at_bottom {
            self.scroll = self.max_scroll(height);
        }
        self.scroll = clamp_scroll(self.scroll, self.lines.len(), height);
        // A pick stays on a comment the post still has.
        let n = self.post.as_ref().map_or(0, |p| p.comments.len());
        self.pick = self.pick.filter(|_| n > 0).map(|k| k.min(n - 1));
    }

    /// The laid-out lines of the picked comment (its first line and continuations).
    pub fn picked_lines(&self) -> Option<std::ops::Range<usize>> {
        let k = self.pick?;
        let start = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.kind, LineKind::Comment(Some(_), _)))
            .nth(k)?
            .0;
        let len = self.lines[start + 1..]
            .iter()
            .take_while(|l| matches!(l.kind, LineKind::Comment(None, _)))
            .count();
        Some(start..start + 1 + len)
    }

    /// Moves the pick by `delta` comments (clamped) and scrolls it into view.
    pub fn pick_step(&mut self, delta: isize, height: usize) {
        let n = self.post.as_ref().map_or(0, |p| p.comments.len());
        let Some(k) = self.pick.filter(|_| n > 0) else {
            return;
        };
        let k = (k as isize).saturating_add(delta).clamp(0, n as isize - 1);
        self.pick = Some(k as usize);
        if let Some(r) = self.picked_lines() {
            let height = height.max(1);
            if r.start < self.scroll {
                self.scroll = r.start;
            } else if r.end > self.scroll + height {
                self.scroll = r.end.saturating_sub(height);
            }
            self.scroll = clamp_scroll(self.scroll, self.lines.len(), height);
        }
    }

    /// Lays the post out again if the width changed.
    pub fn resize(&mut self, width: usize, height: usize) {
        if width != self.width && self.post.is_some() {
            self.layout(width);
        }
        self.scroll = clamp_scroll(self.scroll, self.lines.len(), height);
    }

    /// The laid-out lines.
    pub fn lines(&self) -> &[RLine] {
        &self.lines
    }

    /// The width the lines were laid out for.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Largest useful scroll offset.
    pub fn max_scroll(&self, height: usize) -> usize {
        self.lines.len().saturating_sub(height.max(1))
    }

    /// Scrolls by `delta` lines.
    pub fn scroll_by(&mut self, delta: isize, height: usize) {
        let s = (self.scroll as isize + delta).max(0) as usize;
        self.scroll = clamp_scroll(s, self.lines.len(), height);
    }

    fn layout(&mut self, width: usize) {
        self.width = width;
        self.lines.clear();
        let Some(p) = &self.post else {
            return;
        };
        let mut push = |kind: LineKind, text: String| self.lines.push(RLine { kind, text });
        push(LineKind::Meta("作者 Author"), p.author.clone());
        push(LineKind::Meta("看板 Board"), p.board.clone());
        push(LineKind::Meta("標題 Title"), p.title.clone());
        let zone = &self.zone;
        let mut when = format!(
            "{} {}",
            time::full_date(p.time, zone),
            time::hour_minute(p.time, zone)
        );
        if let Some(e) = p.edited {
            when.push_str(&format!("  (edited {})", stamp(e, zone)));
        }
        push(LineKind::Meta("時間 Date"), when);
        push(LineKind::Rule, String::new());
        for piece in wrap(&p.body, width) {
            push(LineKind::Body, piece);
        }
        push(LineKind::Body, String::new());
        push(
            LineKind::Heading,
            format!(
                "── #{}  推 {} · 噓 {} · → {} · 留言 {} ── score {:+}",
                p.id,
                p.pushes.iter().filter(|x| x.push == Push::Up).count(),
                p.pushes.iter().filter(|x| x.push == Push::Down).count(),
                p.pushes.iter().filter(|x| x.push == Push::Arrow).count(),
                p.comments.len(),
                p.score
            ),
        );
        // Merge pushes and comments by time (both are in arrival order already).
        let (mut i, mut j) = (0, 0);
        while i < p.pushes.len() || j < p.comments.len() {
            let take_push = match (p.pushes.get(i), p.comments.get(j)) {
                (Some(x), Some(c)) => x.time <= c.time,
                (Some(_), None) => true,
                _ => false,
            };
            if take_push {
                let x = &p.pushes[i];
                i += 1;
                push(
                    LineKind::Push(x.push, x.author.clone(), stamp(x.time, zone)),
                    x.body.replace('\n', " "),
                );
            } else {
                let c = &p.comments[j];
                j += 1;
                let indent = 2;
                let pieces = wrap(&c.body, width.saturating_sub(indent).max(8));
                for (k, piece) in pieces.into_iter().enumerate() {
                    let author = (k == 0).then(|| c.author.clone());
                    push(LineKind::Comment(author, stamp(c.time, zone)), piece);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_respects_wide_characters() {
        assert_eq!(wrap("一二三", 5), ["一二", "三"]);
        assert_eq!(wrap("ab\ncd", 10), ["ab", "cd"]);
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn stamps_follow_the_zone() {
        let ms = 1_584_748_800_000 + 3_600_000 * 13 + 60_000 * 7;
        assert_eq!(stamp(ms, &time::Zone::utc()), "03/21 13:07");
        let taipei = time::Zone::parse("Asia/Taipei").expect("zone");
        assert_eq!(stamp(ms, &taipei), "03/21 21:07");
    }
}
