//! The "consumer" embedded protocol of classic groups: the subscription a member sends in
//! JoinGroup and the assignment the leader hands out in SyncGroup, each a big-endian i16
//! version followed by the body (ConsumerProtocolSubscription / ConsumerProtocolAssignment
//! schemas). We write version 0, which every client reads (kafka-python included), and read
//! any version, decoding newer ones with the newest schema we know. No I/O.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::TopicPartition;
use crate::error::{Error, Result};
use crate::util::{sb, tn};

/// A member's subscription.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscription {
    /// Topics it wants.
    pub topics: Vec<String>,
}

/// A member's assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// Partitions it owns.
    pub partitions: Vec<TopicPartition>,
}

/// Encodes a subscription (version 0).
pub fn encode_subscription(topics: &[String]) -> Result<Bytes> {
    let mut s = ConsumerProtocolSubscription::default();
    s.topics = topics.iter().map(|t| sb(t)).collect();
    let mut out = BytesMut::new();
    out.put_i16(0);
    s.encode(&mut out, 0)
        .map_err(|e| Error::Encode(format!("subscription: {e}")))?;
    Ok(out.freeze())
}

/// Decodes a subscription of any version.
pub fn decode_subscription(blob: &[u8]) -> Result<Subscription> {
    let mut buf = Bytes::copy_from_slice(blob);
    if buf.len() < 2 {
        return Err(Error::Malformed(
            "subscription shorter than its version".into(),
        ));
    }
    let version = buf.get_i16().clamp(0, 3);
    let s = ConsumerProtocolSubscription::decode(&mut buf, version)
        .map_err(|e| Error::Malformed(format!("subscription v{version}: {e}")))?;
    Ok(Subscription {
        topics: s.topics.iter().map(|t| t.to_string()).collect(),
    })
}

/// Encodes an assignment (version 0).
pub fn encode_assignment(partitions: &[TopicPartition]) -> Result<Bytes> {
    let mut by_topic: std::collections::BTreeMap<&str, Vec<i32>> = Default::default();
    for tp in partitions {
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    let mut a = ConsumerProtocolAssignment::default();
    a.assigned_partitions = by_topic
        .into_iter()
        .map(|(t, ps)| {
            let mut at = AssignedTopic::default();
            at.topic = tn(t);
            at.partitions = ps;
            at
        })
        .collect();
    let mut out = BytesMut::new();
    out.put_i16(0);
    a.encode(&mut out, 0)
        .map_err(|e| Error::Encode(format!("assignment: {e}")))?;
    Ok(out.freeze())
}

/// Decodes an assignment of any version; an empty blob is an empty assignment.
pub fn decode_assignment(blob: &[u8]) -> Result<Assignment> {
    if blob.is_empty() {
        return Ok(Assignment::default());
    }
    let mut buf = Bytes::copy_from_slice(blob);
    if buf.len() < 2 {
        return Err(Error::Malformed(
            "assignment shorter than its version".into(),
        ));
    }
    let version = buf.get_i16().clamp(0, 3);
    let a = ConsumerProtocolAssignment::decode(&mut buf, version)
        .map_err(|e| Error::Malformed(format!("assignment v{version}: {e}")))?;
    let mut partitions: Vec<TopicPartition> = a
        .assigned_partitions
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| TopicPartition::new(t.topic.as_str(), *p))
        })
        .collect();
    partitions.sort();
    Ok(Assignment { partitions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let blob = encode_subscription(&["a".into(), "b".into()]).expect("enc");
        assert_eq!(&blob[..2], &[0, 0]);
        assert_eq!(
            decode_subscription(&blob).expect("dec").topics,
            vec!["a", "b"]
        );
        let parts = vec![
            TopicPartition::new("a", 1),
            TopicPartition::new("a", 0),
            TopicPartition::new("b", 2),
        ];
        let blob = encode_assignment(&parts).expect("enc");
        let mut sorted = parts.clone();
        sorted.sort();
        assert_eq!(decode_assignment(&blob).expect("dec").partitions, sorted);
        assert!(decode_assignment(&[]).expect("empty").partitions.is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_subscription(&[0]).is_err());
        assert!(decode_subscription(&[0, 0, 0, 0, 0, 9, 1]).is_err());
        assert!(decode_assignment(&[0, 1, 0xff]).is_err());
    }
}
