//! The one place where keys become [`Action`]s: the default bindings (vi-style and arrow
//! keys), overrides from the config file, lookup through a screen's chain of contexts, and
//! the help overlay's listing generated from the same table (so it can never miss a key).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, Context};

/// A key with its modifiers, normalised (a typed `G` is `G`, not Shift-`G`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl and Alt (Shift only for non-character keys).
    pub mods: KeyModifiers,
}

impl Key {
    /// A key without modifiers.
    pub fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    /// The normalised key of a terminal event.
    pub fn from_event(ev: &KeyEvent) -> Key {
        let mut mods =
            ev.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let mut code = ev.code;
        match code {
            KeyCode::Char(c) => {
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    code = KeyCode::Char(c.to_ascii_lowercase());
                }
            }
            KeyCode::BackTab => mods.remove(KeyModifiers::SHIFT),
            _ => {}
        }
        Key { code, mods }
    }

    /// Parses `j`, `G`, `?`, `Enter`, `Ctrl-s`, `Alt-Enter`, `Shift-Tab`, `PageDown`,
    /// `Space`, `F1`.
    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("ctrl-") && rest.len() > 5 {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[5..];
            } else if lower.starts_with("alt-") && rest.len() > 4 {
                mods |= KeyModifiers::ALT;
                rest = &rest[4..];
            } else if lower.starts_with("shift-") && rest.len() > 6 {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[6..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                f if f.starts_with('f') => KeyCode::F(f[1..].parse().ok()?),
                _ => return None,
            },
        };
        Some(Key::from_event(&KeyEvent::new(code, mods)))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::PageUp => f.write_str("PageUp"),
            KeyCode::PageDown => f.write_str("PageDown"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The default bindings: (context, action, keys).
const DEFAULTS: &[(Context, Action, &[&str])] = &[
    (Context::Global, Action::Quit, &["Q", "Ctrl-c"]),
    (Context::Global, Action::Help, &["?", "F1"]),
    (Context::Global, Action::Back, &["q", "Esc", "Left", "h"]),
    (Context::Global, Action::GoMail, &["m"]),
    (Context::Global, Action::GoOnline, &["w"]),
    (Context::Global, Action::GoNotifications, &["!"]),
    (Context::Global, Action::GoSubs, &["S"]),
    (Context::Global, Action::CycleTheme, &["T"]),
    (Context::Global, Action::ToggleBell, &["B"]),
    (Context::Nav, Action::Up, &["k", "Up"]),
    (Context::Nav, Action::Down, &["j", "Down"]),
    (Context::Nav, Action::PageUp, &["PageUp", "Ctrl-b"]),
    (
        Context::Nav,
        Action::PageDown,
        &["PageDown", "Ctrl-f", "Space"],
    ),
    (Context::Nav, Action::Top, &["g", "Home"]),
    (Context::Nav, Action::Bottom, &["G", "End", "$"]),
    (Context::Nav, Action::Open, &["Enter", "Right", "l"]),
    (Context::Login, Action::Send, &["Enter"]),
    (Context::Login, Action::NextField, &["Tab", "Down"]),
    (Context::Login, Action::PrevField, &["Shift-Tab", "Up"]),
    (Context::Login, Action::ToggleRegister, &["Ctrl-r"]),
    (Context::Login, Action::Quit, &["Ctrl-c", "Esc"]),
    (Context::Boards, Action::Filter, &["/"]),
    (Context::Boards, Action::ClearFilter, &["Ctrl-l"]),
    (Context::Boards, Action::CreateBoard, &["c"]),
    (Context::Boards, Action::ToggleFavourite, &["f"]),
    (Context::Boards, Action::MarkAllRead, &["v"]),
    (Context::Boards, Action::NextUnread, &["n", "Tab"]),
    (Context::Boards, Action::Back, &["q", "Esc"]),
    (Context::Posts, Action::Filter, &["/"]),
    (Context::Posts, Action::SearchAuthor, &["a"]),
    (Context::Posts, Action::ClearFilter, &["Ctrl-l"]),
    (Context::Posts, Action::NextUnread, &["n", "Tab"]),
    (Context::Posts, Action::NewPost, &["p", "Ctrl-p"]),
    (Context::Posts, Action::MarkAllRead, &["v"]),
    (Context::Posts, Action::SubscribeBoard, &["s"]),
    (Context::Posts, Action::ToggleFavourite, &["f"]),
    (Context::Posts, Action::Edit, &["e"]),
    (Context::Posts, Action::Delete, &["d"]),
    (Context::Posts, Action::Remove, &["X"]),
    (Context::Reader, Action::Comment, &["c"]),
    (Context::Reader, Action::PushUp, &["+", "%"]),
    (Context::Reader, Action::PushDown, &["-"]),
    (Context::Reader, Action::PushArrow, &[">"]),
    (Context::Reader, Action::Edit, &["e"]),
    (Context::Reader, Action::Delete, &["d"]),
    (Context::Reader, Action::Remove, &["X"]),
    (Context::Reader, Action::RemoveComment, &["x"]),
    (Context::Reader, Action::NextPost, &["]", "n"]),
    (Context::Reader, Action::PrevPost, &["["]),
    (Context::Reader, Action::SubscribeAuthor, &["s"]),
    (Context::Reader, Action::ReplyMail, &["r"]),
    (Context::Mail, Action::NewMail, &["p", "c"]),
    (Context::Mail, Action::Delete, &["d"]),
    (Context::Mail, Action::ReplyMail, &["r"]),
    (Context::MailRead, Action::ReplyMail, &["r"]),
    (Context::MailRead, Action::Delete, &["d"]),
    (Context::Subs, Action::AddSub, &["a", "p"]),
    (Context::Subs, Action::Delete, &["d"]),
    (Context::Online, Action::NewMail, &["p", "c"]),
    (Context::Composer, Action::Send, &["Enter", "Ctrl-s"]),
    (Context::Composer, Action::Newline, &["Alt-Enter", "Ctrl-j"]),
    (Context::Composer, Action::NextField, &["Tab"]),
    (Context::Composer, Action::PrevField, &["Shift-Tab"]),
    (Context::Composer, Action::Cancel, &["Esc", "Ctrl-c"]),
    (Context::Composer, Action::ExternalEditor, &["Ctrl-e"]),
    (Context::Prompt, Action::Send, &["Enter"]),
    (Context::Prompt, Action::Cancel, &["Esc", "Ctrl-c"]),
    (Context::Edit, Action::CursorLeft, &["Left", "Ctrl-b"]),
    (Context::Edit, Action::CursorRight, &["Right", "Ctrl-f"]),
    (Context::Edit, Action::CursorUp, &["Up"]),
    (Context::Edit, Action::CursorDown, &["Down"]),
    (Context::Edit, Action::LineStart, &["Home", "Ctrl-a"]),
    (Context::Edit, Action::LineEnd, &["End", "Ctrl-e"]),
    (Context::Edit, Action::DeleteBack, &["Backspace", "Ctrl-h"]),
    (Context::Edit, Action::DeleteForward, &["Delete", "Ctrl-d"]),
    (Context::Edit, Action::DeleteWord, &["Ctrl-w"]),
    (Context::Edit, Action::KillLine, &["Ctrl-u"]),
];

/// Key overrides from the config file: context name → action name → keys.
pub type Overrides = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The key map.
#[derive(Debug, Clone)]
pub struct KeyMap {
    /// (context, key) → action.
    map: HashMap<(Context, Key), Action>,
    /// Per context, the actions with their keys, in definition order (for help).
    listing: BTreeMap<Context, Vec<(Action, Vec<Key>)>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::new(&Overrides::new()).0
    }
}

