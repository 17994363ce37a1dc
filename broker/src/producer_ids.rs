//! Producer ids and who owns them. Ids are reserved from the `__producer_ids` state log in
//! blocks (never reused, even across restarts); each id handed out by InitProducerId is
//! recorded with its owner in `__producer_owners` before the client learns it, so only that
//! owner may bump its epoch or write with it, before and after a restart.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::Result;
use crate::log::{Flusher, StateLog};

/// Producer ids are reserved from the state log in blocks this big.
const PID_BLOCK: i64 = 1000;

/// Who may use a producer id: the principal that got it, and for anonymous clients the
/// client address too (anonymous clients have no other identity that survives a
/// reconnect, and an idempotent producer reconnects with the same id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owner {
    /// An anonymous client at this address.
    Anonymous(IpAddr),
    /// A logged-in user.
    User(String),
    /// The operator.
    Operator,
}

impl Owner {
    /// The identity a connection (acting as `principal`, from `peer`) has for producer
    /// ids: anonymous clients are told apart by address.
    pub fn of(principal: &Principal, peer: std::net::SocketAddr) -> Owner {
        match principal {
            Principal::Anonymous => Owner::Anonymous(peer.ip().to_canonical()),
            Principal::User(u) => Owner::User(u.clone()),
            Principal::Operator => Owner::Operator,
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Anonymous(ip) => write!(f, "anonymous client at {ip}"),
            Owner::User(u) => write!(f, "user:{u}"),
            Owner::Operator => f.write_str("operator"),
        }
    }
}

/// Why a connection may not use a producer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This server never handed the id out.
    NeverIssued(i64),
    /// The id belongs to someone else.
    NotYours(i64),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NeverIssued(pid) => write!(
                f,
                "producer id {pid} was not issued by this server: call InitProducerId"
            ),
            Refusal::NotYours(pid) => write!(
                f,
                "producer id {pid} belongs to another client: call InitProducerId for your own"
            ),
        }
    }
}

/// The allocator and the owner of every id handed out.
pub struct ProducerIds {
    limits: StateLog,
    owners_log: StateLog,
    next: AtomicI64,
    limit: AtomicI64,
    alloc: tokio::sync::Mutex<()>,
    owners: Mutex<HashMap<i64, Owner>>,
}

impl ProducerIds {
    /// Opens (recovering) both state logs under `dir`.
    pub fn open(dir: &Path, flusher: Flusher) -> Result<Self> {
        let limits = StateLog::open(dir, "__producer_ids", flusher.clone())?;
        let owners_log = StateLog::open(dir, "__producer_owners", flusher)?;
        let reserved = limits
            .load::<String, i64>()?
            .into_iter()
            .find(|(k, _)| k == "limit")
            .map(|(_, v)| v)
            .unwrap_or(0);
        let owners: HashMap<i64, Owner> = owners_log.load::<i64, Owner>()?.into_iter().collect();
        Ok(ProducerIds {
            limits,
            owners_log,
            next: AtomicI64::new(reserved),
            limit: AtomicI64::new(reserved),
            alloc: tokio::sync::Mutex::new(()),
            owners: Mutex::new(owners),
        })
    }

    /// Allocates a fresh id for `owner`; the ownership is durable before this returns.
    pub async fn allocate(&self, owner: Owner) -> Result<i64> {
        let _guard = self.alloc.lock().await;
        let id = self.next.load(Ordering::Acquire);
        if id >= self.limit.load(Ordering::Acquire) {
            let limit = id + PID_BLOCK;
            self.limits.put(&"limit".to_string(), Some(&limit)).await?;
            self.limit.store(limit, Ordering::Release);
        }
        // The id is used up even if recording its owner fails: never hand it out twice.
        self.next.store(id + 1, Ordering::Release);
        self.owners_log.put(&id, Some(&owner)).await?;
        self.owners.lock().insert(id, owner);
        Ok(id)
    }

    /// Records that `owner` was given `pid` by someone else (front mode: the cluster
    /// hands out ids, this server remembers whose they are); durable before it returns.
    /// An id already recorded keeps its first owner.
    pub async fn record(&self, pid: i64, owner: Owner) -> Result<()> {
        let _guard = self.alloc.lock().await;
        if self.owners.lock().contains_key(&pid) {
            return Ok(());
        }
        self.owners_log.put(&pid, Some(&owner)).await?;
        self.owners.lock().insert(pid, owner);
        Ok(())
    }

    /// Whether `who` may use producer id `pid` (bump its epoch, write with it).
    pub fn check(&self, pid: i64, who: &Owner) -> std::result::Result<(), Refusal> {
        match self.owners.lock().get(&pid) {
            None => Err(Refusal::NeverIssued(pid)),
            Some(owner) if owner == who => Ok(()),
            Some(_) => Err(Refusal::NotYours(pid)),
        }
    }

    /// The owner of `pid`, for logs.
    pub fn owner(&self, pid: i64) -> Option<Owner> {
        self.owners.lock().get(&pid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::FlushPolicy;

    #[tokio::test]
    async fn owners_survive_a_reopen_and_ids_are_not_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let flusher = Flusher::start(FlushPolicy::Always).expect("flusher");
        let alice = Owner::User("alice".into());
        let anon = Owner::Anonymous([127, 0, 0, 2].into());
        let (a, b) = {
            let ids = ProducerIds::open(dir.path(), flusher.clone()).expect("open");
            let a = ids.allocate(alice.clone()).await.expect("alloc");
            let b = ids.allocate(anon.clone()).await.expect("alloc");
            (a, b)
        };
        let ids = ProducerIds::open(dir.path(), flusher).expect("reopen");
        assert_eq!(ids.check(a, &alice), Ok(()));
        assert_eq!(ids.check(b, &anon), Ok(()));
        assert_eq!(
            ids.check(a, &Owner::User("bob".into())),
            Err(Refusal::NotYours(a))
        );
        assert_eq!(
            ids.check(a, &Owner::Anonymous([127, 0, 0, 1].into())),
            Err(Refusal::NotYours(a))
        );
        assert_eq!(ids.check(b, &Owner::Operator), Err(Refusal::NotYours(b)));
        assert_eq!(ids.check(9999, &alice), Err(Refusal::NeverIssued(9999)));
        let c = ids.allocate(alice).await.expect("alloc");
        assert!(c > b && b > a);
    }
}
