//! Crash evidence: a confluent-kafka producer with acks=all (idempotent) writes increasing
//! integers continuously while the test kills the real server with SIGKILL at random
//! moments, 24 times, restarting it on the same port and data directory. After every restart
//! each value acknowledged before the kill is in the log; at the end the log holds every
//! acknowledged value exactly once and in order (strictly increasing), and
//! `bbs-server check` finds no bad batch.
//!
//! The kill moments come from a seeded generator. The test prints its seed at the start and
//! again when it fails; `BBS_CRASH_SEED=<n> cargo test --release --test broker_crash`
//! replays the same kill schedule (the producer's timing still varies from run to run).
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KILLS: usize = 24;
const T: Duration = Duration::from_secs(60);

/// A small xorshift generator: the test prints its seed so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The partition's high watermark, by ListOffsets(latest).
fn end_offset(addr: &str) -> usize {
    let out = ok(
        kcat(&["-b", addr, "-Q", "-t", "crash:0:-1"], None, T),
        "kcat -Q",
    );
    out.trim()
        .rsplit(' ')
        .next()
        .and_then(|o| o.parse().ok())
        .unwrap_or_else(|| panic!("unexpected kcat -Q output {out:?}"))
}

/// Every value in the topic up to its current end, in offset order (the producer keeps
/// writing, so reading "to the end" is reading a snapshot's count).
fn read_all(addr: &str) -> Vec<u64> {
    let count = end_offset(addr);
    if count == 0 {
        return Vec::new();
    }
    let c = count.to_string();
    let out = ok(
        kcat(
            &[
                "-b",
                addr,
                "-C",
                "-t",
                "crash",
                "-p",
                "0",
                "-o",
                "beginning",
                "-c",
                &c,
                "-f",
                "%o %s\n",
            ],
            None,
            T,
        ),
        "kcat read back",
    );
    let mut values = Vec::new();
    let mut expect_offset = None;
    for line in out.lines() {
        let (o, v) = line.split_once(' ').expect("offset and value");
        let o: i64 = o.parse().expect("offset");
        if let Some(e) = expect_offset {
            assert_eq!(o, e, "offsets are not dense");
        }
        expect_offset = Some(o + 1);
        values.push(v.parse().expect("integer value"));
    }
    assert_eq!(
        values.len(),
        count,
        "read fewer records than the end offset"
    );
    values
}

/// Every acknowledged value is present once, and all values strictly increase.
fn check_log(values: &[u64], acked: &[u64], when: &str) {
    for w in values.windows(2) {
        assert!(
            w[0] < w[1],
            "{when}: values not strictly increasing: {} then {}",
            w[0],
            w[1]
        );
    }
    let present: std::collections::HashSet<u64> = values.iter().copied().collect();
    let lost: Vec<_> = acked.iter().filter(|v| !present.contains(v)).collect();
    assert!(
        lost.is_empty(),
        "{when}: {} acknowledged values lost, first {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
}

/// The seed of the kill schedule: `BBS_CRASH_SEED` when set (to replay a failure), else
/// the clock. Never 0, which would stall the xorshift generator.
fn seed() -> u64 {
    let from_env = std::env::var("BBS_CRASH_SEED").ok().map(|v| {
        v.trim()
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("BBS_CRASH_SEED={v:?} is not a number: {e}"))
    });
    let seed = from_env.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    seed.max(1)
}

/// Prints the seed again when the test fails, next to the failure, so it can be passed back.
struct SeedOnFailure(u64);
impl Drop for SeedOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "crash test failed with seed {0}; replay with BBS_CRASH_SEED={0}",
                self.0
            );
        }
    }
}

#[test]
fn acknowledged_records_survive_repeated_sigkill() {
    let started = Instant::now();
    let seed = seed();
    eprintln!("crash test seed {seed} (replay with BBS_CRASH_SEED={seed})");
    let _report_seed = SeedOnFailure(seed);
    let mut rng = Rng(seed);
    let mut s = TestServer::start(&[]);
    ok(
        python("create_topic.py", &[&s.addr, "crash", "1"], T),
        "create topic",
    );
    let mut producer = Command::new(test_home().join("venv/bin/python"))
        .arg(repo().join("tests/interop/crash_producer.py"))
        .args([&s.addr, "crash", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start crash_producer.py");
    let acked = Arc::new(Mutex::new(Vec::<u64>::new()));
    let reader = {
        let acked = Arc::clone(&acked);
        let stdout = producer.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: u64 = line.trim().parse().expect("acknowledged value");
                acked.lock().expect("lock").push(v);
            }
        })
    };
    let wait_for_acks = |n: usize, what: &str| {
        let deadline = Instant::now() + T;
        while acked.lock().expect("lock").len() < n {
            assert!(Instant::now() < deadline, "no progress {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for_acks(100, "before the first kill");
    for round in 0..KILLS {
        std::thread::sleep(Duration::from_millis(50 + rng.next() % 700));
        s.kill9();
        let acked_before_kill = acked.lock().expect("lock").clone();
        if round % 6 == 5 {
            // Inspect the crashed log offline too.
            ok(
                server_cmd(&["check"], &s.data),
                "bbs-server check after a crash",
            );
        }
        s.spawn(Some(s.port()));
        let values = read_all(&s.addr);
        check_log(
            &values,
            &acked_before_kill,
            &format!("after kill {}", round + 1),
        );
        // The producer must make progress again before the next kill.
        wait_for_acks(acked_before_kill.len() + 50, "after a restart");
    }
    // Stop the producer (it flushes what is outstanding) and check the final log.
    drop(producer.stdin.take());
    let out = producer.wait_with_output().expect("producer exit");
    reader.join().expect("reader");
    assert!(
        out.status.success(),
        "producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked = acked.lock().expect("lock").clone();
    let values = read_all(&s.addr);
    check_log(&values, &acked, "at the end");
    // Acknowledgements come in order too.
    for w in acked.windows(2) {
        assert!(w[0] < w[1], "acks out of order: {} then {}", w[0], w[1]);
    }
    s.kill9();
    let report = ok(server_cmd(&["check"], &s.data), "final bbs-server check");
    assert!(report.contains("crash-0:"), "{report}");
    assert!(report.contains(" 0 problems"), "{report}");
    eprintln!(
        "{} kills, {} acknowledged, {} in log, {:?}",
        KILLS,
        acked.len(),
        values.len(),
        started.elapsed()
    );
}
