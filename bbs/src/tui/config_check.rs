//! Strict checking of the user's `bbs-client.toml`, as strict as the server's config: an
//! unknown key, a bad value, an unknown theme, an unknown key-binding context, action or
//! key name, and a key binding that shadows another one are errors reported at start with
//! the line they are on (the caller adds the file name).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::action::{Action, Context};
use super::keymap::{Key, KeyMap, Overrides};
use super::theme::Theme;

/// The user's file as written: every setting optional, nothing unknown allowed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    /// `server`.
    #[allow(dead_code)]
    server: Option<String>,
    /// `[ui]`.
    ui: Option<UserUi>,
    /// `[keys.<context>]`: action → keys, with where each list is.
    keys: Option<SpannedKeys>,
}

/// `[keys.<context>]` tables with where each name is: context → action → keys.
type SpannedKeys = BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Vec<String>>>;

/// `[ui]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UserUi {
    /// Checked against the known themes.
    theme: Option<Spanned<String>>,
    mouse: Option<bool>,
    bell: Option<bool>,
    order: Option<super::posts::Order>,
    toast_seconds: Option<u64>,
    /// Checked against the time-zone database.
    timezone: Option<Spanned<String>>,
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len()))
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// Checks the user's config text; `Err("line N: what is wrong")`.
pub(super) fn check(text: &str) -> Result<(), String> {
    let file: UserFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        format!("line {line}: {}", e.message().trim())
    })?;
    if let Some(tz) = file.ui.as_ref().and_then(|u| u.timezone.as_ref()) {
        if let Err(e) = crate::time::Zone::parse(tz.get_ref()) {
            return Err(format!(
                "line {}: [ui] timezone: {e}",
                line_of(text, tz.span().start)
            ));
        }
    }
    if let Some(theme) = file.ui.as_ref().and_then(|u| u.theme.as_ref()) {
        if Theme::by_name(theme.get_ref()).is_none() {
            return Err(format!(
                "line {}: unknown theme {:?} (use \"dark\", \"light\" or \"mono\")",
                line_of(text, theme.span().start),
                theme.get_ref()
            ));
        }
    }
    let Some(keys) = file.keys else {
        return Ok(());
    };
    let mut overrides = Overrides::new();
    let mut lines: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (ctx, actions) in keys {
        let line = line_of(text, ctx.span().start);
        let ctx_name = ctx.into_inner();
        if Context::from_name(&ctx_name).is_none() {
            return Err(format!(
                "line {line}: unknown key context [keys.{ctx_name}]"
            ));
        }
        for (action, list) in actions {
            let line = line_of(text, action.span().start);
            let action_name = action.into_inner();
            if Action::from_name(&action_name).is_none() {
                return Err(format!(
                    "line {line}: unknown action {action_name} in [keys.{ctx_name}]"
                ));
            }
            if let Some(k) = list.iter().find(|k| Key::parse(k).is_none()) {
                return Err(format!(
                    "line {line}: unknown key name {k:?} for {action_name}"
                ));
            }
            lines.insert((ctx_name.clone(), action_name.clone()), line);
            overrides
                .entry(ctx_name.clone())
                .or_default()
                .insert(action_name, list);
        }
    }
    if let Some((ctx, action, msg)) = KeyMap::shadowing(&overrides).into_iter().next() {
        let line = lines.get(&(ctx, action)).copied().unwrap_or(1);
        return Err(format!("line {line}: {msg}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_defaults_and_examples_pass() {
        assert_eq!(check(super::super::config::DEFAULT_CONFIG), Ok(()));
        let examples = "[keys.nav]\ndown = [\"j\", \"Down\", \"Ctrl-n\"]\n\
                        [keys.posts]\nnext_unread = [\"n\", \"Tab\"]\n\
                        [keys.composer]\nsend = [\"Ctrl-s\"]\n\
                        newline = [\"Enter\", \"Alt-Enter\", \"Ctrl-j\"]\n";
        assert_eq!(check(examples), Ok(()));
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        let e = check("[ui]\ncolour = \"dark\"\n").err().unwrap_or_default();
        assert!(e.starts_with("line 2:") && e.contains("colour"), "{e}");
        let e = check("[ui]\nmouse = true\ntheme = \"solarized\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("line 3:") && e.contains("solarized"), "{e}");
        let e = check("\n[keys.posts]\nnew_post = [\"n\"]\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("line 3:") && e.contains("shadows"), "{e}");
        let e = check("[keys.nav]\ndown = [\"q\"]\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("line 2:") && e.contains("shadow"), "{e}");
        let e = check("[keys.nowhere]\nx = [\"y\"]\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("line 1:"), "{e}");
    }
}
