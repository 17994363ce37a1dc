//! Topics a front server creates itself: a cluster that does not create topics on first
//! use (Apache Kafka with `auto.create.topics.enable=false`, Tansu) ignores Metadata's
//! "create" flag, so a topic the front's own rules let a client create on first use (the
//! front's `auto_create_topics` and the principal's CREATE right, checked by the caller)
//! is made with CreateTopics instead, with the cluster's default partitions and
//! replication where it speaks CreateTopics v4 (one partition before that).

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse};
use wire::ErrorCode;

use super::Upstream;
use crate::error::Result;
use crate::handlers::tn;

impl Upstream {
    /// Creates the topics of `names` the last metadata look-up did not find (ignoring
    /// ones created meanwhile), then looks them up again. Returns the names created.
    pub async fn create_missing(&self, names: &[String]) -> Result<Vec<String>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let version = self
            .versions(ApiKey::CreateTopics)
            .map_or(4, |(_, hi)| hi.min(5));
        let mut req = CreateTopicsRequest::default();
        req.timeout_ms = 10_000;
        req.topics = names
            .iter()
            .map(|n| {
                let mut t = CreatableTopic::default();
                t.name = tn(n);
                // -1: the cluster's defaults (KIP-464, CreateTopics v4).
                (t.num_partitions, t.replication_factor) =
                    if version >= 4 { (-1, -1) } else { (1, 1) };
                t
            })
            .collect();
        let conn = self.shared(self.any_node()).await?;
        let resp: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, version, &req).await?;
        let mut created = Vec::new();
        for t in &resp.topics {
            let code = ErrorCode(t.error_code);
            if code == ErrorCode::NONE {
                created.push(t.name.0.to_string());
            } else if code != ErrorCode::TOPIC_ALREADY_EXISTS {
                tracing::info!(topic = %t.name.0.as_str(), code = t.error_code, "the cluster did not create a topic");
            }
        }
        if !created.is_empty() {
            tracing::info!(topics = ?created, "created on the cluster, which does not create topics on first use");
        }
        self.metadata_for(Some(names.to_vec()), false).await?;
        Ok(created)
    }
}
