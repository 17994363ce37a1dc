//! Colour themes: a [`Theme`] is the set of styles the views use, by role (title bar,
//! selection, unread marker, push symbols, the PTT score colours). `dark` and `light` are
//! coloured; `mono` uses only bold / reverse / dim and is chosen whenever `NO_COLOR` is set.

use ratatui::style::{Color, Modifier, Style};

/// Styles by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// Its name in the config (`dark`, `light`, `mono`).
    pub name: &'static str,
    /// Everything not styled otherwise.
    pub base: Style,
    /// The top title bar.
    pub title: Style,
    /// Column headers and section headings.
    pub header: Style,
    /// The selected row.
    pub selected: Style,
    /// The status bar.
    pub status: Style,
    /// Secondary text (dates, hints).
    pub dim: Style,
    /// The unread marker and unread counts.
    pub unread: Style,
    /// 推 lines.
    pub push_up: Style,
    /// 噓 lines.
    pub push_down: Style,
    /// → lines.
    pub push_arrow: Style,
    /// Score 100+ (爆).
    pub score_hot: Style,
    /// Score 10-99.
    pub score_high: Style,
    /// Score 1-9.
    pub score_low: Style,
    /// Negative scores.
    pub score_neg: Style,
    /// Errors.
    pub error: Style,
    /// Toasts and other highlights.
    pub accent: Style,
}

impl Theme {
    /// White on black, PTT-like.
    pub fn dark() -> Theme {
        Theme {
            name: "dark",
            base: Style::new().fg(Color::Gray).bg(Color::Black),
            title: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            header: Style::new().fg(Color::Black).bg(Color::Gray),
            selected: Style::new().fg(Color::Black).bg(Color::Cyan),
            status: Style::new().fg(Color::White).bg(Color::DarkGray),
            dim: Style::new().fg(Color::DarkGray),
            unread: Style::new()
                .fg(Color::LightYellow)
                .add_modifier(Modifier::BOLD),
            push_up: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
            push_down: Style::new().fg(Color::LightRed),
            push_arrow: Style::new().fg(Color::LightRed),
            score_hot: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            score_high: Style::new().fg(Color::LightYellow),
            score_low: Style::new().fg(Color::LightGreen),
            score_neg: Style::new().fg(Color::DarkGray),
            error: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            accent: Style::new().fg(Color::Black).bg(Color::Yellow),
        }
    }

    /// Dark text on a light background.
    pub fn light() -> Theme {
        Theme {
            name: "light",
            base: Style::new().fg(Color::Black).bg(Color::White),
            title: Style::new()
                .fg(Color::White)
                .bg(Color::Blue)
                .add_modifier(Modifier::BOLD),
            header: Style::new().fg(Color::White).bg(Color::DarkGray),
            selected: Style::new().fg(Color::White).bg(Color::Blue),
            status: Style::new().fg(Color::Black).bg(Color::Gray),
            dim: Style::new().fg(Color::DarkGray),
            unread: Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            push_up: Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD),
            push_down: Style::new().fg(Color::Red),
            push_arrow: Style::new().fg(Color::Red),
            score_hot: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            score_high: Style::new().fg(Color::Magenta),
            score_low: Style::new().fg(Color::Green),
            score_neg: Style::new().fg(Color::DarkGray),
            error: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
            accent: Style::new().fg(Color::Black).bg(Color::LightYellow),
        }
    }

    /// No colours at all (NO_COLOR): attributes only.
    pub fn mono() -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let rev = Style::new().add_modifier(Modifier::REVERSED);
        Theme {
            name: "mono",
            base: plain,
            title: rev.add_modifier(Modifier::BOLD),
            header: Style::new().add_modifier(Modifier::UNDERLINED),
            selected: rev,
            status: rev,
            dim: Style::new().add_modifier(Modifier::DIM),
            unread: bold,
            push_up: bold,
            push_down: plain,
            push_arrow: plain,
            score_hot: bold,
            score_high: bold,
            score_low: plain,
            score_neg: Style::new().add_modifier(Modifier::DIM),
            error: rev.add_modifier(Modifier::BOLD),
            accent: rev,
        }
    }

    /// A theme by name.
    pub fn by_name(name: &str) -> Option<Theme> {
        match name {
            "dark" => Some(Theme::dark()),
            "light" => Some(Theme::light()),
            "mono" | "none" | "no-colour" | "no-color" => Some(Theme::mono()),
            _ => None,
        }
    }

    /// The next theme in the cycle dark → light → mono.
    pub fn next(&self) -> Theme {
        match self.name {
            "dark" => Theme::light(),
            "light" => Theme::mono(),
            _ => Theme::dark(),
        }
    }
}

/// Whether the environment asks for no colour (`NO_COLOR` set and not empty).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
