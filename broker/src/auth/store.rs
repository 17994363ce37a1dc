//! The credential store: accounts (SCRAM keys and a disabled flag, never a password) kept
//! in the internal state log `__credentials`, replayed into memory on open. Writers are
//! serialized so "create if absent" is atomic; every change is durable before it returns.
//!
//! Names are not recycled: removing an account (by the operator, or its owner deleting
//! their credential) writes a retired-name record (key `retired/<name>`, which no account
//! name can be since `/` is not allowed in one) in the same batch as the removal. A
//! retired name, and any name that looks like a live or retired one (see
//! [`safe_text::lookalike`]), cannot be registered until the operator releases it.

use std::collections::BTreeMap;
use std::path::Path;
use wire::ErrorCode;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::scram::ScramKeys;
use crate::error::{Error, Result};
use crate::log::{Flusher, StateLog};

/// One account as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The salted, iterated password (SCRAM-SHA-256 keys).
    pub keys: ScramKeys,
    /// A disabled account keeps its keys but cannot log in.
    pub disabled: bool,
    /// When the account was created (ms since the epoch), for listings.
    pub created_ms: i64,
}

/// A removed account's name, kept so it is never given to someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retired {
    /// When the account was removed (ms since the epoch), for listings.
    pub retired_ms: i64,
}

/// Where a credential store also sends its changes (front mode: a topic of the upstream
/// cluster that every front server follows, see `upstream::credentials`).
pub trait Mirror: Send + Sync {
    /// Publishes raw entries (as written to `__credentials`) durably.
    fn publish(
        &self,
        entries: Vec<(Option<bytes::Bytes>, Option<bytes::Bytes>)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>>;
}

/// Key prefix of retired-name records in `__credentials`.
const RETIRED_PREFIX: &str = "retired/";

/// Accounts in memory, backed by the `__credentials` state log.
pub struct CredentialStore {
    /// The durable log.
    log: StateLog,
    /// The replayed accounts, by name.
    accounts: RwLock<BTreeMap<String, Account>>,
    /// Names of removed accounts, which stay taken until the operator releases them.
    retired: RwLock<BTreeMap<String, Retired>>,
    /// The look-alike keys of every live and retired name, computed once, so checking a
    /// new name against all of them is only string comparisons.
    looks: RwLock<BTreeMap<String, [String; 2]>>,
    /// Serializes read-modify-write changes.
    write: tokio::sync::Mutex<()>,
    /// Front mode: where changes are published for the other front servers.
    mirror: std::sync::OnceLock<std::sync::Arc<dyn Mirror>>,
}

fn refused(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::Refused {
        code,
        message: message.into(),
    }
}

impl CredentialStore {
    /// Opens (and replays) `__credentials` under `internal_dir`. Needs a Tokio runtime.
    pub fn open(internal_dir: &Path, flusher: Flusher) -> Result<Self> {
        let log = StateLog::open(internal_dir, "__credentials", flusher)?;
        let mut accounts = BTreeMap::new();
        let mut retired = BTreeMap::new();
        for (k, v) in log.load_raw()? {
            let Ok(key) = postcard::from_bytes::<String>(&k) else {
                tracing::warn!("skipping an undecodable credential record");
                continue;
            };
            let decoded = match key.strip_prefix(RETIRED_PREFIX) {
                Some(name) => postcard::from_bytes::<Retired>(&v)
                    .map(|r| retired.insert(name.to_string(), r))
                    .is_ok(),
                None => postcard::from_bytes::<Account>(&v)
                    .map(|a| accounts.insert(key.clone(), a))
                    .is_ok(),
            };
            if !decoded {
                tracing::warn!(key, "skipping an undecodable credential record");
            }
        }
        let looks = accounts
            .keys()
            .chain(retired.keys())
            .map(|n| (n.clone(), safe_text::lookalike::keys(n)))
            .collect();
        Ok(CredentialStore {
            log,
            accounts: RwLock::new(accounts),
            retired: RwLock::new(retired),
            looks: RwLock::new(looks),
            write: tokio::sync::Mutex::new(()),
            mirror: std::sync::OnceLock::new(),
        })
    }

