//! What `bbs-server` installs into the broker: [`BbsPolicy`], the record policy over the
//! server's own view of the BBS (rebuilt from the log at start, then folded forward with
//! every accepted batch, under the broker's policy lock so it follows the log exactly),
//! which also names the topics accepted records imply (the server creates them), and
//! [`BbsAuthorizer`], which keeps BBS topics the server's, mailboxes, subscription lists
//! and BBS groups their owners', and otherwise defers to the broker's default rules.
//!
//! On a front server (`bbs-server --kafka`) the same rules run through the cluster instead
//! of the server's own log: [`FrontBbs`] (see [`front`]).
//!
//! This crate (`bbs-host`, `bbs/host`) is the only part of the BBS that links the broker;
//! only `bbs-server` uses it, so `bbs-client` carries no server code. The rules themselves
//! are the pure [`bbs::policy`] (the in-process demo backend runs the same function).

mod audit;
mod authorizer;
pub mod front;
mod profiles;
mod rebuild;
mod views;

pub use audit::audit;
pub use authorizer::BbsAuthorizer;
pub use front::FrontBbs;

use std::sync::Arc;

use broker::auth::policy::{
    ErrorCode, HookFuture, PolicyRecord, RecordPolicy, Verdict as BrokerVerdict,
};
use broker::auth::Principal as BrokerPrincipal;
use broker::Broker;
use parking_lot::{Mutex, MutexGuard};

use bbs::codec::{self, WireRecord};
use bbs::error::{Error, Failure, Result};
use bbs::names::{self, TopicKind};
use bbs::policy::{self, Principal, Verdict};
use bbs::state::{Position, State};
use bbs::time::now_ms;

/// The policy's view of a record as the BBS codec's (shares the buffers).
fn to_wire(r: &PolicyRecord) -> WireRecord {
    WireRecord {
        key: r.key.clone(),
        value: r.value.clone(),
        headers: r.headers.clone(),
    }
}

/// A record the BBS policy wrote (a replacement) as the broker's policy record.
fn to_policy(w: WireRecord, timestamp: i64) -> PolicyRecord {
    PolicyRecord {
        key: w.key,
        value: w.value,
        headers: w.headers,
        timestamp,
    }
}

/// Topic settings the BBS needs, by name, for the broker's creation hook
/// ([`broker::log::LogManager::set_name_defaults`]): boards, mailboxes and subscription
/// lists are kept forever (never lost to the broker's default retention), and the
/// board and user directories are compacted (latest record per key), as
/// `docs/data-model.md` says. Other topics get the broker's defaults.
pub fn topic_defaults(topic: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if names::is_view_topic(topic) {
        // Views: the latest record per key is all they say (docs/data-model.md, "Views").
        out.insert("retention.ms".to_string(), "-1".to_string());
        out.insert("cleanup.policy".to_string(), "compact".to_string());
        return out;
    }
    match names::classify(topic) {
        TopicKind::Board(_) | TopicKind::Mail(_) | TopicKind::Subs(_) => {
            out.insert("retention.ms".to_string(), "-1".to_string());
        }
        TopicKind::Boards | TopicKind::Users => {
            out.insert("retention.ms".to_string(), "-1".to_string());
            out.insert("cleanup.policy".to_string(), "compact".to_string());
        }
        TopicKind::Other => {}
    }
    out
}

/// The BBS topics an accepted entry implies: a board record its board's topic and views,
/// a user profile that user's mailbox and subscription list.
fn implied_by(entry: &codec::Entry) -> Vec<String> {
    match &entry.record {
        codec::BbsRecord::Board { name, .. } => [
            names::board_topic(name),
            names::index_topic(name),
            names::pages_topic(name),
        ]
        .into_iter()
        .filter_map(std::result::Result::ok)
        .collect(),
        codec::BbsRecord::User { name, .. } => [names::mail_topic(name), names::subs_topic(name)]
            .into_iter()
            .filter_map(std::result::Result::ok)
            .collect(),
        _ => Vec::new(),
    }
}

/// The BBS record policy, as installed into the broker.
#[derive(Default)]
pub struct BbsPolicy {
    /// The server's view: what the checks consult and what accepted batches update.
    state: Mutex<State>,
    /// Topics the records folded by [`BbsPolicy::load`] imply, for
    /// [`BbsPolicy::create_topics`] (data written before the server created them).
    implied_at_load: Mutex<std::collections::BTreeSet<String>>,
    /// The views kept beside the boards (taken after `state`, never before).
    views: Mutex<views::Views>,
}

