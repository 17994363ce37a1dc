//! State that stays on this machine (unlike read marks and favourites, which follow the
//! user through the server): unsent drafts, the last server and user, the chosen theme.
//! Stored as TOML in the platform data directory, written durably by
//! [`crate::atomic_file::write`] (temp file, fsync, rename, directory fsync) so a crash
//! never leaves half a file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The local state file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocalState {
    /// The server used last (`HOST:PORT`), the default next time.
    pub last_server: Option<String>,
    /// The user who logged in last, prefilled in the login form.
    pub last_user: Option<String>,
    /// The theme chosen with the theme key (overrides the config file).
    pub theme: Option<String>,
    /// Unsent drafts: composer key (`post:<board>`, `comment:<id>`, `mail:<to>`) → field
    /// texts.
    pub drafts: BTreeMap<String, Vec<String>>,
}

/// Where the local state lives (`None`: keep it in memory only, e.g. in tests).
#[derive(Debug, Clone)]
pub struct LocalStore {
    /// The file, if any.
    path: Option<PathBuf>,
}

impl LocalStore {
    /// A store at `path`.
    pub fn at(path: PathBuf) -> LocalStore {
        LocalStore { path: Some(path) }
    }

    /// A store that never touches disk.
    pub fn memory() -> LocalStore {
        LocalStore { path: None }
    }

    /// The default file in the platform data directory.
    pub fn default_location() -> LocalStore {
        LocalStore {
            path: super::config::data_dir().map(|d| d.join("state.toml")),
        }
    }

    /// Reads the state; a missing or unreadable file gives the empty state (logged).
    pub fn load(&self) -> LocalState {
        let Some(path) = &self.path else {
            return LocalState::default();
        };
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "local state unreadable; starting fresh");
                LocalState::default()
            }),
            Err(_) => LocalState::default(),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, state: &LocalState) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text = toml::to_string(state).map_err(std::io::Error::other)?;
        crate::atomic_file::write(path, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("bbs-local-{}", std::process::id()));
        let store = LocalStore::at(dir.join("state.toml"));
        let mut s = LocalState {
            last_server: Some("h:9092".into()),
            ..LocalState::default()
        };
        s.drafts.insert(
            "post:測試".into(),
            vec!["標題".into(), "內容\n第二行".into()],
        );
        store.save(&s).expect("save");
        assert_eq!(store.load(), s);
        let _ = std::fs::remove_dir_all(dir);
    }
}
