//! client against a scripted fake cluster of three brokers (tests/fake_cluster):
//! requests go to each partition's leader, a leadership move answered with
//! NOT_LEADER_OR_FOLLOWER makes the client refresh metadata and resend to the new leader, and
//! SASL PLAIN / SCRAM-SHA-256 authenticate (or fail with a typed error).
mod common;
mod fake_cluster;
use std::time::{Duration, Instant};

use client::*;
use fake_cluster::{FakeCluster, Seen};
use kafka_protocol::messages::ApiKey;

fn produce_to(seen: &[Seen], partition: &str) -> Vec<(i32, i16)> {
    seen.iter()
        .filter(|s| s.api == ApiKey::Produce && s.partition == partition)
        .map(|s| (s.node, s.error))
        .collect()
}

fn fetch_nodes(seen: &[Seen], partition: &str) -> Vec<(i32, i16)> {
    let mut v: Vec<(i32, i16)> = seen
        .iter()
        .filter(|s| s.api == ApiKey::Fetch && s.partition == partition)
        .map(|s| (s.node, s.error))
        .collect();
    v.dedup();
    v
}

fn fast_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new(bootstrap);
    c.metadata_refresh_backoff = Duration::from_millis(10);
    c
}

#[test]
fn routes_by_leader_and_follows_moves() {
    let fake = FakeCluster::start(3);
    fake.set_leader("t", 0, 1);
    fake.set_leader("t", 1, 2);
    // Bootstrap from node 0 only: it is never a leader.
    let client = Client::connect(fast_config(&fake.addrs[0])).expect("connect");
    let seen = fake.seen();
    assert_eq!(seen[0].api, ApiKey::Metadata);
    assert_eq!(seen[0].node, 0);
    let producer = client
        .producer(ProducerConfig::default())
        .expect("producer");
    let send = |p: i32, n: usize, tag: &str| -> Vec<DeliveryHandle> {
        (0..n)
            .map(|i| {
                producer
                    .send(Record::new("t").partition(p).value(format!("{tag}{i}")))
                    .expect("send")
            })
            .collect()
    };
    let mut hs = send(0, 10, "a");
    hs.extend(send(1, 10, "b"));
    producer.flush().expect("flush");
    for h in &hs {
        h.wait().expect("delivered");
    }
    let seen = fake.seen();
    assert!(!produce_to(&seen, "t/0").is_empty());
    assert!(
        produce_to(&seen, "t/0")
            .iter()
            .all(|(n, e)| *n == 1 && *e == 0),
        "{seen:?}"
    );
    assert!(
        produce_to(&seen, "t/1")
            .iter()
            .all(|(n, e)| *n == 2 && *e == 0),
        "{seen:?}"
    );

    // Partition 0 moves to node 2: node 1 refuses, the client refreshes and resends there.
    fake.clear_seen();
    fake.set_leader("t", 0, 2);
    let hs = send(0, 10, "c");
    producer.flush().expect("flush");
    for (i, h) in hs.iter().enumerate() {
        let m = h.wait().expect("delivered after the move");
        assert_eq!(m.offset, 10 + i as i64, "no record lost or duplicated");
    }
    let seen = fake.seen();
    let p0 = produce_to(&seen, "t/0");
    assert_eq!(
        p0.first(),
        Some(&(1, 6)),
        "first try hits the old leader: {seen:?}"
    );
    assert_eq!(p0.last(), Some(&(2, 0)), "then the new one: {seen:?}");
    let refused = p0.iter().position(|x| *x == (1, 6)).expect("refused");
    let metadata_after = seen
        .iter()
        .skip_while(|s| !(s.api == ApiKey::Produce && s.node == 1))
        .any(|s| s.api == ApiKey::Metadata);
    assert!(
        metadata_after && refused == 0,
        "metadata refreshed after NOT_LEADER: {seen:?}"
    );

    // The consumer fetches each partition from its leader and follows a move too. It has its
    // own client, so only its own NOT_LEADER answers can teach it about the move.
    let parts = [TopicPartition::new("t", 0), TopicPartition::new("t", 1)];
    let consumer_client = Client::connect(fast_config(&fake.addrs[0])).expect("connect");
    let mut c = consumer_client
        .consumer(
            ConsumerConfig::manual()
                .assign(&parts)
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 30 && start.elapsed() < Duration::from_secs(10) {
        got.extend(c.poll(Duration::from_millis(100)).expect("poll"));
    }
    assert_eq!(got.len(), 30);
    // Settle the consumer client's view so that only a NOT_LEADER can change it.
    consumer_client.refresh_metadata(&["t"]).expect("metadata");
    let seen = fake.seen();
    assert_eq!(fetch_nodes(&seen, "t/0")[0], (2, 0));
    assert_eq!(fetch_nodes(&seen, "t/1")[0], (2, 0));
    fake.clear_seen();
    fake.set_leader("t", 1, 0);
    let hs = send(1, 5, "d");
    producer.flush().expect("flush");
    for h in &hs {
        assert_eq!(h.wait().expect("delivered").partition, 1);
    }
    let mut more = Vec::new();
    let start = Instant::now();
    while more.len() < 5 && start.elapsed() < Duration::from_secs(10) {
        more.extend(c.poll(Duration::from_millis(100)).expect("poll"));
    }
    assert_eq!(more.len(), 5);
    assert!(more.iter().all(|r| r.value_str().starts_with('d')));
    let f1 = fetch_nodes(&fake.seen(), "t/1");
    assert!(
        f1.contains(&(2, 6)) && f1.last() == Some(&(0, 0)),
        "{f1:?} {:?}",
        fake.seen()
    );
}

#[test]
fn sasl_scram_and_plain_against_a_fake_broker() {
    let fake = FakeCluster::start(1);
    fake.set_leader("s", 0, 0);
    fake.require_sasl("SCRAM-SHA-256", "ana", "pw");
    let client =
        Client::connect(fast_config(&fake.addrs[0]).sasl_scram("ana", "pw")).expect("scram");
    let p = client
        .producer(ProducerConfig::default())
        .expect("producer");
    p.send(Record::new("s").value("hi"))
        .expect("send")
        .wait()
        .expect("delivered");
    let err = Client::connect(fast_config(&fake.addrs[0]).sasl_scram("ana", "nope"))
        .err()
        .expect("bad password");
    assert!(matches!(err, client::Error::Auth { .. }), "{err}");

    let fake = FakeCluster::start(1);
    fake.require_sasl("PLAIN", "bob", "secret");
    Client::connect(fast_config(&fake.addrs[0]).sasl_plain("bob", "secret")).expect("plain");
    let err = Client::connect(fast_config(&fake.addrs[0]).sasl_plain("bob", "x"))
        .err()
        .expect("bad password");
    assert!(matches!(err, client::Error::Auth { .. }), "{err}");
    // Without credentials the broker drops the connection: a connection error, no panic.
    let err = Client::connect(fast_config(&fake.addrs[0]))
        .err()
        .expect("anonymous");
    assert!(matches!(err, client::Error::Connection { .. }), "{err}");
}

/// A one-connection server that answers ApiVersions properly (when `good_versions`) and
/// every other request with `reply(correlation id, original frame)`.
fn scripted(good_versions: bool, reply: fn(i32, &[u8]) -> Vec<u8>) -> String {
    use std::io::Write;
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for mut conn in l.incoming().flatten() {
            std::thread::spawn(move || loop {
                let Ok(frame) = common::read_frame(&mut conn) else {
                    return;
                };
                let key = i16::from_be_bytes([frame[0], frame[1]]);
                let id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                let out = if key == 18 && good_versions {
                    let mut r = kafka_protocol::messages::ApiVersionsResponse::default();
                    for (k, hi) in [(3i16, 12i16), (0, 9), (1, 12), (2, 7)] {
                        let mut v =
                            kafka_protocol::messages::api_versions_response::ApiVersion::default();
                        v.api_key = k;
                        v.max_version = hi;
                        r.api_keys.push(v);
                    }
                    wire::header::response(id, ApiKey::ApiVersions, 3, &r)
                        .expect("encode")
                        .to_vec()
                } else {
                    reply(id, &frame)
                };
                if conn.write_all(&out).is_err() {
                    return;
                }
            });
        }
    });
    addr
}

