//! The list screens: boards, posts (PTT columns), mailbox, subscriptions, notifications,
//! online users. Each draws a header row and only the rows inside the viewport.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::text::{bar, fit, put, right};
use crate::time;
use crate::tui::app::App;
use crate::tui::msg::PostRow;
use crate::tui::scroll::Cursor;
use crate::tui::theme::Theme;

/// Draws a header and `len` rows via `row(i, y, selected)`.
#[allow(clippy::too_many_arguments)]
fn list(
    app: &App,
    buf: &mut Buffer,
    area: Rect,
    header: &str,
    cursor: &Cursor,
    len: usize,
    empty: &str,
    mut row: impl FnMut(&mut Buffer, usize, u16, Style),
) {
    bar(buf, area, area.y, app.theme.header);
    put(buf, area, area.x, area.y, header, app.theme.header);
    let height = usize::from(area.height.saturating_sub(1));
    if len == 0 {
        put(buf, area, area.x + 2, area.y + 2, empty, app.theme.dim);
        return;
    }
    let top = cursor.top_for(len, height);
    for (k, i) in (top..len).take(height).enumerate() {
        let y = area.y + 1 + k as u16;
        let selected = i == cursor.sel;
        let style = if selected {
            app.theme.selected
        } else {
            app.theme.base
        };
        if selected {
            bar(buf, area, y, style);
        }
        row(buf, i, y, style);
    }
}

/// Board list.
pub(super) fn boards(app: &App, buf: &mut Buffer, area: Rect) {
    let w = usize::from(area.width);
    let name_w = if w >= 70 { 20 } else { 12 };
    let mod_w = if w >= 70 { 12 } else { 8 };
    let wide = w >= 60;
    let header = if wide {
        format!(
            "   {} {} {} {} 最新",
            fit(" 看板 Board", name_w + 2),
            fit("板主 Mod", mod_w),
            right("篇數", 6),
            right("未讀", 6)
        )
    } else {
        format!("   {} {}", fit(" 看板 Board", name_w + 2), right("未讀", 6))
    };
    let mut hint = String::new();
    if !app.boards.filter.is_empty() {
        hint = format!("  (filter: {})", app.boards.filter);
    }
    // A filter that hides every board says so, and how to clear it (like the searches).
    let no_match;
    let empty = if !app.boards.filter.is_empty() && app.boards.total() > 0 {
        let clear = app.keymap.key_of(
            crate::tui::action::Context::Boards,
            crate::tui::action::Action::ClearFilter,
        );
        no_match = format!("No match. Press {clear} to clear the filter.");
        no_match.as_str()
    } else {
        "No boards yet. Press c to create one."
    };
    list(
        app,
        buf,
        area,
        &format!("{header}{hint}"),
        &app.boards.cursor,
        app.boards.len(),
        empty,
        |buf, i, y, style| {
            let Some(b) = app.boards.row_at(i) else {
                return;
            };
            let star = if b.favourite { "★" } else { " " };
            let sel = if i == app.boards.cursor.sel { ">" } else { " " };
            let mut x = put(
                buf,
                area,
                area.x,
                y,
                &format!("{sel}{} {star} ", right(&(i + 1).to_string(), 3)),
                style,
            );
            x = put(buf, area, x, y, &fit(&b.name, name_w), style);
            x = put(buf, area, x, y, " ", style);
            if wide {
                x = put(buf, area, x, y, &fit(&b.creator, mod_w), style);
                x = put(buf, area, x, y, &right(&b.posts.to_string(), 6), style);
            }
            let unread = if b.unread > 0 && !b.unread_exact {
                format!("{}+", b.unread)
            } else if b.unread > 0 {
                b.unread.to_string()
            } else {
                String::new()
            };
            let ustyle = if b.unread > 0 {
                style.patch(app.theme.unread)
            } else {
                style
            };
            x = put(buf, area, x, y, &right(&unread, 6), ustyle);
            if wide {
                put(
                    buf,
                    area,
                    x,
                    y,
                    &format!(" {}", time::month_day(b.last, &app.settings.zone)),
                    style,
                );
            }
        },
    );
}

/// The PTT score column: 爆 for 100+, the number for 1-99, X1-X9 / XX for large negatives.
pub(super) fn score(s: i64, theme: &Theme) -> (String, Style) {
    match s {
        100.. => ("爆".into(), theme.score_hot),
        10..=99 => (format!("{s:>2}"), theme.score_high),
        1..=9 => (format!("{s:>2}"), theme.score_low),
        0 => ("  ".into(), Style::new()),
        -9..=-1 => (format!("{s:>2}"), theme.score_neg),
        -99..=-10 => (format!("X{}", -s / 10), theme.score_neg),
        _ => ("XX".into(), theme.score_neg),
    }
}