impl BbsPolicy {
    /// An empty policy; call [`BbsPolicy::load`] before the broker serves clients.
    pub fn new() -> Arc<BbsPolicy> {
        Arc::new(BbsPolicy::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Rebuilds the view from every BBS topic in the broker's log (post ids, boards,
    /// users, mailboxes). Returns how many records were folded.
    pub fn load(&self, broker: &Broker) -> Result<usize> {
        let mut state = State::new();
        let mut implied = std::collections::BTreeSet::new();
        let mut count = 0;
        broker
            .replay(names::is_bbs_namespace, |topic, rec| {
                let wire = WireRecord {
                    key: rec.key,
                    value: rec.value,
                    headers: rec
                        .headers
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                };
                if let Ok(entry) = codec::decode(topic, &wire) {
                    implied.extend(implied_by(&entry));
                    state.apply(
                        Position {
                            offset: rec.offset,
                            timestamp: rec.timestamp,
                        },
                        &entry,
                    );
                    count += 1;
                }
            })
            .map_err(|e| Error::Backend(e.to_string()))?;
        let sink: Arc<dyn views::Sink> = Arc::new(views::LocalSink(broker.logs().clone()));
        self.views.lock().reset(Some(sink), &state);
        *self.lock() = state;
        *self.implied_at_load.lock() = implied;
        Ok(count)
    }

    /// Creates the directories (`bbs.boards`, `bbs.users`, `bbs.stats`, `bbs.ids`) and every topic
    /// the loaded records imply that does not exist yet (boards, their views and mailboxes
    /// of data written before the server created them), then brings the views up to date
    /// ([`BbsPolicy::rebuild_views`]). Call after [`BbsPolicy::load`]. Returns how many
    /// topics were created.
    pub async fn create_topics(&self, broker: &Broker) -> Result<usize> {
        let mut wanted: Vec<String> = vec![
            names::BOARDS_TOPIC.into(),
            names::USERS_TOPIC.into(),
            names::STATS_TOPIC.into(),
            names::IDS_TOPIC.into(),
        ];
        wanted.extend(self.implied_at_load.lock().iter().cloned());
        let mut created = 0;
        for topic in wanted {
            if broker.logs().topic(&topic).is_some() {
                continue;
            }
            broker
                .logs()
                .create_topic_as(&topic, 1, Default::default(), false, Some("server"))
                .await
                .map_err(|e| Error::Backend(format!("creating {topic}: {}", e.message)))?;
            created += 1;
        }
        let rebuilt = self.rebuild_views(broker).await?;
        if rebuilt > 0 {
            tracing::info!(records = rebuilt, "brought the views up to date");
        }
        Ok(created)
    }

    /// The largest post id the server has assigned.
    pub fn max_post_id(&self) -> u64 {
        self.lock().max_post_id()
    }
}

impl RecordPolicy for BbsPolicy {
    fn applies_to(&self, topic: &str) -> bool {
        names::is_bbs_namespace(topic)
    }

    fn admits(&self, principal: &BrokerPrincipal, _topic: &str) -> Option<BrokerVerdict> {
        // Every BBS record needs a logged-in author: refuse anonymous clients before the
        // broker decompresses anything for them.
        matches!(principal, BrokerPrincipal::Anonymous).then(|| BrokerVerdict::Reject {
            code: ErrorCode::POLICY_VIOLATION,
            message: Failure::NotLoggedIn.to_string(),
        })
    }

    fn check(
        &self,
        principal: &BrokerPrincipal,
        topic: &str,
        _partition: i32,
        records: &[PolicyRecord],
    ) -> BrokerVerdict {
        let who = match principal {
            BrokerPrincipal::Anonymous => Principal::Anonymous,
            BrokerPrincipal::User(u) => Principal::User(u),
            BrokerPrincipal::Operator => Principal::Server,
        };
        let wires: Vec<WireRecord> = records.iter().map(to_wire).collect();
        let now = now_ms();
        let state = self.lock();
        match policy::check(who, topic, &wires, &state, now) {
            Verdict::Accept => BrokerVerdict::Accept,
            Verdict::Reject(failure) => BrokerVerdict::Reject {
                code: ErrorCode::POLICY_VIOLATION,
                message: failure.to_string(),
            },
            Verdict::Replace(stamped) => {
                BrokerVerdict::Replace(stamped.into_iter().map(|w| to_policy(w, now)).collect())
            }
        }
    }

    fn implied_topics(&self, topic: &str, records: &[PolicyRecord]) -> Vec<String> {
        if !matches!(names::classify(topic), TopicKind::Boards | TopicKind::Users) {
            return Vec::new();
        }
        records
            .iter()
            .filter_map(|r| codec::decode(topic, &to_wire(r)).ok())
            .flat_map(|e| implied_by(&e))
            .collect()
    }

    fn audit(
        &self,
        principal: &BrokerPrincipal,
        peer: std::net::SocketAddr,
        topic: &str,
        records: &[PolicyRecord],
    ) {
        let user = match principal {
            BrokerPrincipal::User(u) => u.as_str(),
            BrokerPrincipal::Operator => "operator",
            BrokerPrincipal::Anonymous => return,
        };
        for r in records {
            if let Ok(entry) = codec::decode(topic, &to_wire(r)) {
                audit::record(user, peer, &entry);
            }
        }
    }

    fn login_refusal(&self, user: &str) -> Option<String> {
        self.lock()
            .is_disabled(user)
            .then(|| policy::disabled_message(user))
    }

    fn account_created<'a>(&'a self, broker: &'a Broker, name: &'a str) -> HookFuture<'a> {
        Box::pin(async move {
            if let Err(e) = self.ensure_profile(broker, name, "").await {
                tracing::error!(user = name, error = %e, "could not write the new account's profile");
            }
        })
    }

