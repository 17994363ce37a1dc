//! E-mail addresses given to `users add --email` / `users import` while the server was
//! stopped: kept in `DIR/pending-emails.tsv` (`name<TAB>email` lines) until the server's
//! next start writes them into the new users' profiles, then removed. (The credential
//! log's records are positional, so the address is not stored with the account.)

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

fn path(dir: &Path) -> PathBuf {
    dir.join("pending-emails.tsv")
}

/// Remembers `email` for `name`'s profile.
pub(crate) fn add(dir: &Path, name: &str, email: &str) -> Result<()> {
    let p = path(dir);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .with_context(|| format!("opening {}", p.display()))?;
    let email: String = email.chars().filter(|c| !c.is_control()).collect();
    writeln!(f, "{name}\t{email}").with_context(|| format!("writing {}", p.display()))
}

/// The remembered addresses by name (the last one wins); none if the file is missing.
pub(crate) fn load(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path(dir))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, e)| (n.to_string(), e.to_string()))
        .collect()
}

/// Forgets them once every profile was written.
pub(crate) fn clear(dir: &Path) {
    let p = path(dir);
    if let Err(e) = std::fs::remove_file(&p) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(file = %p.display(), error = %e, "could not remove");
        }
    }
}