impl KeyMap {
    /// The defaults with `overrides` applied (an override replaces that action's keys in
    /// that context). Returns the map and a warning for every entry it could not use.
    pub fn new(overrides: &Overrides) -> (KeyMap, Vec<String>) {
        let mut warnings = Vec::new();
        let mut listing: BTreeMap<Context, Vec<(Action, Vec<Key>)>> = BTreeMap::new();
        for (ctx, action, keys) in DEFAULTS {
            let keys = keys.iter().filter_map(|k| Key::parse(k)).collect();
            listing.entry(*ctx).or_default().push((*action, keys));
        }
        for (ctx_name, actions) in overrides {
            let Some(ctx) = Context::from_name(ctx_name) else {
                warnings.push(format!("keys: unknown context [keys.{ctx_name}]"));
                continue;
            };
            for (action_name, keys) in actions {
                let Some(action) = Action::from_name(action_name) else {
                    warnings.push(format!("keys.{ctx_name}: unknown action {action_name}"));
                    continue;
                };
                let mut parsed = Vec::new();
                for k in keys {
                    match Key::parse(k) {
                        Some(key) => parsed.push(key),
                        None => {
                            warnings.push(format!("keys.{ctx_name}.{action_name}: bad key {k:?}"))
                        }
                    }
                }
                let list = listing.entry(ctx).or_default();
                match list.iter_mut().find(|(a, _)| *a == action) {
                    Some(entry) => entry.1 = parsed,
                    None => list.push((action, parsed)),
                }
            }
        }
        let mut map = HashMap::new();
        for (ctx, list) in &listing {
            for (action, keys) in list {
                for key in keys {
                    map.entry((*ctx, *key)).or_insert(*action);
                }
            }
        }
        (KeyMap { map, listing }, warnings)
    }

