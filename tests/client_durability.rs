//! Kill -9 the server while our idempotent acks=all producer is sending; restart it; every
//! record the producer reported delivered is stored exactly once (and nothing is stored
//! twice).
mod common;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::*;
use common::*;

const TOTAL: usize = 6000;

#[test]
fn sigkill_while_producing_loses_and_duplicates_nothing_acknowledged() {
    let mut s = TestServer::start(&[]);
    let client = Client::connect(
        ClientConfig::new(&s.addr)
            .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
    .expect("connect");
    client
        .admin()
        .create_topics(&[NewTopic::new("dur", 3)])
        .expect("create");
    let producer = Arc::new(
        client
            .producer(
                ProducerConfig::default()
                    .linger(Duration::from_millis(2))
                    .delivery_timeout(Duration::from_secs(60)),
            )
            .expect("producer"),
    );
    let sent = Arc::new(AtomicUsize::new(0));
    let (p2, sent2) = (producer.clone(), sent.clone());
    let sender = thread::spawn(move || {
        let mut handles = Vec::with_capacity(TOTAL);
        for i in 0..TOTAL {
            let rec = Record::new("dur")
                .key(format!("k{}", i % 50))
                .value(format!("r{i}"));
            handles.push((i, p2.send(rec).expect("send")));
            sent2.store(i + 1, Ordering::SeqCst);
            if i % 100 == 99 {
                thread::sleep(Duration::from_millis(5));
            }
        }
        handles
    });
    eventually(
        "the producer to send a third of the records",
        Duration::from_secs(60),
        || sent.load(Ordering::SeqCst) >= TOTAL / 3,
    );
    // Down for a while: sends in flight fail, new ones queue and retry.
    let port = s.port();
    s.kill9();
    thread::sleep(Duration::from_millis(300));
    s.spawn(Some(port));
    let handles = sender.join().expect("sender thread");
    producer.flush().expect("flush");
    let mut delivered = Vec::new();
    let mut failed = 0;
    for (i, h) in &handles {
        match h.wait() {
            Ok(_) => delivered.push(*i),
            Err(e) => {
                failed += 1;
                eprintln!("record {i} not delivered: {e}");
            }
        }
    }
    assert!(
        delivered.len() > TOTAL / 2,
        "only {} delivered",
        delivered.len()
    );

    // Read everything back.
    let parts: Vec<_> = (0..3).map(|p| TopicPartition::new("dur", p)).collect();
    let mut c = client
        .consumer(
            ConsumerConfig::manual()
                .assign(&parts)
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let mut count: HashMap<String, usize> = HashMap::new();
    let mut stored = 0;
    let start = Instant::now();
    while stored < delivered.len() && start.elapsed() < Duration::from_secs(30) {
        for r in c.poll(Duration::from_millis(300)).expect("poll") {
            *count.entry(r.value_str().into_owned()).or_default() += 1;
            stored += 1;
        }
    }
    // Drain anything else (records stored but not acknowledged are allowed, once).
    loop {
        let more = c.poll(Duration::from_millis(500)).expect("poll");
        if more.is_empty() {
            break;
        }
        for r in more {
            *count.entry(r.value_str().into_owned()).or_default() += 1;
        }
    }
    for i in &delivered {
        assert_eq!(
            count.get(&format!("r{i}")),
            Some(&1),
            "record {i} stored {:?} times",
            count.get(&format!("r{i}"))
        );
    }
    let dups: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    eprintln!(
        "delivered {} of {TOTAL}, failed {failed}, stored {}, retried batches {}",
        delivered.len(),
        count.len(),
        producer.retries()
    );
    assert!(
        producer.retries() > 0,
        "the kill did not interrupt any send"
    );
    assert!(s.log_text().contains("listen="), "server restarted");
}