#[test]
fn bad_and_truncated_responses_are_typed_errors() {
    // ApiVersions answered with two stray bytes.
    let a = scripted(false, |id, _| common::raw::response(id, &[0, 0]));
    let e = Client::connect(fast_config(&a)).err().expect("error");
    assert!(matches!(e, client::Error::BadResponse { .. }), "{e}");
    // An absurd frame length.
    let b = scripted(false, |_, _| vec![0x7f, 0xff, 0xff, 0xff, 0, 0]);
    let e = Client::connect(fast_config(&b)).err().expect("error");
    assert!(
        matches!(
            e,
            client::Error::Connection { .. } | client::Error::Timeout(_)
        ),
        "{e}"
    );
    // A Metadata response cut short, and one full of noise.
    let c = scripted(true, |id, _| {
        let mut body = vec![0u8; 4]; // throttle
        body.extend_from_slice(&5i32.to_be_bytes()); // 5 brokers... then nothing
        common::raw::response(id, &body)
    });
    let e = Client::connect(fast_config(&c)).err().expect("error");
    assert!(matches!(e, client::Error::BadResponse { .. }), "{e}");
    let d = scripted(true, |id, frame| {
        let mut v = (((frame.len() * 7) % 300 + 4) as u32)
            .to_be_bytes()
            .to_vec();
        v.extend_from_slice(&id.to_be_bytes());
        let mut x = frame.len() as u32 | 1;
        for _ in 0..(frame.len() * 7) % 300 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.push(x as u8);
        }
        v
    });
    match Client::connect(fast_config(&d)) {
        Ok(_) => {}
        Err(e) => assert!(
            matches!(
                e,
                client::Error::BadResponse { .. } | client::Error::Connection { .. }
            ),
            "{e}"
        ),
    }
}
