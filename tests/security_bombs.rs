//! Rule 4 (resource bounds before work), attacked for real: per codec (gzip, snappy, lz4,
//! zstd) a small compressed batch that inflates to hundreds of MiB or 1 GiB of zeros,
//! sent as a raw Produce (the batch is built here byte by byte) by a logged-in user to a
//! policy-checked BBS topic and to an ordinary LogAppendTime topic. Each is refused with
//! MESSAGE_TOO_LARGE (10), nothing is written (the end offset is read back), the same
//! connection keeps working, and the server's peak RSS (VmHWM) grows by far less than the
//! bombs' size.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use client::conn::Connection;
use client::{ClientConfig, NewTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ListOffsetsRequest, ListOffsetsResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

const MIB: usize = 1024 * 1024;
/// Peak RSS growth allowed over the whole run of bombs (a memory bound, not a timing one).
const MAX_GROWTH_KIB: u64 = 256 * 1024;

/// Streams `total` zero bytes through `w` in 1 MiB chunks.
fn zeros(w: &mut impl Write, total: usize) {
    let chunk = vec![0u8; MIB];
    let mut left = total;
    while left > 0 {
        let n = left.min(MIB);
        w.write_all(&chunk[..n]).expect("compress");
        left -= n;
    }
}

/// `total` zeros compressed with `codec` (1 gzip, 2 snappy, 3 lz4, 4 zstd) in the framing
/// Kafka clients use.
fn compress(codec: i16, total: usize) -> Vec<u8> {
    match codec {
        1 => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            zeros(&mut e, total);
            e.finish().expect("gzip")
        }
        2 => {
            // Xerial framing (as the Java client writes it), blocks of 4 MiB.
            let mut out = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
            let block = snap::raw::Encoder::new()
                .compress_vec(&vec![0u8; 4 * MIB])
                .expect("snappy");
            for _ in 0..total / (4 * MIB) {
                out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            out
        }
        3 => {
            let mut e = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max4MB)
                .level(9)
                .build(Vec::new())
                .expect("lz4");
            zeros(&mut e, total);
            let (out, r) = e.finish();
            r.expect("lz4");
            out
        }
        4 => {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 19).expect("zstd");
            zeros(&mut e, total);
            e.finish().expect("zstd")
        }
        _ => unreachable!("codec"),
    }
}

/// One v2 batch claiming one record, whose compressed body is `body`.
fn batch(codec: i16, body: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(61 + body.len());
    b.extend_from_slice(&0i64.to_be_bytes()); // base offset
    b.extend_from_slice(&((49 + body.len()) as i32).to_be_bytes()); // batch length
    b.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
    b.push(2); // magic
    b.extend_from_slice(&[0; 4]); // crc, below
    b.extend_from_slice(&codec.to_be_bytes()); // attributes
    b.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    b.extend_from_slice(&1i64.to_be_bytes()); // base timestamp
    b.extend_from_slice(&1i64.to_be_bytes()); // max timestamp
    b.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    b.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    b.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    b.extend_from_slice(&1i32.to_be_bytes()); // record count
    b.extend_from_slice(body);
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(b)
}

/// A plain, valid one-record batch (value "ok").
fn small_batch() -> Bytes {
    // length 2 varint(4), attrs 0, ts delta 0, offset delta 0, key -1, value len 2, "ok", 0 headers
    let rec: &[u8] = &[0x10, 0, 0, 0, 1, 4, b'o', b'k', 0];
    batch(0, rec)
}

