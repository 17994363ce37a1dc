//! Throughput of client against our broker (the release server binary), side by
//! side with kcat (librdkafka) against the same broker in the same run.
//!
//! Run: `cargo bench --bench client_bench` (BENCH_RECORDS=n to change the default of
//! 1,000,000 records of 100 bytes). Both producers use acks=all; ours is also idempotent
//! (its default). Both consumers read the same topic from the beginning.
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use client::*;
use common::TestServer;

const VALUE: usize = 100;

fn rate(what: &str, n: usize, d: Duration) -> f64 {
    let secs = d.as_secs_f64();
    let rps = n as f64 / secs;
    println!(
        "{what:<34} {n:>9} records in {secs:>7.3} s = {:>10.0} rec/s {:>7.1} MB/s",
        rps,
        rps * VALUE as f64 / 1e6
    );
    rps
}

fn kcat_produce(addr: &str, topic: &str, file: &std::path::Path, n: usize) -> Duration {
    let start = Instant::now();
    let out = Command::new("kcat")
        .args(["-P", "-b", addr, "-t", topic, "-X", "acks=all", "-l"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run kcat");
    let d = start.elapsed();
    assert!(
        out.status.success(),
        "kcat -P: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = n;
    d
}

fn kcat_consume(addr: &str, topic: &str, n: usize, extra: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new("kcat")
        .args(extra)
        .args([
            "-C",
            "-b",
            addr,
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-c",
        ])
        .arg(n.to_string())
        .args(["-f", "%s\n"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run kcat");
    let d = start.elapsed();
    assert!(
        out.status.success(),
        "kcat -C: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), n * (VALUE + 1), "kcat read everything");
    d
}

fn main() {
    let n: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let server = TestServer::start(&[]);
    let client = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    client
        .admin()
        .create_topics(&[
            NewTopic::new("bench-ours", 1),
            NewTopic::new("bench-kcat", 1),
        ])
        .expect("create topics");
    println!(
        "broker: {} (release build), {n} records of {VALUE} bytes, 1 partition",
        server.addr
    );

    // kcat produce.
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("input");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).expect("file"));
        let line = vec![b'x'; VALUE];
        for _ in 0..n {
            f.write_all(&line).expect("write");
            f.write_all(b"\n").expect("write");
        }
    }
    let kp = rate(
        "kcat produce (acks=all)",
        n,
        kcat_produce(&server.addr, "bench-kcat", &file, n),
    );

    // Our produce.
    let producer = client
        .producer(ProducerConfig::default())
        .expect("producer");
    let value = bytes::Bytes::from(vec![b'y'; VALUE]);
    let start = Instant::now();
    let mut last = None;
    for _ in 0..n {
        last = Some(
            producer
                .send(Record::new("bench-ours").value(value.clone()))
                .expect("send"),
        );
    }
    producer.flush().expect("flush");
    let d = start.elapsed();
    if let Some(h) = last {
        assert_eq!(h.wait().expect("delivered").offset, n as i64 - 1);
    }
    let op = rate("client produce (acks=all, idem)", n, d);
    producer.close().expect("close");

    // Consume the same topic with both.
    let kc = rate(
        "kcat consume (defaults)",
        n,
        kcat_consume(&server.addr, "bench-ours", n, &[]),
    );
    // The same fetch sizes as ours (50 MB per fetch, 4 MB per partition).
    let kc2 = rate(
        "kcat consume (our fetch sizes)",
        n,
        kcat_consume(
            &server.addr,
            "bench-ours",
            n,
            &[
                "-X",
                "fetch.max.bytes=52428800",
                "-X",
                "fetch.message.max.bytes=4194304",
            ],
        ),
    );
    let mut consumer = client
        .consumer(
            ConsumerConfig::manual()
                .assign(&[TopicPartition::new("bench-ours", 0)])
                .offset_reset(OffsetReset::Earliest)
                .max_poll_records(10_000),
        )
        .expect("consumer");
    let start = Instant::now();
    let mut got = 0usize;
    let mut bytes = 0usize;
    while got < n {
        for r in consumer.poll(Duration::from_secs(5)).expect("poll") {
            bytes += r.value.as_ref().map_or(0, |v| v.len());
            got += 1;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "consumer stalled at {got}"
        );
    }
    assert_eq!(bytes, n * VALUE);
    let oc = rate("client consume", n, start.elapsed());
    println!(
        "ours/kcat: produce {:.2}x (goal >= 0.80), consume {:.2}x (goal >= 1.00; {:.2}x with equal fetch sizes)",
        op / kp,
        oc / kc,
        oc / kc2
    );
}
