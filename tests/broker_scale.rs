//! Scale behaviour of the real server: a held Fetch is woken only by the partitions it
//! reads (appends to another topic leave it waiting until max_wait; an append to its own
//! topic answers it at once), and a server started with a low soft open-file limit raises
//! it to fit `max_connections` and says so in one INFO line; a request pipelined behind a
//! held Fetch on the same connection ends the fetch's wait; held fetches one after another
//! on one connection each answer at their own max_wait (the connection's one timer moves
//! for each); a client that pipelines more big fetches than the server queues and reads
//! them late gets every answer, in order; the listening socket's backlog holds a whole
//! class connecting at once.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::raw::{fetch_answer, fetch_answer_with, fetch_request, fetch_request_with};

const T: Duration = Duration::from_secs(60);

fn produce(addr: &str, topic: &str, lines: &[u8]) {
    ok(
        kcat(&["-b", addr, "-P", "-t", topic, "-p", "0"], Some(lines), T),
        "produce",
    );
}

#[test]
fn held_fetch_is_woken_by_its_own_topic_only() {
    let s = TestServer::start(&[]);
    produce(&s.addr, "scale-a", b"a0\n");
    produce(&s.addr, "scale-b", b"b0\n");
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");

    // Held at A's end for 3 s while B grows: it answers only at max_wait, with nothing.
    let started = Instant::now();
    c.write_all(&fetch_request("scale-a", 1, 3000))
        .expect("send fetch");
    for _ in 0..3 {
        produce(&s.addr, "scale-b", b"b1\nb2\n");
    }
    let (code, bytes) = fetch_answer(&mut c);
    assert_eq!(
        (code, bytes),
        (0, 0),
        "B's appends must not answer A's fetch"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "returned before max_wait: {:?}",
        started.elapsed()
    );

    // Held at A's end for up to 30 s: an append to A answers it with A's record, long
    // before max_wait.
    let started = Instant::now();
    c.write_all(&fetch_request("scale-a", 1, 30_000))
        .expect("send fetch");
    produce(&s.addr, "scale-a", b"a1\n");
    let (code, bytes) = fetch_answer(&mut c);
    assert_eq!(code, 0);
    assert!(bytes > 0, "A's append was not returned");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "A's append did not wake the fetch (took {:?})",
        started.elapsed()
    );
}

/// A request pipelined behind a held fetch on the same connection is not kept waiting
/// for the fetch's max_wait: the fetch answers (empty) at once, then the request behind it,
/// in order. On a broker that holds the fetch, both would take the full 30 s.
#[test]
fn a_request_behind_a_held_fetch_ends_the_wait() {
    let s = TestServer::start(&[]);
    produce(&s.addr, "scale-c", b"c0\n");
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");
    let started = Instant::now();
    c.write_all(&fetch_request("scale-c", 1, 30_000))
        .expect("send fetch");
    // Let the fetch start waiting, then pipeline a second one behind it.
    std::thread::sleep(Duration::from_millis(200));
    c.write_all(&fetch_request("scale-c", 0, 30_000))
        .expect("send second fetch");
    let (code, bytes) = fetch_answer(&mut c);
    assert_eq!((code, bytes), (0, 0), "the held fetch answers empty");
    let (code, bytes) = fetch_answer(&mut c);
    assert_eq!(code, 0);
    assert!(
        bytes > 0,
        "the request behind it is answered with its record"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the request behind the held fetch waited for its max_wait ({:?})",
        started.elapsed()
    );
}

/// Sends a fetch of `topic` at `offset` waiting up to `max_wait_ms` and returns its answer
/// (error code, bytes) and how long it took; `meanwhile` runs after the send.
fn held_fetch(
    c: &mut TcpStream,
    topic: &'static str,
    offset: i64,
    max_wait_ms: i32,
    meanwhile: impl FnOnce(),
) -> ((i16, usize), Duration) {
    let started = Instant::now();
    c.write_all(&fetch_request(topic, offset, max_wait_ms))
        .expect("send fetch");
    meanwhile();
    let answer = fetch_answer(c);
    (answer, started.elapsed())
}

