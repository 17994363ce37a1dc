//! client with the real peer clients against the real server: records our producer
//! writes are read by kcat and kafka-python (keys land where the Java partitioner puts
//! them), and records kcat writes are read by our consumer.
mod common;
use std::time::{Duration, Instant};

use client::*;
use common::*;

/// (key, partition with 7 partitions) as the Java client computes it
/// (`toPositive(murmur2(key)) % 7`, values from kafka-python's port).
const JAVA_VECTORS_7: &[(&str, i32)] = &[
    ("a", 5),
    ("foo", 1),
    ("42", 3),
    ("bbs", 1),
    ("hello world", 2),
    ("ana", 6),
    ("board.general", 4),
    ("ключ", 4),
];

#[test]
fn our_records_read_by_kcat_and_kafka_python() {
    let s = TestServer::start(&[]);
    let client = Client::connect(ClientConfig::new(&s.addr)).expect("connect");
    client
        .admin()
        .create_topics(&[NewTopic::new("keys", 7)])
        .expect("create");
    let producer = client
        .producer(ProducerConfig::default().compression(Compression::Gzip))
        .expect("producer");
    let mut keys: Vec<String> = JAVA_VECTORS_7.iter().map(|(k, _)| k.to_string()).collect();
    keys.extend((0..40).map(|i| format!("user-{i}")));
    let handles: Vec<_> = keys
        .iter()
        .map(|k| {
            producer
                .send(
                    Record::new("keys")
                        .key(k.clone())
                        .value(format!("v-{k}"))
                        .header("bbs.kind", "post"),
                )
                .expect("send")
        })
        .collect();
    producer.flush().expect("flush");
    for (h, (k, p)) in handles.iter().zip(JAVA_VECTORS_7) {
        assert_eq!(h.wait().expect("delivered").partition, *p, "key {k}");
    }

    // kcat sees every record on the partition the Java partitioner picks.
    let out = ok(
        kcat(
            &[
                "-b",
                &s.addr,
                "-C",
                "-t",
                "keys",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%k|%p|%s|%h\n",
            ],
            None,
            Duration::from_secs(30),
        ),
        "kcat consume",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), keys.len(), "{out}");
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        let (k, p, v, h) = (f[0], f[1], f[2], f[3]);
        assert_eq!(v, format!("v-{k}"));
        assert_eq!(h, "bbs.kind=post");
        if let Some((_, want)) = JAVA_VECTORS_7.iter().find(|(key, _)| *key == k) {
            assert_eq!(p, want.to_string(), "kcat: key {k}");
        }
    }

    // kafka-python reads them too and computes the Java partition independently.
    let out = ok(
        python(
            "client_read_all.py",
            &[&s.addr, "keys", &keys.len().to_string()],
            Duration::from_secs(60),
        ),
        "kafka-python consume",
    );
    let mut n = 0;
    for line in out.lines() {
        let key = field(line, "key");
        assert_eq!(
            field(line, "partition"),
            field(line, "java_partition"),
            "{line}"
        );
        assert_eq!(field(line, "value"), format!("\"v-{}", &key[1..]));
        assert!(line.contains("\"bbs.kind\": \"post\""), "{line}");
        n += 1;
    }
    assert_eq!(n, keys.len(), "{out}");
}

/// The raw JSON text of `"name": value` in a flat JSON line.
fn field(line: &str, name: &str) -> String {
    let at = line.find(&format!("\"{name}\": ")).expect("field") + name.len() + 4;
    line[at..]
        .split([',', '}'])
        .next()
        .expect("value")
        .trim()
        .to_string()
}

#[test]
fn kcat_records_read_by_our_consumer() {
    let s = TestServer::start(&[]);
    let input: String = (0..100).map(|i| format!("k{i}:kcat says {i}\n")).collect();
    ok(
        kcat(
            &["-b", &s.addr, "-P", "-t", "fromkcat", "-K:", "-z", "lz4"],
            Some(input.as_bytes()),
            Duration::from_secs(30),
        ),
        "kcat produce",
    );
    let client = Client::connect(ClientConfig::new(&s.addr)).expect("connect");
    let meta = client.refresh_metadata(&["fromkcat"]).expect("metadata");
    let n = meta.partition_count("fromkcat").expect("topic exists");
    let parts: Vec<_> = (0..n as i32)
        .map(|p| TopicPartition::new("fromkcat", p))
        .collect();
    let mut c = client
        .consumer(
            ConsumerConfig::manual()
                .assign(&parts)
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 100 && start.elapsed() < Duration::from_secs(20) {
        got.extend(c.poll(Duration::from_millis(200)).expect("poll"));
    }
    assert_eq!(got.len(), 100);
    got.sort_by_key(|r| (r.partition, r.offset));
    for r in &got {
        let k = r.key_str().expect("key");
        assert_eq!(r.value_str(), format!("kcat says {}", &k[1..]));
    }
}