    /// The account called `name`, if any.
    pub fn get(&self, name: &str) -> Option<Account> {
        self.accounts.read().get(name).cloned()
    }

    /// Every account, by name.
    pub fn list(&self) -> Vec<(String, Account)> {
        self.accounts
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Retired names and when they were retired, by name.
    pub fn retired(&self) -> Vec<(String, Retired)> {
        self.retired
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Whether `name` is a retired name.
    pub fn is_retired(&self, name: &str) -> bool {
        self.retired.read().contains_key(name)
    }

    /// The live or retired name that looks like a name with these look-alike keys, if
    /// any (live names first), marked `true` when it is retired.
    fn look_alike(&self, keys: &[String; 2]) -> Option<(String, bool)> {
        let looks = self.looks.read();
        let hit = |n: &String| {
            let k = match looks.get(n) {
                Some(k) => std::borrow::Cow::Borrowed(k),
                None => std::borrow::Cow::Owned(safe_text::lookalike::keys(n)),
            };
            k[0] == keys[0] || k[1] == keys[1]
        };
        let live = self.accounts.read().keys().find(|n| hit(n)).cloned();
        live.map(|n| (n, false)).or_else(|| {
            self.retired
                .read()
                .keys()
                .find(|n| hit(n))
                .cloned()
                .map(|n| (n, true))
        })
    }

    /// Sends every later change to `mirror` too (once, before serving).
    pub fn set_mirror(&self, mirror: std::sync::Arc<dyn Mirror>) {
        let _ = self.mirror.set(mirror);
    }

    /// Writes raw entries to the log (and the mirror, if any), durably.
    async fn write_entries(
        &self,
        entries: Vec<(Option<bytes::Bytes>, Option<bytes::Bytes>)>,
    ) -> Result<()> {
        self.log.put_raw(entries.clone()).await?;
        if let Some(m) = self.mirror.get() {
            m.publish(entries).await?;
        }
        Ok(())
    }

    /// Every live entry, raw (what a mirror is seeded with).
    pub fn raw_entries(&self) -> Result<Vec<(Option<bytes::Bytes>, Option<bytes::Bytes>)>> {
        let mut out = Vec::new();
        for (name, a) in self.list() {
            out.push(crate::log::state::encode_entry(&name, Some(&a))?);
        }
        for (name, r) in self.retired() {
            out.push(crate::log::state::encode_entry(
                &format!("{RETIRED_PREFIX}{name}"),
                Some(&r),
            )?);
        }
        Ok(out)
    }

    /// Applies one raw entry written elsewhere (another front server's change), in
    /// memory; an undecodable entry is skipped with a warning.
    pub fn apply_raw(&self, key: &[u8], value: Option<&[u8]>) {
        let Ok(key) = postcard::from_bytes::<String>(key) else {
            tracing::warn!("skipping an undecodable shared credential record");
            return;
        };
        let name = match key.strip_prefix(RETIRED_PREFIX) {
            Some(name) => {
                match value.map(postcard::from_bytes::<Retired>) {
                    None => {
                        self.retired.write().remove(name);
                    }
                    Some(Ok(r)) => {
                        self.retired.write().insert(name.to_string(), r);
                    }
                    Some(Err(_)) => tracing::warn!(key, "skipping an undecodable retired name"),
                }
                name.to_string()
            }
            None => {
                match value.map(postcard::from_bytes::<Account>) {
                    None => {
                        self.accounts.write().remove(&key);
                    }
                    Some(Ok(a)) => {
                        self.accounts.write().insert(key.clone(), a);
                    }
                    Some(Err(_)) => tracing::warn!(key, "skipping an undecodable account"),
                }
                key
            }
        };
        let known =
            self.accounts.read().contains_key(&name) || self.retired.read().contains_key(&name);
        let mut looks = self.looks.write();
        if known {
            looks.insert(name.clone(), safe_text::lookalike::keys(&name));
        } else {
            looks.remove(&name);
        }
    }

    async fn store(&self, name: &str, account: Option<Account>) -> Result<()> {
        self.write_entries(vec![crate::log::state::encode_entry(
            &name.to_string(),
            account.as_ref(),
        )?])
        .await?;
        let mut map = self.accounts.write();
        match account {
            Some(a) => map.insert(name.to_string(), a),
            None => map.remove(name),
        };
        Ok(())
    }

    /// Creates an account; refuses (DUPLICATE_RESOURCE) when the name is taken.
    pub async fn create(&self, name: &str, keys: ScramKeys) -> Result<()> {
        let _w = self.write.lock().await;
        self.check_new(name)?;
        let account = Account {
            keys,
            disabled: false,
            created_ms: crate::now_ms(),
        };
        self.store(name, Some(account)).await?;
        self.looks
            .write()
            .insert(name.to_string(), safe_text::lookalike::keys(name));
        Ok(())
    }

    /// Whether [`CredentialStore::create`] would take `name` now: a valid name, not taken,
    /// not retired, not a look-alike of an account or a retired name. The refusal says why.
    pub fn check_new(&self, name: &str) -> Result<()> {
        super::names::validate_account_name(name)
            .map_err(|m| refused(ErrorCode::UNACCEPTABLE_CREDENTIAL, m))?;
        if self.get(name).is_some() {
            return Err(refused(
                ErrorCode::DUPLICATE_RESOURCE,
                format!("user {name} already exists"),
            ));
        }
        if self.is_retired(name) {
            return Err(refused(
                ErrorCode::DUPLICATE_RESOURCE,
                format!(
                    "the name {name} belonged to a removed account and is not given out again; \
                     only the operator can release it"
                ),
            ));
        }
        let clash = std::cell::RefCell::new(None);
        safe_text::lookalike::check_new("user name", name, |keys| {
            let found = self.look_alike(keys);
            let shown = found.as_ref().map(|(n, _)| n.clone());
            *clash.borrow_mut() = found;
            shown
        })
        .map_err(|m| match clash.borrow().as_ref() {
            Some((_, true)) => refused(
                ErrorCode::DUPLICATE_RESOURCE,
                m.replace("the existing user", "the retired user name"),
            ),
            Some(_) => refused(ErrorCode::DUPLICATE_RESOURCE, m),
            None => refused(ErrorCode::UNACCEPTABLE_CREDENTIAL, m),
        })
    }

    /// Applies `change` to an existing account (RESOURCE_NOT_FOUND when there is none).
    pub async fn update(&self, name: &str, change: impl FnOnce(&mut Account)) -> Result<()> {
        let _w = self.write.lock().await;
        let mut account = self
            .get(name)
            .ok_or_else(|| refused(ErrorCode::RESOURCE_NOT_FOUND, format!("no user {name}")))?;
        change(&mut account);
        self.store(name, Some(account)).await
    }

    /// Removes an account (RESOURCE_NOT_FOUND when there is none) and retires its name,
    /// durably and in one batch, so it is never registered again by someone else.
    pub async fn remove(&self, name: &str) -> Result<()> {
        let _w = self.write.lock().await;
        if self.get(name).is_none() {
            return Err(refused(
                ErrorCode::RESOURCE_NOT_FOUND,
                format!("no user {name}"),
            ));
        }
        let retired = Retired {
            retired_ms: crate::now_ms(),
        };
        let key = |k: &str| postcard::to_allocvec(&k.to_string()).map(bytes::Bytes::from);
        self.write_entries(vec![
            (Some(key(name)?), None),
            (
                Some(key(&format!("{RETIRED_PREFIX}{name}"))?),
                Some(bytes::Bytes::from(postcard::to_allocvec(&retired)?)),
            ),
        ])
        .await?;
        self.accounts.write().remove(name);
        self.retired.write().insert(name.to_string(), retired);
        Ok(())
    }

    /// Releases a retired name so it can be registered again (the operator's explicit
    /// decision); RESOURCE_NOT_FOUND when the name is not retired.
    pub async fn release(&self, name: &str) -> Result<()> {
        let _w = self.write.lock().await;
        if !self.is_retired(name) {
            return Err(refused(
                ErrorCode::RESOURCE_NOT_FOUND,
                format!("{name} is not a retired name"),
            ));
        }
        self.write_entries(vec![crate::log::state::encode_entry::<String, Retired>(
            &format!("{RETIRED_PREFIX}{name}"),
            None,
        )?])
        .await?;
        self.retired.write().remove(name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::FlushPolicy;

    #[tokio::test]
    async fn accounts_survive_reopen_and_duplicates_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let keys = ScramKeys::from_password(b"correct horse", 4096).expect("keys");
        {
            let s = CredentialStore::open(
                dir.path(),
                Flusher::start(FlushPolicy::Always).expect("flusher"),
            )
            .expect("open");
            s.create("alice", keys.clone()).await.expect("create");
            let dup = s.create("alice", keys.clone()).await;
            assert!(matches!(
                dup,
                Err(Error::Refused {
                    code: ErrorCode::DUPLICATE_RESOURCE,
                    ..
                })
            ));
            assert!(s.create("bad name", keys.clone()).await.is_err());
            s.create("bob", keys.clone()).await.expect("bob");
            s.update("bob", |a| a.disabled = true)
                .await
                .expect("disable");
            s.create("carol", keys.clone()).await.expect("carol");
            s.remove("carol").await.expect("remove");
            assert!(s.remove("carol").await.is_err());
        }
        let s = CredentialStore::open(
            dir.path(),
            Flusher::start(FlushPolicy::Always).expect("flusher"),
        )
        .expect("reopen");
        let names: Vec<_> = s.list().into_iter().map(|(n, a)| (n, a.disabled)).collect();
        assert_eq!(
            names,
            vec![("alice".to_string(), false), ("bob".to_string(), true)]
        );
        assert_eq!(s.get("alice").map(|a| a.keys), Some(keys));
        // Nothing on disk holds the password.
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).expect("read");
            assert!(
                !bytes.windows(13).any(|w| w == b"correct horse"),
                "{}",
                entry.display()
            );
        }
    }

    #[tokio::test]
    async fn removed_names_stay_retired_until_released() {
        let dir = tempfile::tempdir().expect("tmp");
        let keys = ScramKeys::from_password(b"pw", 4096).expect("keys");
        let code = |r: Result<()>| match r {
            Err(Error::Refused { code, message }) => (code, message),
            other => panic!("expected a refusal, got {other:?}"),
        };
        {
            let s = CredentialStore::open(
                dir.path(),
                Flusher::start(FlushPolicy::Always).expect("flusher"),
            )
            .expect("open");
            s.create("alice", keys.clone()).await.expect("alice");
            let (c, m) = code(s.create("Alice", keys.clone()).await);
            assert_eq!(c, ErrorCode::DUPLICATE_RESOURCE);
            assert!(m.contains("looks like the existing user alice"), "{m}");
            s.remove("alice").await.expect("remove");
            let (c, m) = code(s.create("alice", keys.clone()).await);
            assert_eq!(c, ErrorCode::DUPLICATE_RESOURCE);
            assert!(m.contains("not given out again"), "{m}");
        }
        let s = CredentialStore::open(
            dir.path(),
            Flusher::start(FlushPolicy::Always).expect("flusher"),
        )
        .expect("reopen");
        assert!(s.get("alice").is_none());
        let (_, m) = code(s.create("аlice", keys.clone()).await);
        assert!(m.contains("retired user name alice"), "{m}");
        assert!(s.release("bob").await.is_err());
        s.release("alice").await.expect("release");
        s.create("alice", keys.clone()).await.expect("alice again");
        assert!(s.retired().is_empty());
    }

    fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }
}
