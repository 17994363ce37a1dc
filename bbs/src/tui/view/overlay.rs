//! Overlays drawn over any screen: the help (generated from the key map, so every binding
//! is listed) and the toasts in the top-right corner.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear, Widget};

use super::text::{fit, put};
use crate::tui::action::Context;
use crate::tui::app::{App, ToastKind};
use crate::tui::editor::str_width;
use crate::tui::keymap::KeyMap;

/// The help text: (is a heading, line), every context with every action and its keys.
pub fn help_lines(keymap: &KeyMap) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for ctx in Context::ALL {
        let Some(list) = keymap.listing().get(&ctx) else {
            continue;
        };
        out.push((true, format!("{} [{}]", ctx.title(), ctx.name())));
        for (action, keys) in list {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            out.push((
                false,
                format!("  {} {}", fit(&keys.join(" "), 22), action.describe()),
            ));
        }
        out.push((false, String::new()));
    }
    out.push((false, "Any other key closes this help.".into()));
    out
}

/// Rows of help text the overlay shows on a terminal of `rows` rows.
pub fn help_rows(rows: u16) -> usize {
    usize::from(rows.saturating_sub(4)).max(1)
}

/// The help overlay: fits the terminal (lines end with `…` when cut) and scrolls; the
/// title says which lines are shown.
pub(super) fn help(app: &App, scroll: usize, buf: &mut Buffer, area: Rect) {
    let w = area.width.saturating_sub(2).min(78);
    let h = area.height.saturating_sub(2);
    let b = Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h);
    Clear.render(b, buf);
    buf.set_style(b, app.theme.base);
    let lines = help_lines(&app.keymap);
    let height = help_rows(area.height);
    let top = scroll.min(lines.len().saturating_sub(height));
    let last = (top + height).min(lines.len());
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" 說明 Help {}-{last}/{} ", top + 1, lines.len()))
        .border_style(app.theme.unread);
    let inner = block.inner(b);
    block.render(b, buf);
    let width = usize::from(inner.width);
    for (k, (head, text)) in lines.iter().skip(top).take(height).enumerate() {
        let style = if *head {
            app.theme.unread
        } else {
            app.theme.base
        };
        put(
            buf,
            inner,
            inner.x,
            inner.y + k as u16,
            &fit(text, width),
            style,
        );
    }
}

/// Whether the terminal is too small for toasts in the corner: they then take the title
/// bar, so they never cover what the user is reading or typing.
pub(super) fn small(area: Rect) -> bool {
    area.width < 60 || area.height < 16
}

/// Toasts, newest at the bottom of the stack, in the top-right corner (on a small
/// terminal: the newest one on the title bar).
pub(super) fn toasts(app: &App, buf: &mut Buffer, area: Rect) {
    let style_of = |k: ToastKind| match k {
        ToastKind::Error => app.theme.error,
        ToastKind::Info | ToastKind::Notice => app.theme.accent,
    };
    if small(area) {
        if let Some(t) = app.toasts.back() {
            let maxw = usize::from(area.width);
            let text = fit(&format!(" {} ", t.text), maxw.min(str_width(&t.text) + 2));
            let x = area.right().saturating_sub(str_width(&text) as u16);
            put(buf, area, x, area.y, &text, style_of(t.kind));
        }
        return;
    }
    let maxw = usize::from(area.width.saturating_sub(2)).min(60);
    for (k, t) in app.toasts.iter().enumerate() {
        let y = area.y + 1 + k as u16;
        if y + 1 >= area.bottom() {
            break;
        }
        let text = fit(&format!(" {} ", t.text), maxw.min(str_width(&t.text) + 2));
        let w = str_width(&text) as u16;
        let x = area.right().saturating_sub(w + 1);
        put(buf, area, x, y, &text, style_of(t.kind));
    }
}
