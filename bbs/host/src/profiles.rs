//! One notion of "a user exists": every account gets a `bbs.users` profile and its
//! private topics (mailbox, subscription list), whichever route created the account
//! (registration over Kafka, `bbs-server users add`/`import`, online or offline). The
//! server writes the profile itself, as the `server` principal, through the same record
//! policy a produce goes through, with [`Broker::append_checked`] (in log order).

use std::sync::Arc;

use broker::auth::policy as broker_policy;
use broker::log::partition::Partition;
use broker::Broker;

use super::{implied_by, now_ms, to_policy, BbsPolicy};
use bbs::codec::{self, BbsRecord, Entry};
use bbs::error::{Error, Result};
use bbs::names;
use bbs::policy::{self, Principal, Verdict};

/// An appended profile still to be made durable: the partition, the offset after it and
/// the flush-failure count before it (see [`Partition::wait_durable`]).
type Pending = (Arc<Partition>, i64, u64);

impl BbsPolicy {
    /// Makes `name` a complete BBS user: writes its profile (with `email`) when it has
    /// none, then creates its mailbox and subscription list if missing. Returns whether a
    /// profile was written. An existing profile is left as it is (its owner's email wins).
    pub async fn ensure_profile(&self, broker: &Broker, name: &str, email: &str) -> Result<bool> {
        let written = self.append_profile(broker, name, email)?;
        if let Some((log, end, failures)) = &written {
            broker
                .wait_durable(log, *end, *failures)
                .await
                .map_err(|r| Error::Backend(format!("profile of {name}: {}", r.message)))?;
        }
        let entry = Entry::new(BbsRecord::User {
            name: name.to_string(),
            email: String::new(),
        });
        for topic in implied_by(&entry) {
            if broker.logs().topic(&topic).is_some() {
                continue;
            }
            match broker
                .logs()
                .create_topic_as(&topic, 1, Default::default(), false, Some("server"))
                .await
            {
                Ok(_) => {}
                Err(e) if broker.logs().topic(&topic).is_some() => {
                    tracing::debug!(topic = %topic, error = %e.message, "created meanwhile")
                }
                Err(e) => return Err(Error::Backend(format!("creating {topic}: {}", e.message))),
            }
        }
        if written.is_some() {
            tracing::info!(user = name, "wrote the profile of an account that had none");
        }
        Ok(written.is_some())
    }

    /// Checks and appends the profile record in log order ([`Broker::append_checked`], so
    /// it is folded exactly once); `None` when the user already has a profile.
    fn append_profile(&self, broker: &Broker, name: &str, email: &str) -> Result<Option<Pending>> {
        let t = broker
            .logs()
            .topic(names::USERS_TOPIC)
            .ok_or_else(|| Error::Backend(format!("{} does not exist", names::USERS_TOPIC)))?;
        let log =
            t.partitions.first().cloned().ok_or_else(|| {
                Error::Backend(format!("{} has no partition", names::USERS_TOPIC))
            })?;
        let failures = log.failures();
        let check = || {
            if self.lock().user(name).is_some() {
                return Err(None);
            }
            let (topic, wire) = codec::encode(&Entry::new(BbsRecord::User {
                name: name.to_string(),
                email: email.to_string(),
            }))
            .map_err(Some)?;
            let now = now_ms();
            let stamped = match policy::check(Principal::Server, &topic, &[wire], &self.lock(), now)
            {
                Verdict::Replace(stamped) => stamped,
                Verdict::Accept => return Err(None),
                Verdict::Reject(f) => {
                    return Err(Some(Error::Backend(format!(
                        "profile of {name} refused: {f}"
                    ))))
                }
            };
            let records: Vec<_> = stamped.into_iter().map(|w| to_policy(w, now)).collect();
            let bytes = broker_policy::encode(&records, &[]).map_err(|e| {
                Some(Error::Backend(format!(
                    "encoding the profile of {name}: {e}"
                )))
            })?;
            Ok((bytes.to_vec().into(), records))
        };
        // `Err(None)`: nothing to write (the user has a profile).
        let appended = broker.append_checked(self, &log, &t.config(), check, |r| {
            Some(Error::Backend(format!(
                "appending the profile of {name}: {}",
                r.message
            )))
        });
        match appended {
            Ok((appended, _)) => Ok(Some((log, appended.end_offset, failures))),
            Err(None) => Ok(None),
            Err(Some(e)) => Err(e),
        }
    }
}
