//! Accounts and access: who a connection is ([`Principal`]), how it proves it (SASL
//! SCRAM-SHA-256 and PLAIN), where accounts live (the `__credentials` store), what each
//! principal may do ([`Authorizer`]) and what it may write ([`RecordPolicy`]). [`Auth`]
//! bundles the shared pieces the broker holds; [`Hooks`] are what a host installs.

pub mod acl;
pub mod authorizer;
pub mod config;
pub mod limiter;
pub use safe_text::names;
pub mod operator;
pub mod plain;
pub mod policy;
pub mod proxy;
pub mod scram;
pub mod store;

use std::path::Path;
use std::sync::Arc;

pub use authorizer::{AclRule, Authorizer, DefaultAuthorizer, Operation, Resource};
pub use config::{AuthConfig, Mechanism};
pub use policy::{PolicyRecord, RecordPolicy, Verdict};
pub use store::{Account, CredentialStore};

use crate::error::Result;
use crate::log::Flusher;

/// Who a connection acts as.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Principal {
    /// Never completed SASL.
    #[default]
    Anonymous,
    /// Logged in as this account.
    User(String),
    /// The server operator (logged in with the operator secret).
    Operator,
}

impl Principal {
    /// The account name, for users.
    pub fn user(&self) -> Option<&str> {
        match self {
            Principal::User(u) => Some(u),
            _ => None,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::Anonymous => f.write_str("anonymous"),
            Principal::User(u) => write!(f, "user:{u}"),
            Principal::Operator => f.write_str("operator"),
        }
    }
}

/// Where a connection is in the SASL exchange.
#[derive(Debug, Clone, Default)]
pub enum SaslStage {
    /// No handshake yet (anonymous).
    #[default]
    Idle,
    /// SaslHandshake chose this mechanism; the first token is expected.
    Chosen(Mechanism),
    /// SCRAM server-first was sent; client-final is expected.
    ScramFinal(Box<scram::ServerFirst>),
    /// SaslHandshake chose the in-process proxy mechanism ([`proxy::MECHANISM`]); its
    /// one token is expected.
    ProxyChosen,
    /// The in-process proxy vouched for the real client address (now the session's
    /// peer); still anonymous, a real login may follow.
    Proxied,
    /// Authentication finished; no further SASL is allowed.
    Done,
}

/// Hooks a host program installs when opening the broker.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Replaces the default authorizer (usually wrapping a [`DefaultAuthorizer`]).
    pub authorizer: Option<Arc<dyn Authorizer>>,
    /// Checks every produced record; none means records are stored untouched.
    pub policy: Option<Arc<dyn RecordPolicy>>,
}

/// The broker's shared authentication and authorization state.
pub struct Auth {
    /// Serialises policy check + append + fold for topics the policy applies to; taken
    /// only by [`crate::Broker::append_checked`], which documents the order.
    pub(crate) policy_lock: parking_lot::Mutex<()>,
    /// Settings.
    pub config: AuthConfig,
    /// Mechanisms offered, in the configured order.
    pub mechanisms: Vec<Mechanism>,
    /// Accounts.
    pub store: CredentialStore,
    /// Decides every operation.
    pub authorizer: Arc<dyn Authorizer>,
    /// Checks produced records, if the host installed a policy.
    pub policy: Option<Arc<dyn RecordPolicy>>,
    /// Failed-login slow-down and registration limits.
    pub limiter: limiter::Limiter,
    /// SCRAM keys of this run's operator secret.
    pub operator: scram::ScramKeys,
    /// Seed for the fake salts shown for unknown users (random per run).
    pub fake_seed: Vec<u8>,
}

impl Auth {
    /// Opens the credential store under `data_dir/internal`, writes the operator secret and
    /// installs the hooks (defaults where the host gave none).
    pub fn open(
        config: AuthConfig,
        data_dir: &Path,
        listen: std::net::SocketAddr,
        flusher: Flusher,
        hooks: Hooks,
    ) -> Result<Self> {
        config.validate()?;
        let mechanisms = config.mechanisms()?;
        if mechanisms.contains(&Mechanism::Plain) {
            tracing::warn!("SASL PLAIN is enabled: clients send their passwords in clear; use it only behind TLS");
        }
        let store = CredentialStore::open(&data_dir.join("internal"), flusher)?;
        let authorizer = hooks
            .authorizer
            .unwrap_or_else(|| Arc::new(DefaultAuthorizer::new(&config)));
        let limiter = limiter::Limiter::new(
            std::time::Duration::from_millis(config.login_failure_delay_ms),
            config.max_login_failures,
            config.max_registrations,
            config.window(),
        )
        .limit_loopback(config.limit_loopback);
        Ok(Auth {
            policy_lock: parking_lot::Mutex::new(()),
            operator: operator::create_secret(data_dir, listen)?,
            fake_seed: scram::random_bytes(32)?,
            mechanisms,
            store,
            authorizer,
            policy: hooks.policy,
            limiter,
            config,
        })
    }

    /// The SCRAM keys `user` logs in with, if any (none for unknown users). A disabled
    /// account keeps its keys so that the right password is told "disabled" (see
    /// [`Auth::login_refusal`]) rather than a misleading "wrong password".
    pub fn login_keys(&self, user: &str) -> Option<(Principal, scram::ScramKeys)> {
        if user == operator::OPERATOR_USER {
            return Some((Principal::Operator, self.operator.clone()));
        }
        let account = self.store.get(user)?;
        Some((Principal::User(user.to_string()), account.keys))
    }

    /// Why `principal`, whose password was right, may still not log in: its credential is
    /// disabled (`bbs-server users disable`), or the record policy refuses it (the BBS's
    /// `admin disable-user`). Both say the same sentence.
    pub fn login_refusal(&self, principal: &Principal) -> Option<String> {
        let Principal::User(u) = principal else {
            return None;
        };
        if self.store.get(u).is_some_and(|a| a.disabled) {
            return Some(format!("The account {u} is disabled by the operator."));
        }
        self.policy.as_ref().and_then(|p| p.login_refusal(u))
    }
}