    /// The lookup chains the app uses (a context is only ever looked up in these).
    pub fn chains() -> Vec<Vec<Context>> {
        let mut out = vec![
            vec![Context::Login, Context::Edit],
            vec![Context::Composer, Context::Edit],
            vec![Context::Prompt, Context::Edit],
        ];
        for c in [
            Context::Boards,
            Context::Posts,
            Context::Reader,
            Context::Mail,
            Context::MailRead,
            Context::Subs,
            Context::Notifications,
            Context::Online,
        ] {
            out.push(vec![c, Context::Nav, Context::Global]);
        }
        out
    }

    /// Overridden keys that shadow another binding (or are shadowed by one) somewhere
    /// they are looked up: `(context, action, message)` for each, so a config file that
    /// would silently lose a key is refused instead.
    pub fn shadowing(overrides: &Overrides) -> Vec<(String, String, String)> {
        let (km, _) = KeyMap::new(overrides);
        let mut out = Vec::new();
        for (ctx_name, actions) in overrides {
            let Some(ctx) = Context::from_name(ctx_name) else {
                continue;
            };
            for (action_name, keys) in actions {
                let Some(action) = Action::from_name(action_name) else {
                    continue;
                };
                for key in keys.iter().filter_map(|k| Key::parse(k)) {
                    let clash = Self::chains()
                        .into_iter()
                        .filter(|ch| ch.contains(&ctx))
                        .flatten()
                        .find_map(|c2| {
                            km.listing.get(&c2).and_then(|l| {
                                l.iter()
                                    .find(|(a, ks)| *a != action && ks.contains(&key))
                                    .map(|(a, _)| (c2, *a))
                            })
                        });
                    if let Some((c2, a2)) = clash {
                        out.push((
                            ctx_name.clone(),
                            action_name.clone(),
                            format!(
                                "key {key} for {action_name} in [keys.{ctx_name}] shadows \
                                 (or is shadowed by) {} in [keys.{}]",
                                a2.name(),
                                c2.name()
                            ),
                        ));
                    }
                }
            }
        }
        out
    }

    /// The action of `key` in the first context of `chain` that binds it.
    pub fn lookup(&self, chain: &[Context], key: Key) -> Option<Action> {
        chain.iter().find_map(|c| self.map.get(&(*c, key)).copied())
    }

    /// The help listing: per context, each action with its keys.
    pub fn listing(&self) -> &BTreeMap<Context, Vec<(Action, Vec<Key>)>> {
        &self.listing
    }

