//! Reading fetch answers: whole batches, the shared record list, partial batches and
//! partitions left out.

use super::*;
use crate::records::{BatchBuilder, Compression};
use crate::util::tn;
use bytes::BytesMut;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::FetchResponse;
use kafka_protocol::protocol::Encodable;

fn body(partitions: Vec<PartitionData>) -> Bytes {
    let mut t = FetchableTopicResponse::default();
    t.topic = tn("t");
    t.partitions = partitions;
    let mut resp = FetchResponse::default();
    resp.responses = vec![t];
    let mut out = BytesMut::new();
    resp.encode(&mut out, 12).expect("encode");
    out.freeze()
}

fn batch(base: i64) -> Bytes {
    let mut b = BatchBuilder::new(256);
    b.append(1, None, Some(b"one"), &[]);
    b.append(2, None, Some(b"two"), &[]);
    let sealed = b.seal(-1, -1, -1, Compression::None).expect("seal");
    // The base offset is the batch's first field, outside its CRC.
    let mut at = BytesMut::from(&sealed[..]);
    at[..8].copy_from_slice(&base.to_be_bytes());
    at.freeze()
}

fn done(asked: Vec<Ask>, body: Bytes) -> FetchDone {
    FetchDone {
        leader: 1,
        asked,
        version: 12,
        addr: "b".into(),
        result: Ok(body),
    }
}

#[test]
fn whole_batches_are_usable() {
    let mut p = PartitionData::default();
    p.records = Some(batch(0));
    p.high_watermark = 2;
    let asked = vec![(TopicPartition::new("t", 0), 0)];
    let out = done(asked, body(vec![p])).partitions().expect("parse");
    assert_eq!(out[0].records.len(), 2);
    assert_eq!(out[0].answer.next_offset, 2);
    assert!(out[0].answer.unusable.is_none());
}

#[test]
fn each_partition_gets_its_own_records_from_the_shared_list() {
    let mut p0 = PartitionData::default();
    p0.records = Some(batch(0));
    let mut p1 = PartitionData::default();
    p1.partition_index = 1;
    p1.records = Some(batch(10));
    // Answered in the other order than asked.
    let asked = vec![
        (TopicPartition::new("t", 1), 10),
        (TopicPartition::new("t", 0), 0),
    ];
    let out = done(asked, body(vec![p0, p1])).partitions().expect("parse");
    let offsets = |tp: i32| -> Vec<(i32, i64)> {
        let r = out.iter().find(|r| r.tp.partition == tp).expect("answered");
        r.records.iter().map(|c| (c.partition, c.offset)).collect()
    };
    assert_eq!(offsets(0), vec![(0, 0), (0, 1)]);
    assert_eq!(offsets(1), vec![(1, 10), (1, 11)]);
}

#[test]
fn a_partition_left_out_or_a_partial_batch_is_reported() {
    let mut p = PartitionData::default();
    p.records = Some(batch(0).slice(..40)); // cut inside the first batch
    let asked = vec![
        (TopicPartition::new("t", 0), 0),
        (TopicPartition::new("t", 1), 5),
    ];
    let out = done(asked, body(vec![p])).partitions().expect("parse");
    let cut = out.iter().find(|r| r.tp.partition == 0).expect("p0");
    assert!(cut.records.is_empty());
    assert!(cut
        .answer
        .unusable
        .as_deref()
        .is_some_and(|r| r.contains("no whole batch")));
    let missing = out.iter().find(|r| r.tp.partition == 1).expect("p1");
    assert_eq!(missing.answer.next_offset, 5);
    assert!(missing
        .answer
        .unusable
        .as_deref()
        .is_some_and(|r| r.contains("left this partition out")));
}

#[test]
fn lists_are_cleared_before_reading() {
    let mut p = PartitionData::default();
    p.records = Some(batch(0));
    let asked = vec![(TopicPartition::new("t", 0), 0)];
    let (mut answers, mut records) = (Vec::new(), Vec::new());
    let b = body(vec![p]);
    for _ in 0..2 {
        read("b", 12, &b, &asked, &mut answers, &mut records).expect("parse");
        assert_eq!(answers.len(), 1);
        assert_eq!(records.len(), 2);
    }
}
