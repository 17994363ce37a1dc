//! Accounts shared by the front servers of one cluster: every change a front's credential
//! store makes (the same raw records it writes to its own `__credentials`) is also
//! produced, acks=all, to the compacted upstream topic [`TOPIC`] before the change is
//! answered, and every front follows that topic and applies what the others wrote. A front
//! starting on an empty topic seeds it with its own accounts (so `users add` on one
//! front's data directory, server stopped, reaches them all); otherwise the topic wins.
//!
//! What this does not give: "create if absent" across fronts (two fronts registering the
//! same new name at the same moment both succeed; the later record wins), and look-alike
//! checks against names registered elsewhere in the last instant. Clients never reach the
//! topic through a front ([`crate::Broker::authorize`] refuses it).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, CreateTopicsResponse, FetchRequest, FetchResponse,
    ProduceRequest, ProduceResponse,
};

use super::Upstream;
use crate::auth::store::Mirror;
use crate::broker::Broker;
use crate::error::{Error, Result};
use crate::handlers::{sb, tn};

/// The upstream topic holding the shared credential records.
pub const TOPIC: &str = "bbs-front-credentials";

/// Publishes a store's changes to [`TOPIC`].
struct Publisher {
    up: Arc<Upstream>,
}

impl Mirror for Publisher {
    fn publish(
        &self,
        entries: Vec<(Option<Bytes>, Option<Bytes>)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + '_>> {
        Box::pin(produce(&self.up, entries))
    }
}

async fn leader(up: &Upstream) -> Result<i32> {
    if let Some(l) = up.leader(TOPIC, 0) {
        return Ok(l);
    }
    up.metadata_for(Some(vec![TOPIC.to_string()]), false)
        .await?;
    up.leader(TOPIC, 0)
        .ok_or_else(|| Error::Upstream(format!("{TOPIC} has no leader")))
}

async fn produce(up: &Upstream, entries: Vec<(Option<Bytes>, Option<Bytes>)>) -> Result<()> {
    let batch = crate::record::encode_simple(&entries, crate::now_ms())?;
    let mut pd = PartitionProduceData::default();
    pd.index = 0;
    pd.records = Some(batch.freeze());
    let mut td = TopicProduceData::default();
    td.name = tn(TOPIC);
    td.partition_data = vec![pd];
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 10_000;
    req.topic_data = vec![td];
    let version = up.versions(ApiKey::Produce).map_or(3, |(_, hi)| hi.min(8));
    let conn = up.shared(leader(up).await?).await?;
    let resp: ProduceResponse = conn.call(ApiKey::Produce, version, &req).await?;
    let code = resp
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .map_or(-1, |p| p.error_code);
    if code != 0 {
        up.forget_leader(TOPIC, 0);
        return Err(Error::Upstream(format!(
            "publishing a credential change to {TOPIC}: error {code}"
        )));
    }
    Ok(())
}

async fn create_topic(up: &Upstream) -> Result<()> {
    let mut t = CreatableTopic::default();
    t.name = tn(TOPIC);
    t.num_partitions = 1;
    t.replication_factor = -1;
    let mut c = CreatableTopicConfig::default();
    c.name = sb("cleanup.policy");
    c.value = Some(sb("compact"));
    t.configs = vec![c];
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 10_000;
    let version = up
        .versions(ApiKey::CreateTopics)
        .map_or(4, |(_, hi)| hi.min(5));
    let conn = up.shared(up.any_node()).await?;
    let resp: CreateTopicsResponse = conn.call(ApiKey::CreateTopics, version, &req).await?;
    match resp.topics.first().map_or(0, |t| t.error_code) {
        0 | 36 => Ok(()), // created, or TOPIC_ALREADY_EXISTS
        code => Err(Error::Upstream(format!("creating {TOPIC}: error {code}"))),
    }
}

/// One fetch of [`TOPIC`] from `offset`: the records and the high watermark.
async fn fetch(
    up: &Upstream,
    conn: &super::UpConn,
    offset: i64,
    max_wait_ms: i32,
) -> Result<(Vec<kafka_protocol::records::Record>, i64)> {
    let mut fp = FetchPartition::default();
    fp.partition = 0;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = 4 << 20;
    let mut ft = FetchTopic::default();
    ft.topic = tn(TOPIC);
    ft.partitions = vec![fp];
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 4 << 20;
    req.session_epoch = -1;
    req.topics = vec![ft];
    let version = up.versions(ApiKey::Fetch).map_or(4, |(_, hi)| hi.min(11));
    let resp: FetchResponse = conn.call(ApiKey::Fetch, version, &req).await?;
    let p = resp
        .responses
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| Error::Upstream(format!("{TOPIC}: empty fetch answer")))?;
    if p.error_code != 0 {
        return Err(Error::Upstream(format!(
            "fetching {TOPIC}: error {}",
            p.error_code
        )));
    }
    let records = match &p.records {
        Some(b) if !b.is_empty() => crate::record::decode_records(b.clone())?,
        _ => Vec::new(),
    };
    Ok((records, p.high_watermark))
}

/// Shares `broker`'s accounts through the cluster: creates [`TOPIC`] if needed, seeds it
/// (when empty) or applies it, then follows it in the background and mirrors every local
/// change to it. Returns once this front's store holds everything the topic held.
pub async fn share(broker: &Arc<Broker>, up: &Arc<Upstream>) -> Result<()> {
    create_topic(up).await?;
    let store = &broker.auth.store;
    let conn = up.open(leader(up).await?).await?;
    let (_, end) = fetch(up, &conn, 0, 0).await?;
    let mut next = 0;
    if end == 0 {
        let entries = store.raw_entries()?;
        tracing::info!(accounts = entries.len(), "seeding the shared credentials");
        if !entries.is_empty() {
            produce(up, entries).await?;
        }
    }
    while next < end.max(1) {
        let (records, hw) = fetch(up, &conn, next, 0).await?;
        if records.is_empty() {
            break;
        }
        next = apply(broker, &records, next);
        if next >= hw {
            break;
        }
    }
    store.set_mirror(Arc::new(Publisher { up: Arc::clone(up) }));
    tracing::info!(
        topic = TOPIC,
        offset = next,
        "following the shared credentials"
    );
    let (broker, up) = (Arc::clone(broker), Arc::clone(up));
    tokio::spawn(async move {
        let mut conn = conn;
        loop {
            match fetch(&up, &conn, next, 1000).await {
                Ok((records, _)) => next = apply(&broker, &records, next),
                Err(e) => {
                    tracing::warn!(error = %e, "following the shared credentials");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if let Ok(l) = leader(&up).await {
                        if let Ok(c) = up.open(l).await {
                            conn = c;
                        }
                    }
                }
            }
        }
    });
    Ok(())
}

/// Applies the records at or after `next`; returns the next offset to fetch.
fn apply(broker: &Broker, records: &[kafka_protocol::records::Record], mut next: i64) -> i64 {
    for r in records {
        if r.offset < next || r.control {
            continue;
        }
        if let Some(k) = &r.key {
            broker.auth.store.apply_raw(k, r.value.as_deref());
        }
        next = r.offset + 1;
    }
    next
}
