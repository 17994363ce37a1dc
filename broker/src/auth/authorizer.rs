//! Who may do what: the [`Authorizer`] trait the broker asks before every operation on a
//! topic, group or the cluster, and [`DefaultAuthorizer`], which applies (in order) the
//! operator's full access, the reservation of `__` names for the broker's internal state,
//! the configured ACL rules (first match wins), then the built-in defaults: users may do
//! anything to ordinary topics and groups; anonymous clients may describe and read, write
//! and create only when `anonymous_write` is on, and never delete or alter.
//!
//! ACL rules name a principal (`*`, `anonymous`, `user:*`, `user:NAME`, `operator`),
//! operations (`describe`, `read`, `write`, `create`, `delete`, `alter`, or `*`) and a
//! resource (`topic:NAME`, `topic:PREFIX*`, `group:...`, `cluster`, `*`). `{user}` in a
//! resource stands for the principal's own name, so `topic:mail.{user}` is each user's
//! private topic and never matches anonymous.

use serde::Deserialize;

use super::config::AuthConfig;
use super::Principal;

/// An operation on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// See that it exists (Metadata, ListOffsets, DescribeConfigs).
    Describe,
    /// Consume from it, or use a group.
    Read,
    /// Produce to it.
    Write,
    /// Create it (CreateTopics, auto-creation).
    Create,
    /// Delete it.
    Delete,
    /// Change its settings or, on the cluster, other users' accounts.
    Alter,
}

impl Operation {
    fn parse(s: &str) -> Option<u8> {
        Some(match s.to_ascii_lowercase().as_str() {
            "describe" => 1,
            "read" => 2,
            "write" => 4,
            "create" => 8,
            "delete" => 16,
            "alter" => 32,
            "*" | "all" => 63,
            _ => return None,
        })
    }

    fn bit(self) -> u8 {
        match self {
            Operation::Describe => 1,
            Operation::Read => 2,
            Operation::Write => 4,
            Operation::Create => 8,
            Operation::Delete => 16,
            Operation::Alter => 32,
        }
    }
}

/// What an operation is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// A topic, by name.
    Topic(&'a str),
    /// A consumer group, by id.
    Group(&'a str),
    /// The broker as a whole (accounts, broker configs).
    Cluster,
}

impl Resource<'_> {
    /// The Kafka error code for a denial on this kind of resource.
    pub fn denied_code(&self) -> wire::ErrorCode {
        match self {
            Resource::Topic(_) => wire::ErrorCode::TOPIC_AUTHORIZATION_FAILED,
            Resource::Group(_) => wire::ErrorCode::GROUP_AUTHORIZATION_FAILED,
            Resource::Cluster => wire::ErrorCode::CLUSTER_AUTHORIZATION_FAILED,
        }
    }
}

/// Decides whether a principal may perform an operation. Hosts implement it to add their
/// own rules, usually wrapping a [`DefaultAuthorizer`].
pub trait Authorizer: Send + Sync {
    /// True when `principal` may perform `op` on `resource`.
    fn authorize(&self, principal: &Principal, op: Operation, resource: &Resource<'_>) -> bool;

    /// True when `principal` may see `group`'s name and state in ListGroups (not its
    /// members or offsets). Defaults to DESCRIBE on the group; a host may list groups
    /// whose names are public (the BBS's session groups make the online list) while
    /// keeping their descriptions private.
    fn may_list_group(&self, principal: &Principal, group: &str) -> bool {
        self.authorize(principal, Operation::Describe, &Resource::Group(group))
    }

    /// Why `principal` may not `op` `resource`, when the host has a clearer reason than
    /// the broker's generic "may not" (shown to clients that display error messages).
    fn denial_reason(
        &self,
        _principal: &Principal,
        _op: Operation,
        _resource: &Resource<'_>,
    ) -> Option<String> {
        None
    }
}

/// One ACL rule as written in the config file (`[[auth.acl]]`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AclRule {
    /// `*`, `anonymous`, `user:*`, `user:NAME` or `operator`.
    pub principal: String,
    /// Operations the rule covers; empty means all.
    #[serde(default)]
    pub operations: Vec<String>,
    /// `topic:NAME`, `topic:PREFIX*`, `group:NAME`, `group:PREFIX*`, `cluster` or `*`.
    pub resource: String,
    /// Allow (true) or deny (false) what the rule matches.
    pub allow: bool,
}

#[derive(Debug, Clone)]
enum Who {
    Anyone,
    Anonymous,
    AnyUser,
    User(String),
    Operator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Topic,
    Group,
    Cluster,
}

