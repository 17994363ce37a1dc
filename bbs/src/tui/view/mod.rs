//! Drawing: pure functions of the [`App`] state. `impl Widget for &App` draws the frame
//! (title bar, the shown screen, the prompt line, the status bar, then overlays: composer,
//! help, toasts); [`cursor_position`] says where the terminal cursor goes (the focused
//! text field, so an IME opens its candidate window there). Each screen draws only its
//! visible rows.

mod forms;
mod lists;
mod overlay;
mod reading;
pub mod text;

pub use overlay::{help_lines, help_rows};

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;
use ratatui::Frame;

use super::app::{App, Screen};
use super::msg::ConnState;
use text::{bar, fit, put};

/// Draws the app and places the cursor.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    frame.render_widget(app, area);
    if let Some(p) = cursor_position(app, area) {
        frame.set_cursor_position(p);
    }
}

/// The body: everything between the title bar and the status bar.
pub fn body(area: Rect) -> Rect {
    Rect::new(
        area.x,
        area.y + 1,
        area.width,
        area.height.saturating_sub(2),
    )
}

/// Where the terminal cursor goes, if a text field has the focus.
pub fn cursor_position(app: &App, area: Rect) -> Option<Position> {
    if area.width < 4 || area.height < 3 || app.help.is_some() {
        return None;
    }
    if let Some(p) = &app.prompt {
        return forms::prompt_cursor(p, area);
    }
    if let Some(c) = &app.composer {
        return forms::composer_cursor(c, body(area));
    }
    if app.screen() == Screen::Login {
        return forms::login_cursor(app, body(area));
    }
    None
}

fn title(app: &App) -> String {
    match app.screen() {
        Screen::Login => "登入 Login".into(),
        Screen::Boards => "看板列表 Boards".into(),
        Screen::Posts => format!("看板 {}", app.posts.board),
        Screen::Reader => match &app.reader.post {
            Some(p) => format!("{} › #{} {}", p.board, p.id, p.title),
            None => "…".into(),
        },
        Screen::Mail => "信箱 Mailbox".into(),
        Screen::MailRead => "信件 Mail".into(),
        Screen::Subs => "訂閱 Subscriptions".into(),
        Screen::Notifications => "通知 Notifications".into(),
        Screen::Online => "線上使用者 Online".into(),
    }
}

fn status(app: &App, buf: &mut Buffer, area: Rect) {
    let y = area.bottom() - 1;
    bar(buf, area, y, app.theme.status);
    let conn = match &app.conn {
        ConnState::Connecting => "◌ connecting".to_string(),
        ConnState::Online => "● online".to_string(),
        ConnState::Reconnecting(0, e) => format!("◌ reconnecting: {e}"),
        ConnState::Reconnecting(n, e) => format!("◌ reconnecting (attempt {n}): {e}"),
    };
    let who = app.user.as_deref().unwrap_or("(not logged in)");
    let mut left = format!(" {who}@{} {conn}", app.server);
    if app.mail.unseen > 0 {
        left.push_str(&format!("  ✉ {}", app.mail.unseen));
    }
    if app.unseen_notes > 0 {
        left.push_str(&format!("  ★ {}", app.unseen_notes));
    }
    let help = format!(
        "{} help ",
        app.keymap
            .keys_of(super::action::Context::Global, super::action::Action::Help)
    );
    let hw = super::editor::str_width(&help) as u16;
    let x = put(buf, area, area.x, y, &left, app.theme.status);
    if area.width > hw && x + hw < area.right() {
        put(buf, area, area.right() - hw, y, &help, app.theme.status);
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.theme.base);
        if area.height < 3 || area.width < 10 {
            put(
                buf,
                area,
                area.x,
                area.y,
                "terminal too small",
                self.theme.base,
            );
            return;
        }
        bar(buf, area, area.y, self.theme.title);
        put(
            buf,
            area,
            area.x,
            area.y,
            &fit(&format!(" bbs │ {}", title(self)), usize::from(area.width)),
            self.theme.title,
        );
        let b = body(area);
        match self.screen() {
            Screen::Login => forms::login(self, buf, b),
            Screen::Boards => lists::boards(self, buf, b),
            Screen::Posts => lists::posts(self, buf, b),
            Screen::Reader => reading::post(self, buf, b),
            Screen::Mail => lists::mailbox(self, buf, b),
            Screen::MailRead => reading::mail(self, buf, b),
            Screen::Subs => lists::subs(self, buf, b),
            Screen::Notifications => lists::notes(self, buf, b),
            Screen::Online => lists::online(self, buf, b),
        }
        status(self, buf, area);
        if let Some(c) = &self.composer {
            forms::composer(self, c, buf, b);
        }
        if let Some(p) = &self.prompt {
            forms::prompt(self, p, buf, area);
        }
        if let Some(scroll) = self.help {
            overlay::help(self, scroll, buf, area);
        }
        overlay::toasts(self, buf, area);
    }
}
