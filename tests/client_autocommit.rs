//! Our consumer's auto-commit does not hold up `poll`: the server is reached through a
//! proxy (advertised in the metadata, so every connection goes through it) that holds each
//! OffsetCommit for a few seconds before passing it on. Records produced meanwhile must
//! still reach the polling application at once, the held commits must still land, and
//! closing the consumer must commit where it stopped.
mod common;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use client::*;
use common::*;

/// How long the proxy holds each OffsetCommit.
const HOLD: Duration = Duration::from_secs(3);
/// The OffsetCommit API key.
const OFFSET_COMMIT: i16 = 8;

/// Copies frames from `from` to `to`, sleeping `HOLD` before each OffsetCommit.
fn forward_requests(mut from: TcpStream, mut to: TcpStream, held: &AtomicUsize) {
    loop {
        let mut len = [0u8; 4];
        if from.read_exact(&mut len).is_err() {
            break;
        }
        let n = usize::try_from(i32::from_be_bytes(len)).unwrap_or(0);
        let mut body = vec![0u8; n];
        if from.read_exact(&mut body).is_err() {
            break;
        }
        if body.len() >= 2 && i16::from_be_bytes([body[0], body[1]]) == OFFSET_COMMIT {
            held.fetch_add(1, Ordering::SeqCst);
            thread::sleep(HOLD);
        }
        if to
            .write_all(&len)
            .and_then(|()| to.write_all(&body))
            .is_err()
        {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Accepts on `listener` and joins each connection to `upstream`.
fn proxy(listener: TcpListener, upstream: String, held: Arc<AtomicUsize>) {
    for down in listener.incoming().map_while(Result::ok) {
        let Ok(up) = TcpStream::connect(&upstream) else {
            continue;
        };
        let _ = (down.set_nodelay(true), up.set_nodelay(true));
        let (Ok(down2), Ok(mut up2)) = (down.try_clone(), up.try_clone()) else {
            continue;
        };
        let held = held.clone();
        thread::spawn(move || forward_requests(down, up, &held));
        thread::spawn(move || {
            let mut down2 = down2;
            let _ = std::io::copy(&mut up2, &mut down2);
            let _ = down2.shutdown(Shutdown::Write);
        });
    }
}

#[test]
fn poll_does_not_wait_for_an_auto_commit() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let front = listener.local_addr().expect("addr").to_string();
    let s = TestServer::start(&["--advertise", &front]);
    let held = Arc::new(AtomicUsize::new(0));
    {
        let (upstream, held) = (s.addr.clone(), held.clone());
        thread::spawn(move || proxy(listener, upstream, held));
    }
    let client = Client::connect(ClientConfig::new(&front)).expect("connect");
    client
        .admin()
        .create_topics(&[NewTopic::new("ac", 1)])
        .expect("create");
    // The producer has a client of its own: requests on one connection are answered in
    // order, so sends on the consumer's client would queue behind the held commit.
    let producer = Client::connect(ClientConfig::new(&front))
        .expect("connect")
        .producer(ProducerConfig::default())
        .expect("producer");
    let mut config = ConsumerConfig::group("ac-group")
        .subscribe(&["ac"])
        .offset_reset(OffsetReset::Earliest);
    config.auto_commit_interval = Duration::from_millis(200);
    let mut consumer = client.consumer(config).expect("consumer");
    // Joined and positioned before the clock starts.
    let start = Instant::now();
    while consumer.assignment().is_empty() && start.elapsed() < Duration::from_secs(20) {
        consumer.poll(Duration::from_millis(100)).expect("poll");
    }
    assert!(!consumer.assignment().is_empty(), "never assigned");

    // One record at a time, each waited for: a poll that waits for a held commit
    // delivers the record produced meanwhile seconds late.
    let mut worst = Duration::ZERO;
    let mut got = 0;
    // At least 40 records, and on until the proxy has held two commits (one in flight at a
    // time, 3 s each).
    let mut i = 0;
    while i < 40 || (held.load(Ordering::SeqCst) < 2 && i < 400) {
        i += 1;
        let sent = Instant::now();
        producer
            .send(Record::new("ac").value(format!("r{i}")))
            .expect("send");
        producer.flush().expect("flush");
        let mut this = 0;
        while this == 0 && sent.elapsed() < Duration::from_secs(10) {
            this = consumer
                .poll(Duration::from_millis(50))
                .expect("poll")
                .len();
        }
        assert_eq!(this, 1, "record {i} was not delivered");
        got += this;
        worst = worst.max(sent.elapsed());
        thread::sleep(Duration::from_millis(50));
    }
    let held_during = held.load(Ordering::SeqCst);
    assert!(
        held_during >= 2,
        "the proxy held {held_during} commits: auto-commit did not run during the test"
    );
    assert!(
        worst < HOLD / 2,
        "a record took {worst:?} to reach poll while commits were held {HOLD:?} each"
    );

    // Closing waits for the commit in flight, then commits where the consumer stopped.
    consumer.close().expect("close");
    let reader = client
        .consumer(ConsumerConfig::group("ac-group").subscribe(&["ac"]))
        .expect("reader");
    let committed = reader
        .committed(&[TopicPartition::new("ac", 0)])
        .expect("committed");
    assert_eq!(
        committed
            .get(&TopicPartition::new("ac", 0))
            .copied()
            .flatten(),
        Some(got as i64),
        "closing did not commit the last position"
    );
}
