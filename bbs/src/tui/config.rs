//! The client's configuration file, `bbs-client.toml`: the documented defaults live in
//! `assets/bbs-client.toml` (compiled in), the user's file is merged over them table by
//! table, and the result is the typed [`Config`]. The platform paths (config, data, logs)
//! are [`crate::dirs`]'s, re-exported here.

use std::path::Path;

use serde::Deserialize;

use super::keymap::Overrides;
use super::posts::Order;

/// The defaults, documented.
pub const DEFAULT_CONFIG: &str = include_str!("../../../assets/bbs-client.toml");

/// `[ui]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UiConfig {
    /// Theme name.
    pub theme: String,
    /// Mouse capture (off so copy/paste works).
    pub mouse: bool,
    /// Bell on notifications.
    pub bell: bool,
    /// Post list order.
    pub order: Order,
    /// Toast lifetime in seconds.
    pub toast_seconds: u64,
    /// Zone for dates and times: `local`, `UTC`, an IANA name or an offset (the server
    /// stores UTC; each user reads their own clock).
    pub timezone: String,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Config {
    /// `HOST:PORT` of the server.
    #[serde(default)]
    pub server: Option<String>,
    /// Look and feel.
    pub ui: UiConfig,
    /// Key overrides.
    #[serde(default)]
    pub keys: Overrides,
}

impl Default for Config {
    fn default() -> Self {
        // The compiled-in defaults always parse (a unit test checks it); fall back to a
        // literal copy only to avoid a panic path.
        Config::parse("").unwrap_or(Config {
            server: None,
            ui: UiConfig {
                theme: "dark".into(),
                mouse: false,
                bell: false,
                order: Order::OldestFirst,
                toast_seconds: 6,
                timezone: "local".into(),
            },
            keys: Overrides::new(),
        })
    }
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Config {
    /// The defaults with the TOML text `user` merged over them.
    pub fn parse(user: &str) -> Result<Config, String> {
        let mut base: toml::Table = DEFAULT_CONFIG
            .parse()
            .map_err(|e| format!("built-in defaults: {e}"))?;
        super::config_check::check(user)?;
        let over: toml::Table = user.parse().map_err(|e| format!("{e}"))?;
        merge(&mut base, over);
        let config: Config = toml::Value::Table(base)
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())?;
        crate::time::Zone::parse(&config.ui.timezone).map_err(|e| format!("[ui] timezone: {e}"))?;
        Ok(config)
    }

    /// Loads `path`, or the default location when `None` (a missing default file is not
    /// an error; a missing explicit one is).
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let (path, explicit) = match path {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (config_dir().map(|d| d.join("bbs-client.toml")), false),
        };
        let Some(path) = path else {
            return Config::parse("");
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text).map_err(|e| match e.strip_prefix("line ") {
                // `FILE:LINE: what`, as compilers and the server say it.
                Some(rest) => format!("{}:{rest}", path.display()),
                None => format!("{}: {e}", path.display()),
            }),
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => Config::parse(""),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

pub use crate::dirs::{config_dir, data_dir, log_dir};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_user_values_merge() {
        let d = Config::parse("").expect("defaults");
        assert_eq!(d.ui.theme, "dark");
        assert!(!d.ui.mouse);
        let c = Config::parse(
            "server = \"h:1\"\n[ui]\ntheme = \"light\"\n[keys.nav]\ndown = [\"Ctrl-n\"]\n",
        )
        .expect("user");
        assert_eq!(c.server.as_deref(), Some("h:1"));
        assert_eq!(c.ui.theme, "light");
        assert_eq!(c.ui.toast_seconds, d.ui.toast_seconds);
        assert_eq!(c.keys["nav"]["down"], vec!["Ctrl-n".to_string()]);
        assert!(Config::parse("[ui]\nmouse = 3").is_err());
        assert_eq!(d.ui.timezone, "local");
        let tz = Config::parse("[ui]\ntimezone = \"Asia/Taipei\"").expect("zone");
        assert_eq!(tz.ui.timezone, "Asia/Taipei");
        let bad = Config::parse("[ui]\ntimezone = \"Mars/Base\"").expect_err("bad zone");
        assert!(
            bad.contains("[ui] timezone") && bad.contains("Mars/Base"),
            "{bad}"
        );
    }
}