/// Produces `records` to `topic`/0; returns (error code, message).
fn produce(conn: &Connection, topic: &str, records: Bytes) -> (i16, String) {
    let mut pd = PartitionProduceData::default();
    pd.index = 0;
    pd.records = Some(records);
    let mut td = TopicProduceData::default();
    td.name = TopicName(StrBytes::from_string(topic.to_string()));
    td.partition_data = vec![pd];
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 30_000;
    req.topic_data = vec![td];
    let (_, resp): (_, ProduceResponse) = conn.request(ApiKey::Produce, &req).expect("produce");
    let pr = &resp.responses[0].partition_responses[0];
    (
        pr.error_code,
        pr.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

/// The end offset of `topic`/0.
fn end_offset(conn: &Connection, topic: &str) -> i64 {
    try_end_offset(conn, topic).unwrap_or_else(|| panic!("list offsets of {topic}"))
}

/// The end offset of `topic`/0, or `None` when the broker answers an error.
fn try_end_offset(conn: &Connection, topic: &str) -> Option<i64> {
    let mut p = ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = ListOffsetsTopic::default();
    t.name = TopicName(StrBytes::from_string(topic.to_string()));
    t.partitions = vec![p];
    let mut req = ListOffsetsRequest::default();
    req.replica_id = kafka_protocol::messages::BrokerId(-1);
    req.topics = vec![t];
    let (_, resp): (_, ListOffsetsResponse) = conn
        .request(ApiKey::ListOffsets, &req)
        .expect("list offsets");
    let p = &resp.topics[0].partitions[0];
    (p.error_code == 0).then_some(p.offset)
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

/// One codec's bombs, on a fresh server so its peak RSS is this codec's alone: sent by a
/// logged-in student to a policy-checked board (`bbs_size` zeros) and to an ordinary topic
/// stamped with LogAppendTime (`plain_size` zeros); each is refused with
/// MESSAGE_TOO_LARGE, nothing is written, the connection keeps working, and the server's
/// peak RSS grows by far less than the bomb would inflate to.
fn bombs_are_refused_without_memory_growth(
    codec: i16,
    name: &str,
    bbs_size: usize,
    plain_size: usize,
) {
    let s = TestServer::start(&["--classic-listen", "127.0.0.1:0"]);
    let pid = s.pid().expect("pid");
    // Mallory registers and creates a board through the classic port, as a student would.
    let mut classic = TcpStream::connect(s.log_value("classic")).expect("classic");
    classic
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    for line in [
        "register mallory mallory@example.com pw-mallory",
        "login mallory pw-mallory",
        "create-board NP",
        "exit",
    ] {
        classic
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
    }
    let mut transcript = String::new();
    let _ = classic.read_to_string(&mut transcript);
    assert!(
        transcript.contains("Create board successfully."),
        "{transcript}"
    );
    let config = ClientConfig::new(&s.addr)
        .sasl_scram("mallory", "pw-mallory")
        .request_timeout(Duration::from_secs(60));
    let conn = Connection::open(&s.addr, 0, &config).expect("login");
    // An ordinary topic stamped with LogAppendTime, allowing 8 MiB batches.
    let admin = client::Client::connect(config.clone()).expect("client");
    let mut nt = NewTopic::new("plain-lat", 1);
    nt.configs = vec![
        ("message.timestamp.type".into(), "LogAppendTime".into()),
        ("max.message.bytes".into(), (8 * MIB).to_string()),
    ];
    admin.admin().create_topics(&[nt]).expect("create topic");
    // The board's topic is policy-checked (only BBS records, authored by the principal).
    let board = bbs::names::board_topic("NP").expect("board topic");
    let bbs_topic = board.as_str();
    let bbs_before = eventually_some(
        &format!("{bbs_topic} to appear"),
        Duration::from_secs(30),
        || try_end_offset(&conn, bbs_topic),
    );

    let hwm_before = vm_hwm_kib(pid);
    {
        for (topic, size) in [(bbs_topic, bbs_size), ("plain-lat", plain_size)] {
            let body = compress(codec, size);
            let records = batch(codec, &body);
            let before = end_offset(&conn, topic);
            let (code, message) = produce(&conn, topic, records);
            println!(
                "{name} bomb to {topic}: {} bytes compressed, {} MiB inflated: error {code} ({message})",
                body.len(),
                size / MIB
            );
            assert_eq!(
                code,
                client::ErrorCode::MESSAGE_TOO_LARGE,
                "{name} bomb to {topic}: {message}"
            );
            assert!(message.contains("decompress"), "{name}: {message}");
            assert_eq!(end_offset(&conn, topic), before, "{name}: nothing written");
        }
    }
    let hwm_after = vm_hwm_kib(pid);
    let growth = hwm_after.saturating_sub(hwm_before);
    println!(
        "{name}: server VmHWM before {} KiB, after {} KiB, growth {} KiB",
        hwm_before, hwm_after, growth
    );
    assert!(
        growth < MAX_GROWTH_KIB,
        "{name}: peak RSS grew by {growth} KiB over the bombs"
    );
    // The connection and the server still work: a small batch lands at offset 0 of the
    // ordinary topic (nothing before it) and the BBS directory is unchanged.
    let (code, message) = produce(&conn, "plain-lat", small_batch());
    assert_eq!(code, 0, "{message}");
    assert_eq!(end_offset(&conn, "plain-lat"), 1);
    assert_eq!(end_offset(&conn, bbs_topic), bbs_before);
}

// Sizes (zeros for the BBS topic with its 1 MiB max.message.bytes, for the 8 MiB ordinary
// topic) are chosen so each compressed batch fits under its topic's request limits.

#[test]
fn gzip_bombs_are_refused_without_memory_growth() {
    bombs_are_refused_without_memory_growth(1, "gzip", 512 * MIB, 1024 * MIB);
}

#[test]
fn snappy_bombs_are_refused_without_memory_growth() {
    bombs_are_refused_without_memory_growth(2, "snappy", 16 * MIB, 128 * MIB);
}

#[test]
fn lz4_bombs_are_refused_without_memory_growth() {
    bombs_are_refused_without_memory_growth(3, "lz4", 192 * MIB, 1024 * MIB);
}

#[test]
fn zstd_bombs_are_refused_without_memory_growth() {
    bombs_are_refused_without_memory_growth(4, "zstd", 1024 * MIB, 1024 * MIB);
}
