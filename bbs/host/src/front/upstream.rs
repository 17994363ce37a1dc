//! What a front server writes to the cluster besides entries: the BBS topics (with the
//! settings a single server gives them, [`crate::topic_defaults`]) and the view records
//! ([`UpSink`], the views' sink while this front is the sequencer).

use std::time::Duration;

use client::{Client, NewTopic, Producer, ProducerConfig, Record, TopicPartition};

use bbs::codec::WireRecord;
use bbs::error::{Error, Result};
use bbs::names;

use super::ledger;
use crate::views::Sink;

/// How long the ledger keeps entries (they matter only until decided).
const LEDGER_RETENTION_MS: &str = "604800000";

/// Creates `topics` (one partition each, the BBS's settings by name) where missing.
pub(super) fn ensure_topics(client: &Client, topics: &[String]) -> Result<()> {
    for name in topics {
        let mut t = NewTopic::new(name, 1);
        if name == ledger::TOPIC {
            t = t.config("retention.ms", LEDGER_RETENTION_MS);
        } else {
            for (k, v) in crate::topic_defaults(name) {
                t = t.config(&k, &v);
            }
        }
        match client.admin().create_topics(&[t]) {
            Ok(()) => tracing::info!(topic = %name, "created on the cluster"),
            Err(e) if e.kafka_code() == Some(client::ErrorCode::TOPIC_ALREADY_EXISTS) => {}
            Err(e) => return Err(Error::Backend(format!("creating {name}: {e}"))),
        }
    }
    Ok(())
}

/// The topics every BBS needs, and the ledger.
pub(super) fn create_bbs_topics(client: &Client) -> Result<()> {
    let wanted: Vec<String> = [
        names::BOARDS_TOPIC,
        names::USERS_TOPIC,
        names::STATS_TOPIC,
        names::IDS_TOPIC,
        ledger::TOPIC,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    ensure_topics(client, &wanted)
}

/// Sends `records` to partition 0 of `topic` as one batch and waits for the cluster's
/// acknowledgement; the offset of the first.
pub(super) fn write(
    producer: &Producer,
    topic: &str,
    records: Vec<(WireRecord, i64)>,
) -> client::Result<i64> {
    let mut handles = Vec::with_capacity(records.len());
    for (w, timestamp) in records {
        handles.push(producer.send(Record {
            topic: topic.to_string(),
            partition: Some(0),
            key: w.key,
            value: w.value,
            headers: w.headers,
            timestamp: Some(timestamp),
        })?);
    }
    producer.flush()?;
    let mut first = -1;
    for (i, h) in handles.iter().enumerate() {
        let meta = h.wait()?;
        if i == 0 {
            first = meta.offset;
        }
    }
    Ok(first)
}

/// A producer whose records of one call travel as one batch (sent by `flush`).
pub(super) fn batching_producer(client: &Client) -> client::Result<Producer> {
    client.producer(
        ProducerConfig::default()
            .acks(client::Acks::All)
            .linger(Duration::from_secs(1)),
    )
}

/// The views' sink on the cluster.
pub(super) struct UpSink {
    pub(super) client: Client,
    pub(super) producer: Producer,
}

impl Sink for UpSink {
    fn append(&self, topic: &str, records: &[WireRecord]) -> std::result::Result<(), String> {
        let now = bbs::time::now_ms();
        let records = records.iter().map(|w| (w.clone(), now)).collect();
        write(&self.producer, topic, records)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn end(&self, topic: &str) -> Option<i64> {
        let tp = TopicPartition::new(topic, 0);
        self.client
            .admin()
            .end_offsets(std::slice::from_ref(&tp))
            .ok()?
            .get(&tp)
            .copied()
    }
}
