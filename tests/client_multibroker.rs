//! broker::client against a scripted fake cluster of three brokers (tests/fake_cluster):
//! requests go to each partition's leader, a leadership move answered with
//! NOT_LEADER_OR_FOLLOWER makes the client refresh metadata and resend to the new leader, and
//! SASL PLAIN / SCRAM-SHA-256 authenticate (or fail with a typed error).
mod fake_cluster;
use std::time::{Duration, Instant};

use broker::client::*;
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
    assert!(matches!(err, broker::Error::Auth(_)), "{err}");

    let fake = FakeCluster::start(1);
    fake.require_sasl("PLAIN", "bob", "secret");
    Client::connect(fast_config(&fake.addrs[0]).sasl_plain("bob", "secret")).expect("plain");
    let err = Client::connect(fast_config(&fake.addrs[0]).sasl_plain("bob", "x"))
        .err()
        .expect("bad password");
    assert!(matches!(err, broker::Error::Auth(_)), "{err}");
    // Without credentials the broker drops the connection: a connection error, no panic.
    let err = Client::connect(fast_config(&fake.addrs[0]))
        .err()
        .expect("anonymous");
    assert!(matches!(err, broker::Error::Connection { .. }), "{err}");
}