/// Held fetches one after another on one connection each answer at their own max_wait:
/// the connection's one timer for them moves earlier for a shorter wait, and when it
/// fires for an earlier fetch's deadline it moves on to the one now held, without
/// answering it early. A timer left where it was answers too late (or never).
#[test]
fn held_fetches_one_after_another_answer_at_their_own_max_wait() {
    let s = TestServer::start(&[]);
    produce(&s.addr, "scale-w", b"w0\n");
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");
    let ms = Duration::from_millis;

    // A long wait, answered by data: the timer stays at its deadline, 5 s on.
    let (answer, took) = held_fetch(&mut c, "scale-w", 1, 5000, || {
        produce(&s.addr, "scale-w", b"w1\n")
    });
    assert!(answer.1 > 0 && took < ms(4500), "{answer:?} after {took:?}");
    // A shorter one: the timer moves earlier.
    let (answer, took) = held_fetch(&mut c, "scale-w", 2, 500, || {});
    assert_eq!(answer, (0, 0));
    assert!(
        took >= ms(450) && took < ms(3000),
        "a 500 ms wait answered after {took:?}"
    );
    // A longer one after the timer fired.
    let (answer, took) = held_fetch(&mut c, "scale-w", 2, 1500, || {});
    assert_eq!(answer, (0, 0));
    assert!(
        took >= ms(1450) && took < ms(4500),
        "a 1.5 s wait answered after {took:?}"
    );
    // A short wait answered by data leaves the timer at its deadline; the longer wait
    // after it sees the timer fire early, and still answers at its own deadline.
    let (answer, took) = held_fetch(&mut c, "scale-w", 2, 2000, || {
        produce(&s.addr, "scale-w", b"w2\n")
    });
    assert!(answer.1 > 0 && took < ms(2000), "{answer:?} after {took:?}");
    let (answer, took) = held_fetch(&mut c, "scale-w", 3, 3500, || {});
    assert_eq!(answer, (0, 0));
    assert!(
        took >= ms(3450) && took < ms(6500),
        "a 3.5 s wait answered after {took:?}"
    );
}

/// A client pipelines more fetches of a big record than the server queues for one
/// connection, reads nothing for a while (the socket fills, the server stops reading),
/// then reads: every answer arrives, whole, in request order. A client that hangs up
/// with answers unread leaves the server serving others.
#[test]
fn a_slow_reader_gets_every_pipelined_answer_in_order() {
    let s = TestServer::start(&[]);
    let big = vec![b'x'; 400_000];
    let mut line = big.clone();
    line.push(b'\n');
    produce(&s.addr, "scale-big", &line);
    const FETCHES: i32 = 300;
    let pipelined: Vec<u8> = (0..FETCHES)
        .flat_map(|id| fetch_request_with("scale-big", 0, 0, id))
        .collect();

    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");
    c.write_all(&pipelined).expect("send fetches");
    std::thread::sleep(Duration::from_secs(1));
    for want in 0..FETCHES {
        let (id, code, bytes) = fetch_answer_with(&mut c);
        assert_eq!(
            (id, code),
            (want, 0),
            "answer {want} out of order or failed"
        );
        assert!(bytes > big.len(), "answer {want} holds {bytes} bytes");
    }

    // Hanging up with every answer unread harms no one else.
    let mut rude = TcpStream::connect(&s.addr).expect("connect");
    rude.write_all(&pipelined).expect("send fetches");
    std::thread::sleep(Duration::from_millis(300));
    drop(rude);
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");
    c.write_all(&fetch_request("scale-big", 0, 0))
        .expect("send fetch");
    let (code, bytes) = fetch_answer(&mut c);
    assert!(code == 0 && bytes > big.len(), "({code}, {bytes})");
}

