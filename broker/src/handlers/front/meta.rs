//! Metadata in front mode: the cluster's answer with every node replaced by this server
//! (one broker, its advertised address, leading every partition and controlling the
//! cluster), and only the topics the principal may describe; topic auto-creation asked of
//! the cluster only for topics the principal may create. And ApiVersions: what both this
//! server and the cluster speak.

use std::sync::Arc;

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponseTopic};
use kafka_protocol::messages::{ApiVersionsResponse, BrokerId, MetadataRequest};
use wire::ErrorCode;

use super::super::{respond, sb, Reply};
use super::{FORWARDED, LOCAL};
use crate::auth::{Operation, Resource};
use crate::broker::{Broker, Session};
use crate::error::Result;
use crate::protocol::{self, decode_body, Request, SUPPORTED};
use crate::upstream::Upstream;

/// The ApiVersions body in front mode: local APIs at our versions, forwarded ones at the
/// versions both we and the cluster speak, nothing else.
pub(crate) fn versions_body(up: &Upstream, error_code: ErrorCode) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = error_code.code();
    for (k, lo, hi) in SUPPORTED {
        let range = if LOCAL.contains(k) {
            Some((*lo, *hi))
        } else if FORWARDED.contains(k) {
            up.versions(*k)
                .map(|(ulo, uhi)| ((*lo).max(ulo), (*hi).min(uhi)))
                .filter(|(a, b)| a <= b)
        } else {
            None
        };
        if let Some((lo, hi)) = range {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = protocol::advertised_min(*k, lo);
            v.max_version = hi;
            resp.api_keys.push(v);
        }
    }
    resp
}

/// Keeps only the topics a client named. Kafka answers a list of no topics with none, but
/// not every cluster does (Tansu 0.6.0 answers it with every topic), and the front asks
/// for no topics when it refused all the client named: what it passes on must still be
/// only what was asked.
fn keep_asked(topics: &mut Vec<MetadataResponseTopic>, asked: &[String]) {
    topics.retain(|t| {
        t.name
            .as_ref()
            .is_some_and(|n| asked.iter().any(|a| a.as_str() == n.0.as_str()))
    });
}

fn denied_entry(name: &str) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(super::super::tn(name));
    t.error_code = ErrorCode::TOPIC_AUTHORIZATION_FAILED.code();
    t
}

