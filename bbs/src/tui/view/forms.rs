//! The forms: login box, composer (fields laid out in a box; single-line fields scroll
//! horizontally, the body wraps by display width) and the prompt line; and where each
//! puts the terminal cursor. Layout and cursor come from the same functions, so the
//! cursor always sits on the cell the text shows.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::{Block, Borders, Clear, Widget};
use unicode_segmentation::UnicodeSegmentation;

use super::text::{bar, centered, put};
use crate::text_wrap::cluster_width;
use crate::tui::action::{Action, Context};
use crate::tui::app::App;
use crate::tui::compose::{Composer, Prompt};
use crate::tui::editor::{str_width, TextArea};

/// The visible part of a one-line field `width` wide, and the cursor's column in it
/// (scrolled by whole grapheme clusters; a masked field shows one `*` a cluster).
fn single_view(area: &TextArea, width: usize, mask: bool) -> (String, usize) {
    let line = area.lines().next().unwrap_or_default();
    let line: Vec<&str> = if mask {
        line.graphemes(true).map(|_| "*").collect()
    } else {
        line.graphemes(true).collect()
    };
    let col = area.cursor().1.min(line.len());
    let width = width.max(2);
    let mut start = 0;
    let mut cx: usize = line[..col].iter().copied().map(cluster_width).sum();
    while cx >= width && start < col {
        cx -= cluster_width(line[start]);
        start += 1;
    }
    let mut out = String::new();
    let mut w = 0;
    for &g in &line[start..] {
        let gw = cluster_width(g);
        if w + gw > width {
            break;
        }
        out.push_str(g);
        w += gw;
    }
    (out, cx)
}

const LOGIN_LABEL: u16 = 12;

fn login_box(app: &App, area: Rect) -> Rect {
    let h = if app.login.register { 15 } else { 14 };
    centered(area, 64, h)
}

