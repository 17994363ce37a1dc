//! The vocabulary of access decisions: [`Operation`]s on [`Resource`]s, and the ACL rules
//! of the config file (`[[auth.acl]]`, [`AclRule`]) compiled into matchers
//! ([`CompiledRule`]). ACL rules name a principal (`*`, `anonymous`, `user:*`,
//! `user:NAME`, `operator`), operations (`describe`, `read`, `write`, `create`, `delete`,
//! `alter`, or `*`) and a resource (`topic:NAME`, `topic:PREFIX*`, `group:...`, `cluster`,
//! `*`). `{user}` in a resource stands for the principal's own name, so
//! `topic:mail.{user}` is each user's private topic and never matches anonymous.
//!
//! Both the settings ([`super::config`]) and the authorizer ([`super::authorizer`]) use
//! these types; they live here, below both, so neither imports the other's.

use serde::Deserialize;

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
    pub(super) fn decide(
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