/// A rule ready to match.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    who: Who,
    ops: u8,
    kind: Kind,
    pattern: String,
    prefix: bool,
    allow: bool,
}

impl AclRule {
    /// Checks and compiles the rule.
    pub fn compile(&self) -> Result<CompiledRule, String> {
        let who = match self.principal.as_str() {
            "*" => Who::Anyone,
            "anonymous" => Who::Anonymous,
            "operator" => Who::Operator,
            "user:*" => Who::AnyUser,
            p => match p.strip_prefix("user:") {
                Some(name) if !name.is_empty() => Who::User(name.to_string()),
                _ => {
                    return Err(format!(
                        "principal '{p}' is not *, anonymous, operator, user:* or user:NAME"
                    ))
                }
            },
        };
        let mut ops = 0u8;
        for o in &self.operations {
            ops |= Operation::parse(o).ok_or_else(|| format!("unknown operation '{o}'"))?;
        }
        if self.operations.is_empty() {
            ops = 63;
        }
        let (kind, pattern) = match self.resource.as_str() {
            "*" => (Kind::Any, "*"),
            "cluster" => (Kind::Cluster, ""),
            r => match (r.strip_prefix("topic:"), r.strip_prefix("group:")) {
                (Some(p), _) => (Kind::Topic, p),
                (_, Some(p)) => (Kind::Group, p),
                _ => {
                    return Err(format!(
                        "resource '{r}' is not topic:..., group:..., cluster or *"
                    ))
                }
            },
        };
        let (pattern, prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p.to_string(), true),
            None => (pattern.to_string(), false),
        };
        if pattern.contains('*') {
            return Err("'*' may appear only at the end of a resource".into());
        }
        Ok(CompiledRule {
            who,
            ops,
            kind,
            pattern,
            prefix,
            allow: self.allow,
        })
    }
}

impl CompiledRule {
    /// `Some(allow)` when the rule matches.
    fn decide(
        &self,
        principal: &Principal,
        op: Operation,
        resource: &Resource<'_>,
    ) -> Option<bool> {
        let who = match (&self.who, principal) {
            (Who::Anyone, _) => true,
            (Who::Anonymous, Principal::Anonymous) => true,
            (Who::AnyUser, Principal::User(_)) => true,
            (Who::User(n), Principal::User(u)) => n == u,
            (Who::Operator, Principal::Operator) => true,
            _ => false,
        };
        if !who || self.ops & op.bit() == 0 {
            return None;
        }
        let (kind, name) = match resource {
            Resource::Topic(n) => (Kind::Topic, *n),
            Resource::Group(n) => (Kind::Group, *n),
            Resource::Cluster => (Kind::Cluster, ""),
        };
        if self.kind == Kind::Any {
            return Some(self.allow);
        }
        if self.kind != kind {
            return None;
        }
        let pattern = if self.pattern.contains("{user}") {
            match principal {
                Principal::User(u) => self.pattern.replace("{user}", u),
                _ => return None,
            }
        } else {
            self.pattern.clone()
        };
        let hit = kind == Kind::Cluster
            || if self.prefix {
                name.starts_with(&pattern)
            } else {
                name == pattern
            };
        hit.then_some(self.allow)
    }
}

/// The built-in authorizer: reserved names, ACL rules, then defaults.
#[derive(Debug, Clone)]
pub struct DefaultAuthorizer {
    /// Compiled `[[auth.acl]]` rules, first match wins.
    rules: Vec<CompiledRule>,
    /// Anonymous may write and create ordinary topics.
    anonymous_write: bool,
}

impl DefaultAuthorizer {
    /// Builds the authorizer from the `[auth]` settings (invalid rules are skipped with a
    /// warning; `AuthConfig::validate` reports them first).
    pub fn new(config: &AuthConfig) -> Self {
        let rules = config
            .acl
            .iter()
            .filter_map(|r| match r.compile() {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring an invalid ACL rule");
                    None
                }
            })
            .collect();
        DefaultAuthorizer {
            rules,
            anonymous_write: config.anonymous_write,
        }
    }

    /// Adds a rule after the configured ones (hosts use this for their namespaces).
    pub fn push_rule(&mut self, rule: &AclRule) -> Result<(), String> {
        self.rules.push(rule.compile()?);
        Ok(())
    }
}