/// The server's resident memory in KB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// A client that pipelines hundreds of fetches of a big record and never reads cannot make
/// the server hold their answers: it computes answers only as fast as the socket takes
/// them (a few at a time), so its memory stays flat while the client's queue is full, and
/// other clients are served meanwhile. Holding every queued answer would cost the server
/// 256 x 900 KB.
#[test]
fn a_client_that_never_reads_cannot_make_the_server_hold_its_answers() {
    let s = TestServer::start(&[]);
    let mut line = vec![b'y'; 900_000];
    line.push(b'\n');
    produce(&s.addr, "scale-hoard", &line);
    let pid = s.pid().expect("server pid");
    let before = rss_kb(pid);
    let pipelined: Vec<u8> = (0..400)
        .flat_map(|id| fetch_request_with("scale-hoard", 0, 0, id))
        .collect();
    let mut hoarders = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(&s.addr).expect("connect");
        c.write_all(&pipelined).expect("send fetches");
        hoarders.push(c);
    }
    std::thread::sleep(Duration::from_secs(2));
    let grown = rss_kb(pid).saturating_sub(before);
    assert!(
        grown < 100_000,
        "the server grew by {grown} KB holding answers nobody reads"
    );
    // Someone else is served meanwhile.
    let mut c = TcpStream::connect(&s.addr).expect("connect");
    c.set_read_timeout(Some(T)).expect("timeout");
    c.write_all(&fetch_request("scale-hoard", 0, 0))
        .expect("send fetch");
    let (code, bytes) = fetch_answer(&mut c);
    assert!(code == 0 && bytes > 900_000, "({code}, {bytes})");
    drop(hoarders);
}

fn hard_nofile_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .maximum
        .unwrap_or(u64::MAX)
}

/// The soft "Max open files" of process `pid`.
fn soft_limit_of(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn a_low_soft_open_file_limit_is_raised_at_start() {
    let hard = hard_nofile_limit();
    assert!(
        hard > 512,
        "the test needs a hard open-file limit above 512"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    // prlimit(1) sets the limits and then executes the server in the same process.
    let mut cmd = Command::new("prlimit");
    cmd.arg("--nofile=512:")
        .arg(env!("CARGO_BIN_EXE_bbs-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn prlimit bbs-server (util-linux)");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let deadline = Instant::now() + T;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let ready = line.contains("bbs-server ready");
                log.push(line);
                if ready {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    let soft_now = soft_limit_of(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let text = log.join("\n");
    let raised = log
        .iter()
        .find(|l| l.contains("raised the open-file limit"))
        .unwrap_or_else(|| panic!("no INFO line about the open-file limit; log:\n{text}"));
    assert!(raised.contains("INFO"), "{raised}");
    assert!(raised.contains("old=512"), "{raised}");
    let expected = (16384 + 1024).min(hard);
    assert!(
        raised.contains(&format!("new={expected}")),
        "{raised} (expected new={expected})"
    );
    assert_eq!(soft_now, Some(expected), "the process's soft limit");
}

/// The listening socket's backlog (what `ss` shows as Send-Q for a listener) fits a class
/// of thousands starting together: the runtime's default of 1024 let a 5,000-consumer
/// start drop SYNs until some clients gave up ("connection timed out").
#[test]
fn the_listen_backlog_holds_a_class_connecting_at_once() {
    let s = TestServer::start(&[]);
    let port = s.addr.rsplit(':').next().expect("port");
    let out = Command::new("ss")
        .args(["-ltnH", &format!("sport = :{port}")])
        .output()
        .expect("ss (iproute2) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let backlog: u32 = text
        .split_whitespace()
        .nth(2)
        .and_then(|q| q.parse().ok())
        .unwrap_or_else(|| panic!("no listener on {port} in ss output: {text:?}"));
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(4096);
    assert_eq!(backlog, somaxconn.min(4096), "listen backlog");
    assert!(backlog > 1024, "the default backlog: {backlog}");
}
