//! Broker benchmark (`cargo bench --bench broker_bench`; Cargo builds the release
//! `bbs-server` it runs). Reports, in one run on this machine's disk:
//! - durable produce: 1,000,000 records of 100 bytes through kcat (acks=all, default
//!   `flush = "always"`: acknowledged only after fsync, fsyncs grouped), records/s and MB/s;
//! - consume: the same records read back with kcat, records/s and MB/s;
//! - fsyncs: total, per second, and against the number of produce requests (from the
//!   server's `shutdown complete fsyncs=N produce_requests=M` log line);
//! - the disk's own limits: raw sequential write speed (std, 256 MiB, then fsync) and fsync
//!   latency (4 KiB write + fsync, median of 200).
//!
//! Needs kcat on PATH. Set `BENCH_RECORDS` to change the record count.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RECORD_BYTES: usize = 100;

fn start_server(data: &Path, log: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start bbs-server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let log = log.to_path_buf();
    std::thread::spawn(move || {
        let mut out = std::fs::File::create(&log).expect("server log");
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(out, "{line}");
            if !sent {
                if let Some(rest) = line.split("listen=").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    (child, addr)
}

fn kcat(args: &[&str]) -> Command {
    let mut c = Command::new("kcat");
    c.args(args);
    c
}

fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
}

/// SIGTERM, wait, and read `fsyncs` and `produce_requests` from the shutdown log line.
fn stop_and_count(mut server: Child, log: &Path) -> (u64, u64) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let exit = server.wait().expect("server exit");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("shutdown complete")) {
            return (
                field(line, "fsyncs").expect("fsyncs"),
                field(line, "produce_requests").expect("produce_requests"),
            );
        }
        assert!(
            Instant::now() < deadline,
            "no shutdown line (exit {exit:?}):\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn disk_limits(dir: &Path) -> (f64, Duration, Duration) {
    let path = dir.join("raw-write-test");
    let chunk = vec![0x5au8; 1 << 20];
    let total = 256usize;
    let start = Instant::now();
    {
        let mut f = std::fs::File::create(&path).expect("raw file");
        for _ in 0..total {
            f.write_all(&chunk).expect("raw write");
        }
        f.sync_all().expect("raw fsync");
    }
    let mbps = total as f64 / start.elapsed().as_secs_f64();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("raw file");
    let mut lat: Vec<Duration> = (0..200)
        .map(|_| {
            f.write_all(&chunk[..4096]).expect("write");
            let t = Instant::now();
            f.sync_data().expect("fsync");
            t.elapsed()
        })
        .collect();
    lat.sort();
    let _ = std::fs::remove_file(&path);
    (mbps, lat[lat.len() / 2], lat[lat.len() * 99 / 100])
}

fn main() {
    let records: usize = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // On the project's disk (target/), not a RAM-backed /tmp.
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-broker");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).expect("bench dir");
    let data = base.join("data");
    let input = base.join("input.txt");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&input).expect("input"));
        for i in 0..records {
            let head = format!("record {i:09} ");
            let pad = "x".repeat(RECORD_BYTES - head.len());
            writeln!(w, "{head}{pad}").expect("write input");
        }
    }
    let mb = (records * RECORD_BYTES) as f64 / 1e6;
    let log = base.join("server.log");
    let (server, addr) = start_server(&data, &log);

    // Produce.
    let start = Instant::now();
    let status = kcat(&[
        "-b",
        &addr,
        "-P",
        "-t",
        "bench",
        "-p",
        "0",
        "-X",
        "acks=all",
        "-X",
        "queue.buffering.max.messages=2000000",
        "-X",
        "linger.ms=5",
    ])
    .stdin(std::fs::File::open(&input).expect("input"))
    .status()
    .expect("kcat produce");
    let produce_time = start.elapsed();
    assert!(status.success(), "kcat produce failed");

    // Consume.
    let start = Instant::now();
    let count = records.to_string();
    let mut consumer = kcat(&[
        "-b",
        &addr,
        "-C",
        "-t",
        "bench",
        "-p",
        "0",
        "-o",
        "beginning",
        "-c",
        &count,
        "-q",
        "-f",
        "%s\n",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .expect("kcat consume");
    let mut got = 0usize;
    let mut bytes = 0usize;
    {
        let mut out = BufReader::with_capacity(1 << 20, consumer.stdout.take().expect("stdout"));
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = out.read(&mut buf).expect("read kcat");
            if n == 0 {
                break;
            }
            got += buf[..n].iter().filter(|b| **b == b'\n').count();
            bytes += n;
        }
    }
    let consume_time = start.elapsed();
    assert!(
        consumer.wait().expect("kcat").success(),
        "kcat consume failed"
    );
    assert_eq!(got, records, "consumed record count");
    assert_eq!(bytes, records * (RECORD_BYTES + 1), "consumed bytes");

    let (fsyncs, requests) = stop_and_count(server, &log);

    // Group commit with many small requests: 200,000 records in batches of at most 100
    // (linger 0), pipelined by librdkafka, on a fresh server.
    let small = records.min(200_000);
    let small_input = base.join("small.txt");
    {
        let text = std::fs::read_to_string(&input).expect("input");
        let cut: String = text.lines().take(small).map(|l| format!("{l}\n")).collect();
        std::fs::write(&small_input, cut).expect("small input");
    }
    let small_log = base.join("server-small.log");
    let (small_server, small_addr) = start_server(&base.join("data-small"), &small_log);
    let start = Instant::now();
    let status = kcat(&[
        "-b",
        &small_addr,
        "-P",
        "-t",
        "small",
        "-p",
        "0",
        "-X",
        "acks=all",
        "-X",
        "linger.ms=0",
        "-X",
        "batch.num.messages=100",
    ])
    .stdin(std::fs::File::open(&small_input).expect("input"))
    .status()
    .expect("kcat produce");
    let small_time = start.elapsed();
    assert!(status.success(), "kcat produce (small batches) failed");
    let (small_fsyncs, small_requests) = stop_and_count(small_server, &small_log);

    let (raw_mbps, fsync_median, fsync_p99) = disk_limits(&base);
    let _ = std::fs::remove_dir_all(&base);

    let p = produce_time.as_secs_f64();
    let c = consume_time.as_secs_f64();
    println!("broker_bench: {records} records of {RECORD_BYTES} bytes ({mb:.0} MB), kcat, acks=all, flush=always");
    println!(
        "produce:  {:>10.0} records/s  {:>7.1} MB/s  ({p:.2} s)",
        records as f64 / p,
        mb / p
    );
    println!(
        "consume:  {:>10.0} records/s  {:>7.1} MB/s  ({c:.2} s)",
        records as f64 / c,
        mb / c
    );
    println!(
        "fsyncs:   {fsyncs} total, {:.0}/s during produce; produce requests: {requests} ({:.2} requests per fsync)",
        fsyncs as f64 / p,
        requests as f64 / fsyncs.max(1) as f64
    );
    println!(
        "small requests: {small} records in batches of <= 100: {:.0} records/s, {small_requests} produce requests, {small_fsyncs} fsyncs ({:.1} requests per fsync)",
        small as f64 / small_time.as_secs_f64(),
        small_requests as f64 / small_fsyncs.max(1) as f64
    );
    println!(
        "disk:     raw sequential write {raw_mbps:.0} MB/s; fsync latency median {:?}, p99 {:?}",
        fsync_median, fsync_p99
    );
}