    /// The first key of `action` in `ctx`, for short hints.
    pub fn key_of(&self, ctx: Context, action: Action) -> String {
        self.listing
            .get(&ctx)
            .and_then(|l| l.iter().find(|(a, _)| *a == action))
            .and_then(|(_, keys)| keys.first())
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The keys of `action` in `ctx`, joined for hints (`p/Ctrl-p`).
    pub fn keys_of(&self, ctx: Context, action: Action) -> String {
        self.listing
            .get(&ctx)
            .and_then(|l| l.iter().find(|(a, _)| *a == action))
            .map(|(_, keys)| {
                keys.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::view::help_lines;

    /// The lookup chains the app uses, by the context that starts them.
    fn chains() -> Vec<Vec<Context>> {
        let mut out = vec![
            vec![Context::Login, Context::Edit],
            vec![Context::Composer, Context::Edit],
            vec![Context::Prompt, Context::Edit],
        ];
        for c in [
            Context::Boards,
            Context::Posts,
            Context::Reader,
            Context::Mail,
            Context::MailRead,
            Context::Subs,
            Context::Notifications,
            Context::Online,
        ] {
            out.push(vec![c, Context::Nav, Context::Global]);
        }
        out
    }

    #[test]
    fn every_action_is_reachable_by_some_key() {
        let km = KeyMap::default();
        for &action in Action::ALL {
            let reachable = km.listing().iter().any(|(ctx, list)| {
                list.iter().filter(|(a, _)| *a == action).any(|(_, keys)| {
                    keys.iter().any(|k| {
                        chains()
                            .iter()
                            .filter(|ch| ch.contains(ctx))
                            .any(|ch| km.lookup(ch, *k) == Some(action))
                    })
                })
            });
            assert!(reachable, "{action:?} has no key that reaches it");
        }
    }

    #[test]
    fn help_lists_every_binding() {
        let km = KeyMap::default();
        let help: Vec<String> = help_lines(&km).into_iter().map(|(_, l)| l).collect();
        for (ctx, list) in km.listing() {
            let start = help
                .iter()
                .position(|l| l.contains(&format!("[{}]", ctx.name())))
                .unwrap_or_else(|| panic!("no help section for {ctx:?}"));
            for (action, keys) in list {
                let line = help[start..]
                    .iter()
                    .find(|l| l.ends_with(action.describe()))
                    .unwrap_or_else(|| panic!("{action:?} missing from help of {ctx:?}"));
                for k in keys {
                    assert!(
                        line.contains(&k.to_string()),
                        "{k} of {action:?} not in {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn keys_parse_and_print_back() {
        for s in [
            "j",
            "G",
            "?",
            "Enter",
            "Ctrl-s",
            "Alt-Enter",
            "Shift-Tab",
            "PageDown",
            "Space",
            "F1",
        ] {
            let k = Key::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(Key::parse(&k.to_string()), Some(k), "{s}");
        }
        assert!(Key::parse("NoSuchKey").is_none());
        // A typed capital is the capital, whatever the terminal says about Shift.
        let ev = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(
            Key::from_event(&ev),
            Key::parse("G").unwrap_or(Key::plain(KeyCode::Null))
        );
    }

    #[test]
    fn overrides_replace_keys_and_report_mistakes() {
        let mut o = Overrides::new();
        o.entry("nav".into())
            .or_default()
            .insert("down".into(), vec!["x".into()]);
        o.entry("nav".into())
            .or_default()
            .insert("nope".into(), vec!["y".into()]);
        o.entry("nowhere".into()).or_default();
        let (km, warnings) = KeyMap::new(&o);
        let x = Key::parse("x").unwrap_or(Key::plain(KeyCode::Null));
        let j = Key::parse("j").unwrap_or(Key::plain(KeyCode::Null));
        assert_eq!(km.lookup(&[Context::Nav], x), Some(Action::Down));
        assert_eq!(km.lookup(&[Context::Nav], j), None);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
