//! [`BbsAuthorizer`]: the BBS's access rules over the broker's defaults (BBS topics and
//! views are the server's, mailboxes, subscription lists and BBS groups their owners').

use std::sync::Arc;

use broker::auth::{Authorizer, Operation, Principal as BrokerPrincipal, Resource};

use bbs::names::{self, TopicKind};

/// The BBS's access rules, before the broker's defaults (`inner`):
/// - BBS topics (every name [`names::is_bbs_namespace`] claims) are the server's: no
///   client creates or reconfigures them (the server creates them when the implying
///   record is accepted, with its own settings); only the operator deletes a board,
///   mailbox or subscription list, and nobody deletes the directories.
/// - Views ([`names::is_view_topic`]: `bbs.stats`, `bbs.ids`, `index.*`, `pages.*`) are derived by
///   the server: no client writes, creates or reconfigures them; only the operator
///   deletes one (the next start rebuilds it).
/// - Mailboxes (`mail.<user>`) and subscription lists (`subs.<user>`) are the owner's:
///   only the owner (or the operator) reads them; any logged-in user may write (send)
///   mail, through the record policy, and so describe a mailbox (a producer needs its
///   metadata; in Kafka WRITE implies DESCRIBE).
/// - BBS groups (`bbs-…:<user>`, see [`names::group_owner`]) are the owner's: only they
///   (within `inner`'s rules) or the operator join, commit to, fetch, describe or delete
///   them. Session groups' names and states are listed to anyone (the online list).
pub struct BbsAuthorizer {
    /// The broker's default rules (reserved names, configured ACLs, defaults).
    pub inner: Arc<dyn Authorizer>,
}

/// Why no client may `op` a BBS topic, or `None` when the namespace rules allow it.
fn bbs_topic_refusal(principal: &BrokerPrincipal, op: Operation, topic: &str) -> Option<String> {
    if names::is_view_topic(topic) {
        return match op {
            Operation::Write | Operation::Create | Operation::Alter => Some(format!(
                "{topic} is a view the server maintains: no client may write it"
            )),
            Operation::Delete if *principal != BrokerPrincipal::Operator => Some(format!(
                "{topic} is a view the server maintains: only the operator may delete it"
            )),
            _ => None,
        };
    }
    if !names::is_bbs_namespace(topic) {
        return None;
    }
    let directory = matches!(names::classify(topic), TopicKind::Boards | TopicKind::Users);
    match op {
        Operation::Create => Some(format!(
            "{topic} is a BBS topic: the server creates it, with its own settings, when the record that implies it is accepted"
        )),
        Operation::Alter => Some(format!(
            "{topic} is a BBS topic: its settings are the server's and no client may change them"
        )),
        Operation::Delete if directory => Some(format!(
            "{topic} is a BBS directory: no client may delete it"
        )),
        Operation::Delete if *principal != BrokerPrincipal::Operator => Some(format!(
            "{topic} is a BBS topic: only the operator may delete it"
        )),
        _ => None,
    }
}

impl Authorizer for BbsAuthorizer {
    fn may_list_group(&self, principal: &BrokerPrincipal, group: &str) -> bool {
        group.starts_with(names::SESSION_GROUP_PREFIX)
            || self.authorize(principal, Operation::Describe, &Resource::Group(group))
    }

    fn denial_reason(
        &self,
        principal: &BrokerPrincipal,
        op: Operation,
        resource: &Resource<'_>,
    ) -> Option<String> {
        match resource {
            Resource::Topic(topic) => {
                bbs_topic_refusal(principal, op, topic).or_else(|| match names::classify(topic) {
                    TopicKind::Mail(owner) | TopicKind::Subs(owner) => {
                        Some(format!("{topic} belongs to {owner}"))
                    }
                    _ => self.inner.denial_reason(principal, op, resource),
                })
            }
            Resource::Group(group) => match names::group_owner(group) {
                Some(owner) => Some(format!("group {group} belongs to {owner}")),
                None => self.inner.denial_reason(principal, op, resource),
            },
            Resource::Cluster => self.inner.denial_reason(principal, op, resource),
        }
    }

    fn authorize(
        &self,
        principal: &BrokerPrincipal,
        op: Operation,
        resource: &Resource<'_>,
    ) -> bool {
        if let Resource::Group(group) = resource {
            if let Some(owner) = names::group_owner(group) {
                return match principal {
                    BrokerPrincipal::Operator => true,
                    BrokerPrincipal::User(u) if u == owner => {
                        self.inner.authorize(principal, op, resource)
                    }
                    _ => false,
                };
            }
        }
        if let Resource::Topic(topic) = resource {
            if bbs_topic_refusal(principal, op, topic).is_some() {
                return false;
            }
            let owner = match names::classify(topic) {
                TopicKind::Mail(owner) => Some((owner, true)),
                TopicKind::Subs(owner) => Some((owner, false)),
                _ => None,
            };
            if let Some((owner, is_mail)) = owner {
                return match principal {
                    BrokerPrincipal::Operator => true,
                    BrokerPrincipal::Anonymous => false,
                    BrokerPrincipal::User(u) if *u == owner => true,
                    // A sender writes to a mailbox; as in Kafka, where
                    // WRITE implies DESCRIBE, it may also describe it (a producer needs
                    // the topic's metadata). Reading stays the owner's.
                    BrokerPrincipal::User(_) => {
                        is_mail && matches!(op, Operation::Write | Operation::Describe)
                    }
                };
            }
        }
        self.inner.authorize(principal, op, resource)
    }
}