impl Authorizer for DefaultAuthorizer {
    fn authorize(&self, principal: &Principal, op: Operation, resource: &Resource<'_>) -> bool {
        if *principal == Principal::Operator {
            return true;
        }
        if let Resource::Topic(n) | Resource::Group(n) = resource {
            if n.starts_with("__") {
                return false;
            }
        }
        if let Some(allow) = self
            .rules
            .iter()
            .find_map(|r| r.decide(principal, op, resource))
        {
            return allow;
        }
        match (resource, principal) {
            (Resource::Cluster, _) => op == Operation::Describe,
            (_, Principal::User(_)) => true,
            (Resource::Group(_), _) => matches!(op, Operation::Describe | Operation::Read),
            (Resource::Topic(_), _) => match op {
                Operation::Describe | Operation::Read => true,
                Operation::Write | Operation::Create => self.anonymous_write,
                Operation::Delete | Operation::Alter => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(principal: &str, ops: &[&str], resource: &str, allow: bool) -> AclRule {
        AclRule {
            principal: principal.into(),
            operations: ops.iter().map(|s| s.to_string()).collect(),
            resource: resource.into(),
            allow,
        }
    }

    fn user(n: &str) -> Principal {
        Principal::User(n.into())
    }

    #[test]
    fn defaults() {
        let a = DefaultAuthorizer::new(&AuthConfig::default());
        let anon = Principal::Anonymous;
        use Operation::*;
        assert!(a.authorize(&anon, Read, &Resource::Topic("t")));
        assert!(a.authorize(&anon, Write, &Resource::Topic("t")));
        assert!(!a.authorize(&anon, Delete, &Resource::Topic("t")));
        assert!(a.authorize(&anon, Read, &Resource::Group("g")));
        assert!(!a.authorize(&anon, Delete, &Resource::Group("g")));
        for p in [anon.clone(), user("a")] {
            for op in [Describe, Read, Write, Create, Delete, Alter] {
                assert!(!a.authorize(&p, op, &Resource::Topic("__credentials")));
                assert!(!a.authorize(&p, op, &Resource::Group("__x")));
            }
            assert!(a.authorize(&p, Describe, &Resource::Cluster));
            assert!(!a.authorize(&p, Alter, &Resource::Cluster));
        }
        assert!(a.authorize(&user("a"), Delete, &Resource::Topic("t")));
        assert!(a.authorize(&Principal::Operator, Alter, &Resource::Cluster));
        let closed = AuthConfig {
            anonymous_write: false,
            ..AuthConfig::default()
        };
        let a = DefaultAuthorizer::new(&closed);
        assert!(!a.authorize(&anon, Write, &Resource::Topic("t")));
        assert!(!a.authorize(&anon, Create, &Resource::Topic("t")));
        assert!(a.authorize(&anon, Read, &Resource::Topic("t")));
    }

    #[test]
    fn acl_rules_first_match_wins_and_user_placeholder() {
        let cfg = AuthConfig {
            acl: vec![
                rule("user:*", &[], "topic:private.{user}", true),
                rule("*", &[], "topic:private.*", false),
                rule("anonymous", &["write", "create"], "topic:board.*", false),
                rule("user:mallory", &["*"], "*", false),
            ],
            ..AuthConfig::default()
        };
        cfg.validate().expect("valid");
        let a = DefaultAuthorizer::new(&cfg);
        use Operation::*;
        assert!(a.authorize(&user("bob"), Read, &Resource::Topic("private.bob")));
        assert!(!a.authorize(&user("alice"), Read, &Resource::Topic("private.bob")));
        assert!(!a.authorize(&user("alice"), Describe, &Resource::Topic("private.bob")));
        assert!(!a.authorize(&user("bo"), Read, &Resource::Topic("private.bob")));
        assert!(!a.authorize(&Principal::Anonymous, Read, &Resource::Topic("private.bob")));
        assert!(!a.authorize(
            &Principal::Anonymous,
            Write,
            &Resource::Topic("board.general")
        ));
        assert!(a.authorize(
            &Principal::Anonymous,
            Read,
            &Resource::Topic("board.general")
        ));
        assert!(a.authorize(&user("bob"), Write, &Resource::Topic("board.general")));
        assert!(!a.authorize(&user("mallory"), Read, &Resource::Topic("anything")));
        // The operator and the reserved names are decided before any rule.
        assert!(a.authorize(&Principal::Operator, Read, &Resource::Topic("private.bob")));
    }

    #[test]
    fn bad_rules_are_reported() {
        for r in [
            rule("root", &[], "*", true),
            rule("user:", &[], "*", true),
            rule("*", &["fly"], "*", true),
            rule("*", &[], "table:x", true),
            rule("*", &[], "topic:a*b", true),
        ] {
            assert!(r.compile().is_err(), "{r:?}");
        }
    }
}
