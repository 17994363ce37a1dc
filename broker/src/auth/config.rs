//! Settings of accounts and access, as read from the config file's `[auth]` table: the
//! SASL mechanisms offered, registration, what anonymous clients may do, ACL rules and the
//! failed-login slow-down. Every field has a default.

use std::time::Duration;

use serde::Deserialize;

use super::acl::AclRule;
use crate::error::{Error, Result};

/// A SASL mechanism the broker can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// SCRAM-SHA-256: the password never crosses the wire.
    ScramSha256,
    /// PLAIN: the password crosses the wire in clear (use only with TLS in front).
    Plain,
}

impl Mechanism {
    /// The name clients use.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => super::scram::MECHANISM,
            Mechanism::Plain => "PLAIN",
        }
    }

    /// Parses a mechanism name (exact, as in Kafka).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-256" => Some(Mechanism::ScramSha256),
            "PLAIN" => Some(Mechanism::Plain),
            _ => None,
        }
    }
}

/// The `[auth]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// SASL mechanisms offered, by Kafka name ("SCRAM-SHA-256", "PLAIN").
    pub mechanisms: Vec<String>,
    /// Anonymous connections may create accounts with AlterUserScramCredentials.
    pub open_registration: bool,
    /// Anonymous connections may write to (and auto-create) ordinary topics.
    pub anonymous_write: bool,
    /// Delay before answering the first failed login from an address (ms); it doubles
    /// with each further failure, up to 5 s.
    pub login_failure_delay_ms: u64,
    /// Failed logins an address may make in a window before it is refused outright.
    pub max_login_failures: u32,
    /// Registrations an address may make in a window.
    pub max_registrations: u32,
    /// The counting window for both limits (seconds).
    pub limit_window_secs: u64,
    /// Count loopback clients (127.0.0.0/8, ::1) like any other address. Off by default
    /// so local tools are not throttled (loopback failures still wait the base delay);
    /// classic-port sessions are counted on the real address the port vouches for.
    pub limit_loopback: bool,
    /// Allow/deny rules, first match wins, checked before the built-in defaults.
    pub acl: Vec<AclRule>,
    /// Secret of the in-process proxy (the classic port): a loopback connection that
    /// presents it with the `BBS-PROXY` SASL mechanism has its login limits and logs
    /// keyed on the real client address it names. Set by the host at start (random per
    /// run), never read from the file; `None` turns the mechanism off.
    #[serde(skip)]
    pub proxy_token: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mechanisms: vec!["SCRAM-SHA-256".into()],
            open_registration: true,
            anonymous_write: true,
            login_failure_delay_ms: 250,
            max_login_failures: 10,
            max_registrations: 5,
            limit_window_secs: 300,
            limit_loopback: false,
            acl: Vec::new(),
            proxy_token: None,
        }
    }
}

impl AuthConfig {
    /// The mechanisms offered, checked.
    pub fn mechanisms(&self) -> Result<Vec<Mechanism>> {
        self.mechanisms
            .iter()
            .map(|m| {
                Mechanism::parse(m).ok_or_else(|| {
                    Error::Config(format!(
                        "auth.mechanisms: '{m}' is not \"SCRAM-SHA-256\" or \"PLAIN\""
                    ))
                })
            })
            .collect()
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<()> {
        self.mechanisms()?;
        for (i, rule) in self.acl.iter().enumerate() {
            rule.compile()
                .map_err(|e| Error::Config(format!("auth.acl[{i}]: {e}")))?;
        }
        if self.max_login_failures == 0 {
            return Err(Error::Config(
                "auth.max_login_failures: must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The counting window.
    pub fn window(&self) -> Duration {
        Duration::from_secs(self.limit_window_secs)
    }
}