    fn appended(&self, topic: &str, _partition: i32, base_offset: i64, records: &[PolicyRecord]) {
        let mut state = self.lock();
        let mut views = self.views.lock();
        let mut out = views::Out::new();
        for (i, r) in records.iter().enumerate() {
            if let Ok(entry) = codec::decode(topic, &to_wire(r)) {
                let touch = views::Views::touch(&state, &entry);
                state.apply(
                    Position {
                        offset: base_offset + i as i64,
                        timestamp: r.timestamp,
                    },
                    &entry,
                );
                views.changed(&state, touch, &mut out);
            }
        }
        views.write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker::auth::authorizer::DefaultAuthorizer;
    use broker::auth::config::AuthConfig;
    use broker::auth::{Authorizer, Operation, Resource};

    #[test]
    fn bbs_topics_are_kept_forever_and_directories_compacted() {
        let board = topic_defaults(&names::board_topic("測試").expect("topic"));
        assert_eq!(board.get("retention.ms").map(String::as_str), Some("-1"));
        assert_eq!(board.get("cleanup.policy"), None);
        let users = topic_defaults("bbs.users");
        assert_eq!(
            users.get("cleanup.policy").map(String::as_str),
            Some("compact")
        );
        assert!(topic_defaults("chat.general").is_empty());
    }

    #[test]
    fn views_are_read_by_anyone_and_written_by_no_client() {
        let a = BbsAuthorizer {
            inner: Arc::new(DefaultAuthorizer::new(&AuthConfig::default())),
        };
        let ana = BrokerPrincipal::User("ana".into());
        for topic in [
            names::STATS_TOPIC.to_string(),
            names::IDS_TOPIC.to_string(),
            names::index_topic("NP").expect("topic"),
            names::pages_topic("測試").expect("topic"),
        ] {
            let t = Resource::Topic(&topic);
            assert!(a.authorize(&BrokerPrincipal::Anonymous, Operation::Read, &t));
            for op in [Operation::Write, Operation::Create, Operation::Alter] {
                assert!(!a.authorize(&ana, op, &t));
                assert!(!a.authorize(&BrokerPrincipal::Operator, op, &t));
            }
            assert!(!a.authorize(&ana, Operation::Delete, &t));
            assert!(a
                .denial_reason(&ana, Operation::Write, &t)
                .is_some_and(|m| m.contains("is a view the server maintains")));
        }
        for topic in [
            names::index_topic("NP").expect("topic"),
            names::IDS_TOPIC.into(),
        ] {
            let defaults = topic_defaults(&topic);
            assert_eq!(
                defaults.get("cleanup.policy").map(String::as_str),
                Some("compact"),
                "{topic}"
            );
        }
    }

    #[test]
    fn private_topics_belong_to_their_owner() {
        let a = BbsAuthorizer {
            inner: Arc::new(DefaultAuthorizer::new(&AuthConfig::default())),
        };
        let ana = BrokerPrincipal::User("ana".into());
        let bob = BrokerPrincipal::User("bob".into());
        let mail = names::mail_topic("ana").expect("topic");
        let subs = names::subs_topic("ana").expect("topic");
        assert!(a.authorize(&ana, Operation::Read, &Resource::Topic(&mail)));
        assert!(!a.authorize(&bob, Operation::Read, &Resource::Topic(&mail)));
        assert!(a.authorize(&bob, Operation::Describe, &Resource::Topic(&mail)));
        assert!(!a.authorize(&bob, Operation::Describe, &Resource::Topic(&subs)));
        assert!(a.authorize(&bob, Operation::Write, &Resource::Topic(&mail)));
        assert!(!a.authorize(&bob, Operation::Write, &Resource::Topic(&subs)));
        assert!(!a.authorize(
            &BrokerPrincipal::Anonymous,
            Operation::Write,
            &Resource::Topic(&mail)
        ));
        let cjk = names::mail_topic("測試").expect("topic");
        assert!(a.authorize(
            &BrokerPrincipal::User("測試".into()),
            Operation::Read,
            &Resource::Topic(&cjk)
        ));
        assert!(!a.authorize(&ana, Operation::Read, &Resource::Topic(&cjk)));
        // Boards are public to read.
        let board = names::board_topic("NP").expect("topic");
        assert!(a.authorize(
            &BrokerPrincipal::Anonymous,
            Operation::Read,
            &Resource::Topic(&board)
        ));
    }
}
