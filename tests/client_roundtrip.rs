//! client against the real server binary: produce/consume round trips with manual
//! assignment, admin topic creation/deletion, compression, acks levels, seek and pause.
mod common;
use std::time::{Duration, Instant};

use client::*;
use common::*;

fn client(s: &TestServer) -> Client {
    Client::connect(ClientConfig::new(&s.addr)).expect("connect")
}

/// Polls until `n` records arrived (or 20 s passed).
fn poll_n(c: &mut Consumer, n: usize) -> Vec<ConsumerRecord> {
    let start = Instant::now();
    let mut out = Vec::new();
    while out.len() < n && start.elapsed() < Duration::from_secs(20) {
        out.extend(c.poll(Duration::from_millis(200)).expect("poll"));
    }
    out
}

#[test]
fn produce_and_consume_round_trip() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    let admin = client.admin();
    admin
        .create_topics(&[NewTopic::new("chat.general", 3)])
        .expect("create");
    let err = admin
        .create_topics(&[NewTopic::new("chat.general", 3)])
        .expect_err("exists");
    assert_eq!(
        err.kafka_code(),
        Some(client::ErrorCode::TOPIC_ALREADY_EXISTS),
        "{err}"
    );
    assert!(admin
        .list_topics()
        .expect("list")
        .contains(&"chat.general".to_string()));

    let producer = client
        .producer(ProducerConfig::default())
        .expect("producer");
    let mut handles = Vec::new();
    for i in 0..30 {
        let rec = Record::new("chat.general")
            .key(format!("k{i}"))
            .value(format!("post {i}"))
            .header("bbs.kind", "post");
        handles.push(producer.send(rec).expect("send"));
    }
    producer.flush().expect("flush");
    let mut per_partition = [0i64; 3];
    for (i, h) in handles.iter().enumerate() {
        let meta = h.wait().expect("delivered");
        let want = partitioner::partition_for_key(format!("k{i}").as_bytes(), 3);
        assert_eq!(meta.partition, want);
        assert_eq!(
            meta.offset, per_partition[meta.partition as usize],
            "offsets are dense"
        );
        per_partition[meta.partition as usize] += 1;
    }

    let parts: Vec<TopicPartition> = (0..3)
        .map(|p| TopicPartition::new("chat.general", p))
        .collect();
    let mut consumer = client
        .consumer(
            ConsumerConfig::manual()
                .assign(&parts)
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let got = poll_n(&mut consumer, 30);
    assert_eq!(got.len(), 30);
    for r in &got {
        let i: usize = r.key_str().expect("key")[1..].parse().expect("number");
        assert_eq!(r.value_str(), format!("post {i}"));
        assert_eq!(r.header("bbs.kind"), Some(&b"post"[..]));
    }
    // Seek back and read one partition again; pause another.
    let p0 = &parts[0];
    consumer.seek(p0, 0).expect("seek");
    consumer.pause(&parts[1..]);
    let again = poll_n(&mut consumer, per_partition[0] as usize);
    assert!(again.iter().all(|r| r.partition == 0));
    assert_eq!(again.len() as i64, per_partition[0]);
    assert!(consumer.seek(&TopicPartition::new("nope", 0), 1).is_err());

    // Manual commits for fixed partitions (no membership), then a new consumer resumes there.
    let mut m = client
        .consumer(
            ConsumerConfig::group("manual-commit")
                .assign(&parts)
                .auto_commit(false)
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    assert_eq!(poll_n(&mut m, 30).len(), 30);
    m.commit().expect("commit");
    let committed = admin
        .fetch_offsets("manual-commit", &parts)
        .expect("offsets");
    for (i, tp) in parts.iter().enumerate() {
        assert_eq!(committed[tp], Some(per_partition[i]), "{tp}");
    }
    m.seek(&parts[0], 0).expect("seek");
    drop(m); // auto-commit is off: the seek is not committed
    let mut resumed = client
        .consumer(ConsumerConfig::group("manual-commit").assign(&parts))
        .expect("consumer");
    assert!(resumed
        .poll(Duration::from_millis(300))
        .expect("poll")
        .is_empty());
    assert_eq!(resumed.position(&parts[0]), Some(per_partition[0]));

    // Anonymous clients may not delete topics on a bbs server: a typed Kafka error.
    // (A logged-in delete is in tests/client_sasl.rs.)
    let err = admin
        .delete_topics(&["chat.general"])
        .expect_err("anonymous");
    assert_eq!(
        err.kafka_code(),
        Some(client::ErrorCode::TOPIC_AUTHORIZATION_FAILED),
        "{err}"
    );
    producer.close().expect("close");
}

#[test]
fn compression_acks_and_backpressure() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    client
        .admin()
        .create_topics(&[NewTopic::new("c", 1)])
        .expect("create");
    for (codec, acks) in [
        (Compression::Gzip, Acks::All),
        (Compression::Lz4, Acks::Leader),
        (Compression::Snappy, Acks::None),
        (Compression::Zstd, Acks::All),
    ] {
        let p = client
            .producer(ProducerConfig::default().acks(acks).compression(codec))
            .expect("producer");
        let hs: Vec<_> = (0..50)
            .map(|i| {
                p.send(Record::new("c").value(format!("{codec:?} {i}")))
                    .expect("send")
            })
            .collect();
        p.flush().expect("flush");
        for h in hs {
            let m = h.wait().expect("delivered");
            assert_eq!(m.offset < 0, acks == Acks::None);
        }
    }
    let mut c = client
        .consumer(
            ConsumerConfig::manual()
                .assign(&[TopicPartition::new("c", 0)])
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let got = poll_n(&mut c, 200);
    assert_eq!(got.len(), 200);
    assert_eq!(got[0].value_str(), "Gzip 0");
    assert_eq!(got[199].value_str(), "Zstd 49");

    // A tiny buffer with no blocking: send fails with BufferFull rather than waiting.
    let p = client
        .producer(
            ProducerConfig::default()
                .linger(Duration::from_secs(5))
                .buffer(2048, None),
        )
        .expect("producer");
    let mut full = false;
    for _ in 0..100 {
        match p.send(Record::new("c").value(vec![0u8; 100])) {
            Ok(_) => {}
            Err(client::Error::BufferFull(_)) => {
                full = true;
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(full, "the buffer limit was never hit");
}

#[test]
fn unknown_topic_and_dead_server_give_typed_errors() {
    let mut s = TestServer::start(&[]);
    let client = client(&s);
    let p = client
        .producer(ProducerConfig {
            auto_create_topics: false,
            max_block: Some(Duration::from_millis(500)),
            ..Default::default()
        })
        .expect("producer");
    let err = p
        .send(Record::new("missing").value("x"))
        .expect_err("no topic");
    assert!(
        matches!(
            err,
            client::Error::Kafka {
                code: client::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                ..
            }
        ),
        "{err}"
    );
    client
        .admin()
        .create_topics(&[NewTopic::new("t", 1)])
        .expect("create");
    p.send(Record::new("t").value("before"))
        .expect("send")
        .wait()
        .expect("delivered");
    s.kill9();
    // The server is gone: a bounded close gives up and fails what is left.
    let h = p.send(Record::new("t").value("after")).expect("queued");
    let start = Instant::now();
    p.close_timeout(Duration::from_millis(300)).expect("close");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "close took {:?}",
        start.elapsed()
    );
    let err = h.wait().expect_err("not delivered");
    assert!(matches!(err, client::Error::Delivery { .. }), "{err}");
    let err = Client::connect(ClientConfig::new(&s.addr))
        .err()
        .expect("no server");
    assert!(matches!(err, client::Error::Connection { .. }), "{err}");
}

/// Asking for the end offsets of a topic the client has not looked up yet answers them at
/// once: a newly wanted topic is looked up without waiting out the metadata backoff (which
/// spaces out retries after errors). It used to return an empty map.
#[test]
fn end_offsets_of_a_topic_not_yet_looked_up() {
    let s = TestServer::start(&[]);
    let writer = client(&s);
    writer
        .admin()
        .create_topics(&[NewTopic::new("fresh.topic", 1)])
        .expect("create");
    let producer = writer
        .producer(ProducerConfig::default())
        .expect("producer");
    for i in 0..3 {
        producer
            .send(Record::new("fresh.topic").value(format!("r{i}")))
            .expect("send");
    }
    producer.flush().expect("flush");

    let mut config = ClientConfig::new(&s.addr);
    // A long backoff makes the old behaviour (no lookup within the backoff) certain.
    config.metadata_refresh_backoff = Duration::from_secs(60);
    let reader = Client::connect(config).expect("connect");
    let tp = TopicPartition::new("fresh.topic", 0);
    let ends = reader
        .admin()
        .end_offsets(std::slice::from_ref(&tp))
        .expect("end offsets");
    assert_eq!(ends.get(&tp), Some(&3), "{ends:?}");
}

#[test]
fn read_at_takes_records_at_chosen_offsets_and_a_group_can_start_at_one() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    let admin = client.admin();
    admin
        .create_topics(&[NewTopic::new("rd.x", 1), NewTopic::new("rd.y", 1)])
        .expect("create");
    let producer = client
        .producer(ProducerConfig::default().linger(Duration::ZERO))
        .expect("producer");
    for i in 0..40 {
        for t in ["rd.x", "rd.y"] {
            let rec = Record::new(t).key(format!("{t}-{i}")).value(format!("{i}"));
            producer.send(rec).expect("send").wait().expect("acked");
        }
    }
    let (x, y) = (
        TopicPartition::new("rd.x", 0),
        TopicPartition::new("rd.y", 0),
    );
    // One call, two partitions, each from its own offset.
    let got = admin
        .read_at(&[(x.clone(), 7), (y.clone(), 33)], 4096)
        .expect("read_at");
    let first = |tp: &TopicPartition| got[tp].records.first().map(|r| r.offset);
    assert_eq!((first(&x), first(&y)), (Some(7), Some(33)));
    assert_eq!(got[&y].records.last().map(|r| r.offset), Some(39));
    assert_eq!(got[&x].high_watermark, 40);
    let text = |r: &ConsumerRecord| String::from_utf8(r.value.clone().unwrap_or_default().to_vec());
    assert_eq!(text(&got[&x].records[0]).ok().as_deref(), Some("7"));
    // To the end.
    let all = admin.read_to_end(&x, 10).expect("read_to_end");
    let offsets: Vec<i64> = all.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (10..40).collect::<Vec<_>>());
    // Past the end: an error, not a hang.
    assert!(admin.read_at(&[(x.clone(), 41)], 4096).is_err());

    // A group consumer without committed offsets starts where it was told, per partition.
    let mut c = client
        .consumer(
            ConsumerConfig::group("starts")
                .subscribe(&["rd.x", "rd.y"])
                .offset_reset(OffsetReset::Earliest)
                .auto_commit(false),
        )
        .expect("consumer");
    c.set_start_offset(&x, 35);
    let got = poll_n(&mut c, 5 + 40);
    let from = |t: &str| got.iter().filter(|r| r.topic == t).map(|r| r.offset).min();
    assert_eq!(from("rd.x"), Some(35), "the start offset");
    assert_eq!(from("rd.y"), Some(0), "the reset policy");
    assert_eq!(got.len(), 45);
}
