//! Drawing the two reading screens: the post being read (header, body, pushes and
//! comments; only the visible slice of the lines laid out by [`crate::tui::post_layout`] is
//! drawn) and the open mail.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::text::{bar, fit, put, right};
use crate::model::Push;
use crate::time;
use crate::tui::app::App;
use crate::tui::post_layout::{wrap, LineKind, RLine};
use crate::tui::scroll::clamp_scroll;

/// Draws one laid-out line; `picked` marks the comment a moderator is picking (`>>`).
fn line(app: &App, buf: &mut Buffer, area: Rect, y: u16, l: &RLine, picked: bool) {
    let t = &app.theme;
    let w = usize::from(area.width);
    match &l.kind {
        LineKind::Meta(label) => {
            let x = put(
                buf,
                area,
                area.x,
                y,
                &format!(" {} ", fit(label, 11)),
                t.header,
            );
            // A long title (or board, author) ends with `…` instead of being cut mid-word.
            let rest = usize::from(area.right().saturating_sub(x));
            put(buf, area, x, y, &fit(&format!(" {}", l.text), rest), t.base);
        }
        LineKind::Body => {
            put(buf, area, area.x, y, &l.text, t.base);
        }
        LineKind::Rule => {
            put(buf, area, area.x, y, &"─".repeat(w), t.dim);
        }
        LineKind::Heading => {
            put(buf, area, area.x, y, &l.text, t.dim);
        }
        LineKind::Push(p, author, date) => {
            let style = match p {
                Push::Up => t.push_up,
                Push::Down => t.push_down,
                Push::Arrow => t.push_arrow,
            };
            let mut x = put(buf, area, area.x, y, &format!("{} ", p.symbol()), style);
            x = put(buf, area, x, y, author, t.unread);
            let date_w = if w >= 50 { date.len() + 1 } else { 0 };
            let room = usize::from(area.right().saturating_sub(x)).saturating_sub(date_w);
            x = put(
                buf,
                area,
                x,
                y,
                &fit(&format!(": {}", l.text), room),
                t.base,
            );
            if date_w > 0 {
                put(buf, area, x, y, &right(date, date_w), t.dim);
            }
        }
        LineKind::Comment(author, date) => {
            let mut x = area.x;
            let (mark, dim, name, base) = if picked {
                bar(buf, area, y, t.selected);
                (">> ", t.selected, t.selected, t.selected)
            } else {
                ("留 ", t.dim, t.unread, t.base)
            };
            match author {
                Some(a) => {
                    x = put(buf, area, x, y, mark, dim);
                    x = put(buf, area, x, y, a, name);
                    x = put(buf, area, x, y, &format!(" {date}"), dim);
                    x = put(buf, area, x, y, ": ", dim);
                }
                None => x = put(buf, area, x, y, "    ", dim),
            }
            put(buf, area, x, y, &l.text, base);
        }
    }
}

/// The post being read.
pub(super) fn post(app: &App, buf: &mut Buffer, area: Rect) {
    let r = &app.reader;
    if r.post.is_none() {
        put(buf, area, area.x + 2, area.y + 1, "Loading…", app.theme.dim);
        return;
    }
    let height = usize::from(area.height);
    // A layout for another width (resize in flight) is still drawn, clipped.
    let lines = r.lines();
    let top = clamp_scroll(r.scroll, lines.len(), height);
    let picked = r.picked_lines().unwrap_or(0..0);
    for (k, l) in lines[top.min(lines.len())..]
        .iter()
        .take(height)
        .enumerate()
    {
        let here = picked.contains(&(top + k));
        line(app, buf, area, area.y + k as u16, l, here);
    }
    if lines.len() > height && area.width > 8 {
        let pct = ((top + height).min(lines.len()) * 100) / lines.len().max(1);
        let tag = format!(" {pct}% ");
        put(
            buf,
            area,
            area.right() - tag.len() as u16,
            area.bottom() - 1,
            &tag,
            app.theme.accent,
        );
    }
}

/// The open mail.
pub(super) fn mail(app: &App, buf: &mut Buffer, area: Rect) {
    let Some(m) = app.mail.rows.get(app.mail.cursor.sel) else {
        put(buf, area, area.x + 2, area.y + 1, "No mail.", app.theme.dim);
        return;
    };
    let t = &app.theme;
    let mut lines: Vec<(bool, String)> = vec![
        (true, format!(" 寄件者 From  {}", m.mail.from)),
        (true, format!(" 主題 Subject {}", m.mail.subject)),
        (
            true,
            format!(
                " 時間 Date    {}",
                time::full_date(m.mail.time, &app.settings.zone)
            ),
        ),
        (false, "─".repeat(usize::from(area.width))),
    ];
    for piece in wrap(&m.mail.body, usize::from(area.width)) {
        lines.push((false, piece));
    }
    let top = clamp_scroll(app.mail.scroll, lines.len(), usize::from(area.height));
    for (k, (head, text)) in lines
        .iter()
        .skip(top)
        .take(usize::from(area.height))
        .enumerate()
    {
        let style = if *head { t.header } else { t.base };
        put(buf, area, area.x, area.y + k as u16, text, style);
    }
}