/// The login / register form.
pub(super) fn login(app: &App, buf: &mut Buffer, area: Rect) {
    let f = &app.login;
    let t = &app.theme;
    let b = login_box(app, area);
    let title = if f.register {
        " 註冊 Register "
    } else {
        " 登入 Login "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(t.dim);
    let inner = block.inner(b);
    block.render(b, buf);
    put(
        buf,
        inner,
        inner.x + 1,
        inner.y,
        "bbs — 電子佈告欄 · a terminal bulletin board",
        t.unread,
    );
    put(
        buf,
        inner,
        inner.x + 1,
        inner.y + 1,
        &format!("server {}", app.server),
        t.dim,
    );
    let fields: [(&str, &TextArea, bool); 3] = [
        ("Username", &f.user, false),
        ("Password", &f.password, true),
        ("Email", &f.email, false),
    ];
    for (i, (label, area_, mask)) in fields.iter().enumerate().take(f.field_count()) {
        let y = inner.y + 3 + i as u16;
        let style = if f.focus == i { t.selected } else { t.base };
        put(buf, inner, inner.x + 1, y, &format!("{label:>10}:"), t.base);
        let w = inner.width.saturating_sub(LOGIN_LABEL + 2);
        let (text, _) = single_view(area_, usize::from(w), *mask);
        bar(buf, Rect::new(inner.x + LOGIN_LABEL + 1, y, w, 1), y, style);
        put(buf, inner, inner.x + LOGIN_LABEL + 1, y, &text, style);
    }
    let mut y = inner.y + 4 + f.field_count() as u16;
    if let Some(e) = &f.error {
        let width = usize::from(inner.width.saturating_sub(4));
        for (k, piece) in crate::tui::post_layout::wrap(e, width)
            .iter()
            .take(2)
            .enumerate()
        {
            put(
                buf,
                inner,
                inner.x + 1,
                y + k as u16,
                &format!(" {piece} "),
                t.error,
            );
        }
    } else if let Some(i) = &f.info {
        put(buf, inner, inner.x + 1, y, i, t.accent);
    } else if f.busy {
        put(buf, inner, inner.x + 1, y, "…", t.dim);
    }
    y += 3;
    let k = |a| app.keymap.key_of(Context::Login, a);
    let other = if f.register { "login" } else { "register" };
    let hint = format!(
        "{} submit · {} next · {} {other} · {} quit",
        k(Action::Send),
        k(Action::NextField),
        k(Action::ToggleRegister),
        k(Action::Quit)
    );
    put(buf, inner, inner.x + 1, y, &hint, t.dim);
    if let Some(h) = &f.hint {
        put(buf, inner, inner.x + 1, y + 1, h, t.dim);
    }
}

/// Where the login form's cursor is.
pub(super) fn login_cursor(app: &App, area: Rect) -> Option<Position> {
    let f = &app.login;
    let b = login_box(app, area);
    let inner = Block::default().borders(Borders::ALL).inner(b);
    let y = inner.y + 3 + f.focus as u16;
    let field = match f.focus {
        0 => &f.user,
        1 => &f.password,
        _ => &f.email,
    };
    let w = inner.width.saturating_sub(LOGIN_LABEL + 2);
    let (_, cx) = single_view(field, usize::from(w), f.focus == 1);
    let x = inner.x + LOGIN_LABEL + 1 + cx as u16;
    (y < inner.bottom() && x < inner.right()).then_some(Position::new(x, y))
}

/// A field's place in the composer: (label origin, text rect, multi-line).
struct Slot {
    label: (u16, u16),
    text: Rect,
    multi: bool,
}

fn composer_layout(c: &Composer, area: Rect) -> (Rect, Vec<Slot>, u16) {
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let hint_y = inner.bottom().saturating_sub(1);
    let mut y = inner.y;
    let mut slots = Vec::new();
    let last = c.fields.len() - 1;
    for (i, f) in c.fields.iter().enumerate() {
        let multi = i == last && !matches!(c.kind, crate::tui::compose::ComposeKind::Push(..));
        if multi {
            let h = hint_y.saturating_sub(y + 1).max(1);
            slots.push(Slot {
                label: (inner.x, y),
                text: Rect::new(inner.x, (y + 1).min(hint_y), inner.width, h),
                multi,
            });
        } else {
            let lw = str_width(f.label) as u16 + 2;
            slots.push(Slot {
                label: (inner.x, y),
                text: Rect::new(inner.x + lw, y, inner.width.saturating_sub(lw), 1),
                multi,
            });
            y += 1;
        }
    }
    (inner, slots, hint_y)
}

/// The composer box.
pub(super) fn composer(app: &App, c: &Composer, buf: &mut Buffer, area: Rect) {
    let t = &app.theme;
    Clear.render(area, buf);
    buf.set_style(area, t.base);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", super::text::safe(&c.title())))
        .border_style(t.unread);
    block.render(area, buf);
    let (inner, slots, hint_y) = composer_layout(c, area);
    for (i, (f, s)) in c.fields.iter().zip(&slots).enumerate() {
        let focused = i == c.focus;
        let lstyle = if focused { t.unread } else { t.dim };
        put(
            buf,
            inner,
            s.label.0,
            s.label.1,
            &format!("{}:", f.label),
            lstyle,
        );
        if s.multi {
            let (rows, cursor) = f.area.wrap(usize::from(s.text.width));
            let h = usize::from(s.text.height);
            let top = if focused {
                cursor.0.saturating_sub(h.saturating_sub(1))
            } else {
                0
            };
            for (k, r) in rows.iter().skip(top).take(h).enumerate() {
                put(
                    buf,
                    s.text,
                    s.text.x,
                    s.text.y + k as u16,
                    &f.area.row_text(*r),
                    t.base,
                );
            }
        } else {
            let (text, _) = single_view(&f.area, usize::from(s.text.width), false);
            put(buf, s.text, s.text.x, s.text.y, &text, t.base);
        }
    }
    let msg = match (&c.error, c.sending) {
        (Some(e), _) => Some((format!(" {e} "), t.error)),
        (None, true) => Some(("Sending…".to_string(), t.dim)),
        _ => None,
    };
    match msg {
        Some((m, style)) => {
            put(buf, inner, inner.x, hint_y, &m, style);
        }
        None => {
            let k = |a| app.keymap.key_of(Context::Composer, a);
            let hint = format!(
                "{} send · {} newline · {} field · {} $EDITOR · {} close, draft kept",
                k(Action::Send),
                k(Action::Newline),
                k(Action::NextField),
                k(Action::ExternalEditor),
                k(Action::Cancel)
            );
            put(buf, inner, inner.x, hint_y, &hint, t.dim);
        }
    }
}

/// Where the composer's cursor is.
pub(super) fn composer_cursor(c: &Composer, area: Rect) -> Option<Position> {
    let (_, slots, _) = composer_layout(c, area);
    let s = slots.get(c.focus)?;
    let f = c.fields.get(c.focus)?;
    let (x, y) = if s.multi {
        let (_, cursor) = f.area.wrap(usize::from(s.text.width));
        let h = usize::from(s.text.height);
        let top = cursor.0.saturating_sub(h.saturating_sub(1));
        (
            s.text.x + cursor.1 as u16,
            s.text.y + (cursor.0 - top) as u16,
        )
    } else {
        let (_, cx) = single_view(&f.area, usize::from(s.text.width), false);
        (s.text.x + cx as u16, s.text.y)
    };
    (x < area.right() && y < area.bottom()).then_some(Position::new(x, y))
}

fn prompt_row(area: Rect) -> u16 {
    area.bottom().saturating_sub(2)
}

/// The question line above the status bar.
pub(super) fn prompt(app: &App, p: &Prompt, buf: &mut Buffer, area: Rect) {
    let y = prompt_row(area);
    bar(buf, area, y, app.theme.accent);
    let label = p.kind.label();
    let x = put(buf, area, area.x, y, &label, app.theme.accent);
    let w = usize::from(area.right().saturating_sub(x));
    let (text, _) = single_view(&p.input, w, false);
    let x = put(buf, area, x, y, &text, app.theme.accent);
    if let Some(e) = &p.error {
        put(buf, area, x + 1, y, e, app.theme.error);
    }
}

/// Where the prompt's cursor is.
pub(super) fn prompt_cursor(p: &Prompt, area: Rect) -> Option<Position> {
    let y = prompt_row(area);
    let lw = str_width(&p.kind.label()) as u16;
    let x0 = area.x + lw;
    let w = usize::from(area.right().saturating_sub(x0));
    let (_, cx) = single_view(&p.input, w, false);
    let x = x0 + cx as u16;
    (x < area.right()).then_some(Position::new(x, y))
}
