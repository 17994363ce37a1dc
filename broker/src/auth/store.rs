//! The credential store: accounts (SCRAM keys and a disabled flag, never a password) kept
//! in the internal state log `__credentials`, replayed into memory on open. Writers are
//! serialized so "create if absent" is atomic; every change is durable before it returns.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::scram::ScramKeys;
use crate::error::{Error, Result};
use crate::log::{Flusher, StateLog};

/// Kafka error codes the store's refusals map to.
pub mod codes {
    /// The account does not exist.
    pub const RESOURCE_NOT_FOUND: i16 = 91;
    /// The account exists already.
    pub const DUPLICATE_RESOURCE: i16 = 92;
    /// A bad name or parameter.
    pub const UNACCEPTABLE_CREDENTIAL: i16 = 93;
}

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

/// Accounts in memory, backed by the `__credentials` state log.
pub struct CredentialStore {
    /// The durable log.
    log: StateLog,
    /// The replayed accounts, by name.
    accounts: RwLock<BTreeMap<String, Account>>,
    /// Serializes read-modify-write changes.
    write: tokio::sync::Mutex<()>,
}

fn refused(code: i16, message: impl Into<String>) -> Error {
    Error::Refused {
        code,
        message: message.into(),
    }
}

impl CredentialStore {
    /// Opens (and replays) `__credentials` under `internal_dir`. Needs a Tokio runtime.
    pub fn open(internal_dir: &Path, flusher: Flusher) -> Result<Self> {
        let log = StateLog::open(internal_dir, "__credentials", flusher)?;
        let accounts = log.load::<String, Account>()?.into_iter().collect();
        Ok(CredentialStore {
            log,
            accounts: RwLock::new(accounts),
            write: tokio::sync::Mutex::new(()),
        })
    }

    /// The account called `name`, if any.
    pub fn get(&self, name: &str) -> Option<Account> {
        self.accounts.read().ok()?.get(name).cloned()
    }

    /// Every account, by name.
    pub fn list(&self) -> Vec<(String, Account)> {
        self.accounts
            .read()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    async fn store(&self, name: &str, account: Option<Account>) -> Result<()> {
        self.log.put(&name.to_string(), account.as_ref()).await?;
        if let Ok(mut map) = self.accounts.write() {
            match account {
                Some(a) => map.insert(name.to_string(), a),
                None => map.remove(name),
            };
        }
        Ok(())
    }

    /// Creates an account; refuses (DUPLICATE_RESOURCE) when the name is taken.
    pub async fn create(&self, name: &str, keys: ScramKeys) -> Result<()> {
        super::names::validate_name(name)
            .map_err(|m| refused(codes::UNACCEPTABLE_CREDENTIAL, m))?;
        let _w = self.write.lock().await;
        if self.get(name).is_some() {
            return Err(refused(
                codes::DUPLICATE_RESOURCE,
                format!("user {name} already exists"),
            ));
        }
        let account = Account {
            keys,
            disabled: false,
            created_ms: crate::log::partition::now_ms(),
        };
        self.store(name, Some(account)).await
    }

    /// Applies `change` to an existing account (RESOURCE_NOT_FOUND when there is none).
    pub async fn update(&self, name: &str, change: impl FnOnce(&mut Account)) -> Result<()> {
        let _w = self.write.lock().await;
        let mut account = self
            .get(name)
            .ok_or_else(|| refused(codes::RESOURCE_NOT_FOUND, format!("no user {name}")))?;
        change(&mut account);
        self.store(name, Some(account)).await
    }

    /// Removes an account (RESOURCE_NOT_FOUND when there is none).
    pub async fn remove(&self, name: &str) -> Result<()> {
        let _w = self.write.lock().await;
        if self.get(name).is_none() {
            return Err(refused(
                codes::RESOURCE_NOT_FOUND,
                format!("no user {name}"),
            ));
        }
        self.store(name, None).await
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
            let s = CredentialStore::open(dir.path(), Flusher::start(FlushPolicy::Always))
                .expect("open");
            s.create("alice", keys.clone()).await.expect("create");
            let dup = s.create("alice", keys.clone()).await;
            assert!(matches!(
                dup,
                Err(Error::Refused {
                    code: codes::DUPLICATE_RESOURCE,
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
        let s =
            CredentialStore::open(dir.path(), Flusher::start(FlushPolicy::Always)).expect("reopen");
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