fn post_row(
    app: &App,
    buf: &mut Buffer,
    area: Rect,
    y: u16,
    r: &PostRow,
    selected: bool,
    style: Style,
) {
    let w = usize::from(area.width);
    let (id_w, author_w) = if w >= 60 { (7, 12) } else { (5, 8) };
    let sel = if selected { ">" } else { " " };
    let mut x = put(
        buf,
        area,
        area.x,
        y,
        &format!("{sel}{} ", right(&r.id.to_string(), id_w)),
        style,
    );
    let read = app.posts.is_read(r);
    x = put(
        buf,
        area,
        x,
        y,
        if read { " " } else { "+" },
        style.patch(app.theme.unread),
    );
    let (sc, sstyle) = score(r.score, &app.theme);
    x = put(buf, area, x, y, &sc, style.patch(sstyle));
    x = put(
        buf,
        area,
        x,
        y,
        &format!(" {} ", time::month_day(r.time, &app.settings.zone)),
        style,
    );
    x = put(buf, area, x, y, &fit(&r.author, author_w), style);
    x = put(buf, area, x, y, " □ ", style);
    let rest = usize::from(area.right().saturating_sub(x));
    put(buf, area, x, y, &fit(&r.title, rest), style);
}

/// A board's post list.
pub(super) fn posts(app: &App, buf: &mut Buffer, area: Rect) {
    let p = &app.posts;
    let w = usize::from(area.width);
    let id_w = if w >= 60 { 7 } else { 5 };
    let author_w = if w >= 60 { 12 } else { 8 };
    let mut header = format!(
        " {} 推 日期  {}   標題",
        right("編號", id_w + 1),
        fit("作者", author_w)
    );
    if let Some(s) = &p.search {
        let (k, t) = match s {
            crate::tui::posts::Search::Title(t) => ("title", t),
            crate::tui::posts::Search::Author(t) => ("author", t),
        };
        header.push_str(&format!("  [{k}: {t}] {}/{}", p.len(), p.total()));
    }
    let no_match;
    let empty = if !p.loaded {
        "Loading…"
    } else if p.search.is_some() && p.total() > 0 {
        let clear = app.keymap.key_of(
            crate::tui::action::Context::Posts,
            crate::tui::action::Action::ClearFilter,
        );
        no_match = format!("No match. Press {clear} to clear the search.");
        no_match.as_str()
    } else {
        "No posts. Press p to write one."
    };
    list(
        app,
        buf,
        area,
        &header,
        &p.cursor,
        p.len(),
        empty,
        |buf, i, y, style| {
            if let Some(r) = p.row_at(i) {
                post_row(app, buf, area, y, r, i == p.cursor.sel, style);
            }
        },
    );
}

/// The mailbox.
pub(super) fn mailbox(app: &App, buf: &mut Buffer, area: Rect) {
    let m = &app.mail;
    let header = format!(
        "  {} {} 日期  主題 Subject",
        right("#", 4),
        fit("寄件者 From", 12)
    );
    list(
        app,
        buf,
        area,
        &header,
        &m.cursor,
        m.rows.len(),
        "No mail.",
        |buf, i, y, style| {
            let Some(r) = m.rows.get(i) else { return };
            let sel = if i == m.cursor.sel { ">" } else { " " };
            let line = format!(
                "{sel} {} {} {} {}",
                right(&r.number.to_string(), 4),
                fit(&r.mail.from, 12),
                time::month_day(r.mail.time, &app.settings.zone),
                r.mail.subject
            );
            put(buf, area, area.x, y, &line, style);
        },
    );
}

/// Subscriptions.
pub(super) fn subs(app: &App, buf: &mut Buffer, area: Rect) {
    let s = &app.subs;
    let header = format!("  {} 關鍵字 Keyword", fit("對象 Target", 24));
    list(
        app,
        buf,
        area,
        &header,
        &s.cursor,
        s.rows.len(),
        "No subscriptions. Press a to add one.",
        |buf, i, y, style| {
            let Some((t, k)) = s.rows.get(i) else { return };
            put(
                buf,
                area,
                area.x,
                y,
                &format!("  {} {k}", fit(&t.to_string(), 24)),
                style,
            );
        },
    );
}

/// The notification log.
pub(super) fn notes(app: &App, buf: &mut Buffer, area: Rect) {
    let n = &app.notes;
    let header = "  通知 post · board · title · author".to_string();
    list(
        app,
        buf,
        area,
        &header,
        &n.cursor,
        n.rows.len(),
        "No notifications yet.",
        |buf, i, y, style| {
            let Some(e) = n.rows.get(i) else { return };
            put(
                buf,
                area,
                area.x,
                y,
                &format!("  ★ #{} [{}] {} — {}", e.id, e.board, e.title, e.author),
                style,
            );
        },
    );
}

/// Who is online.
pub(super) fn online(app: &App, buf: &mut Buffer, area: Rect) {
    let o = &app.online;
    let me = app.user.as_deref().unwrap_or("");
    let header = format!("  線上使用者 Online users: {}", o.rows.len());
    list(
        app,
        buf,
        area,
        &header,
        &o.cursor,
        o.rows.len(),
        "Nobody is online.",
        |buf, i, y, style| {
            let Some(u) = o.rows.get(i) else { return };
            let you = if u == me { " (you)" } else { "" };
            put(buf, area, area.x, y, &format!("  ● {u}{you}"), style);
        },
    );
}