pub(super) async fn metadata(
    broker: &Arc<Broker>,
    up: &Arc<Upstream>,
    session: &Session,
    req: &Request,
) -> Result<Reply> {
    let may = |op, name: &str| broker.authorize(session, op, Resource::Topic(name));
    let creatable = |name: &str| {
        broker.config.auto_create_topics && !name.starts_with("__") && may(Operation::Create, name)
    };
    let mut r: MetadataRequest = decode_body(req)?;
    let v = req.version;
    if v == 0 && r.topics.as_ref().is_some_and(Vec::is_empty) {
        r.topics = None;
    }
    let mut denied = Vec::new();
    // The names the client asked for (`None`: every topic).
    let asked: Option<Vec<String>> = r.topics.as_ref().map(|list| {
        list.iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect()
    });
    if let Some(list) = r.topics.take() {
        let mut kept = Vec::new();
        for t in list {
            match t.name.as_ref().map(|n| n.0.to_string()) {
                Some(name) if !may(Operation::Describe, &name) => denied.push(name),
                _ => kept.push(t),
            }
        }
        let names = || {
            kept.iter()
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
        };
        let all_creatable = names().all(|n| creatable(&n));
        if v >= 4 {
            r.allow_auto_topic_creation &= all_creatable;
        } else if !all_creatable {
            // v0-3 cannot say "do not create": ask only for what exists or may be made.
            let exist: Vec<String> = up
                .metadata_for(Some(names().collect()), false)
                .await?
                .topics
                .iter()
                .filter(|t| t.error_code == 0)
                .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
                .collect();
            kept.retain(|t| {
                t.name
                    .as_ref()
                    .is_none_or(|n| exist.contains(&n.0.to_string()) || creatable(n.0.as_str()))
            });
        }
        r.topics = Some(kept);
    } else if v == 0 {
        r.topics = Some(Vec::new());
    }
    let mut resp = up.metadata(v, &r).await?;
    if r.allow_auto_topic_creation || v < 4 {
        // A cluster that does not create topics on first use: the front does, for the
        // topics its own rules let this client create.
        let unmade: Vec<String> = resp
            .topics
            .iter()
            .filter(|t| t.error_code == ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code())
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .filter(|n| creatable(n))
            .collect();
        if !unmade.is_empty() && !up.create_missing(&unmade).await?.is_empty() {
            resp = up.metadata(v, &r).await?;
        }
    }
    let (host, port) = broker.advertised();
    let node = BrokerId(broker.node_id);
    let mut me = MetadataResponseBroker::default();
    me.node_id = node;
    me.host = sb(host);
    me.port = port;
    resp.brokers = vec![me];
    if v >= 1 {
        resp.controller_id = node;
    }
    if let Some(asked) = &asked {
        keep_asked(&mut resp.topics, asked);
    }
    resp.topics.retain(|t| {
        t.name
            .as_ref()
            .is_none_or(|n| may(Operation::Describe, n.0.as_str()))
    });
    // Authorized operations upstream are the service account's, not the client's: not
    // reported (Kafka's "not asked for" value).
    resp.cluster_authorized_operations = i32::MIN;
    for t in &mut resp.topics {
        t.topic_authorized_operations = i32::MIN;
        for p in &mut t.partitions {
            if p.leader_id.0 >= 0 {
                p.leader_id = node;
            }
            p.replica_nodes = vec![node];
            p.isr_nodes = vec![node];
            p.offline_replicas.clear();
        }
    }
    resp.topics
        .extend(denied.iter().map(|name| denied_entry(name)));
    respond(req, &resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::UpstreamConfig;
    use kafka_protocol::messages::ApiKey;

    #[test]
    fn an_answer_passes_on_only_the_topics_the_client_named() {
        let topic = |name: &str| {
            let mut t = MetadataResponseTopic::default();
            t.name = Some(super::super::super::tn(name));
            t
        };
        // A cluster that answered "no topics" with all of them.
        let mut topics = vec![topic("board.NP"), topic("mail.bob"), topic("board.OS")];
        keep_asked(&mut topics, &["board.OS".to_string()]);
        let names: Vec<&str> = topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str()))
            .collect();
        assert_eq!(names, ["board.OS"]);
        keep_asked(&mut topics, &[]);
        assert!(topics.is_empty(), "nothing asked, nothing passed on");
    }

    #[test]
    fn forwarded_apis_are_advertised_at_the_versions_both_sides_speak() {
        let up = Upstream::unconnected(UpstreamConfig::new("a:1"));
        up.learn_versions(&[
            (ApiKey::Fetch as i16, 0, 16),
            (ApiKey::Metadata as i16, 0, 8),
            (ApiKey::AlterConfigs as i16, 0, 2),
        ]);
        let body = versions_body(&up, ErrorCode::NONE);
        let range = |k: ApiKey| {
            body.api_keys
                .iter()
                .find(|v| v.api_key == k as i16)
                .map(|v| (v.min_version, v.max_version))
        };
        assert_eq!(
            range(ApiKey::Fetch),
            Some((4, 12)),
            "ours caps the cluster's"
        );
        assert_eq!(
            range(ApiKey::Metadata),
            Some((0, 8)),
            "the cluster's caps ours"
        );
        assert_eq!(
            range(ApiKey::Produce),
            None,
            "the cluster does not speak it"
        );
        assert_eq!(
            range(ApiKey::AlterConfigs),
            None,
            "not forwarded in front mode"
        );
        assert_eq!(
            range(ApiKey::SaslAuthenticate),
            Some((0, 2)),
            "answered here"
        );
        assert_eq!(
            range(ApiKey::FindCoordinator),
            Some((0, 3)),
            "answered here"
        );
    }
}
