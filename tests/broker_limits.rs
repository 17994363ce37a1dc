//! Bad input and limits on the real server: an oversized frame, a malformed body, garbage
//! bytes and an unknown API key each close only their own connection (with a log line) while
//! another connection keeps working; connections beyond `max_connections` are refused;
//! idle connections close after `idle_timeout_secs`; SIGTERM finishes in-flight requests and
//! exits 0; and a full disk (a small tmpfs as data directory; needs root) makes produce fail
//! with KAFKA_STORAGE_ERROR, keeps the server and its log consistent, and produce works
//! again once space is freed.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, FetchResponse, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

const T: Duration = Duration::from_secs(60);

/// A config file in its own temp dir (kept alive by the returned guard).
fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bbs-server.toml");
    std::fs::write(&path, text).expect("write config");
    let p = path.to_str().expect("utf-8").to_string();
    (dir, p)
}

fn request<T: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &T) -> Vec<u8> {
    raw::encode_with(key, version, correlation_id, Some("limits-test"), body)
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// One ApiVersions round trip on `s`; true when the answer came back.
fn api_versions_on(s: &mut TcpStream, correlation_id: i32) -> bool {
    let req = request(
        ApiKey::ApiVersions,
        0,
        correlation_id,
        &ApiVersionsRequest::default(),
    );
    if s.write_all(&req).is_err() {
        return false;
    }
    match read_frame(s) {
        Ok(body) => body.len() >= 4 && body[..4] == correlation_id.to_be_bytes(),
        Err(_) => false,
    }
}

/// A fresh connection answers ApiVersions.
fn works(addr: &str) -> bool {
    let mut s = connect(addr);
    api_versions_on(&mut s, 77)
}

/// True once the server has closed `s` (EOF or reset), false if it is still open after
/// `within`.
fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Sends `bytes` on a fresh connection while a second connection stays open; the first must
/// be closed by the server, the second must keep working, and the log must say why.
fn closes_only_that_connection(s: &TestServer, bytes: &[u8], log_says: &str) {
    let mut other = connect(&s.addr);
    assert!(
        api_versions_on(&mut other, 1),
        "the other connection works first"
    );
    let mut bad = connect(&s.addr);
    bad.write_all(bytes).expect("send");
    assert!(
        closed_within(&mut bad, Duration::from_secs(5)),
        "server kept the connection open after: {log_says}"
    );
    assert!(
        api_versions_on(&mut other, 2),
        "the other connection broke after: {log_says}"
    );
    assert!(works(&s.addr), "new connections fail after: {log_says}");
    eventually(
        &format!("'{log_says}' in the log"),
        Duration::from_secs(5),
        || s.log_text().contains(log_says),
    );
}

#[test]
fn bad_frames_close_only_their_connection() {
    let (_dir, cfg) = config("[broker]\nmax_request_bytes = 4096\n");
    let s = TestServer::start(&["--config", &cfg]);
    // A frame announcing 1 MiB against a 4 KiB limit.
    closes_only_that_connection(&s, &(1u32 << 20).to_be_bytes(), "exceeds the limit");
    // A Metadata v9 request whose body is garbage.
    let mut frame = request(
        ApiKey::Metadata,
        9,
        5,
        &kafka_protocol::messages::MetadataRequest::default(),
    );
    frame.truncate(frame.len() - 3);
    frame.extend_from_slice(&[0xff; 40]);
    raw::refix_len(&mut frame);
    closes_only_that_connection(&s, &frame, "malformed request");
    // An HTTP request: its first four bytes read as a huge frame size.
    closes_only_that_connection(&s, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad frame");
    // A small frame of garbage that is too short for a header.
    closes_only_that_connection(&s, &[0, 0, 0, 3, 1, 2, 3], "too short for a header");
    // An unknown API key (999).
    let unknown = raw::request(999, 0, 9, None, &[]);
    closes_only_that_connection(&s, &unknown, "unsupported API or version");
    // A negative frame size.
    closes_only_that_connection(&s, &(-5i32).to_be_bytes(), "negative frame size");
}

/// A request whose array count is huge (2^31 - 1 topics in a 20-byte Produce body). The
/// kafka-protocol crate (0.18) preallocates `count` elements before reading any, so this
/// used to abort the whole server ("memory allocation of 47113401168 bytes failed"), found by
/// fuzzing the handlers with damaged bodies.
#[test]
fn huge_array_counts_close_only_that_connection() {
    let s = TestServer::start(&[]);
    for (key, version, body) in [
        // Produce v3: transactional id null, acks -1, timeout 1000, topic count 2^31-1.
        (
            0i16,
            3i16,
            vec![
                0xff, 0xff, 0xff, 0xff, 0, 0, 0x03, 0xe8, 0x7f, 0xff, 0xff, 0xff,
            ],
        ),
        // Metadata v4: topic count 2^31-1.
        (3, 4, vec![0x7f, 0xff, 0xff, 0xff, 0x01]),
    ] {
        let frame = raw::request(key, version, 7, None, &body); // null client id
        closes_only_that_connection(&s, &frame, "malformed request");
    }
}

#[test]
fn connections_beyond_the_limit_are_refused() {
    let (_dir, cfg) = config("[broker]\nmax_connections = 4\n");
    let s = TestServer::start(&["--config", &cfg]);
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect(&s.addr)).collect();
    for (i, c) in held.iter_mut().enumerate() {
        assert!(
            api_versions_on(c, i as i32),
            "connection {i} within the limit"
        );
    }
    for i in 0..6 {
        let mut extra = connect(&s.addr);
        assert!(
            closed_within(&mut extra, Duration::from_secs(5)),
            "extra connection {i} was not refused"
        );
    }
    assert!(s.wait_for_log("too many connections", Duration::from_secs(5)));
    // The held ones still work, and freeing one makes room for a new one.
    for (i, c) in held.iter_mut().enumerate() {
        assert!(api_versions_on(c, 10 + i as i32), "held connection {i}");
    }
    drop(held.pop());
    eventually("a slot freed after a close", Duration::from_secs(5), || {
        api_versions_on(&mut connect(&s.addr), 99)
    });
}

#[test]
fn idle_connections_are_closed() {
    let (_dir, cfg) = config("[broker]\nidle_timeout_secs = 1\n");
    let s = TestServer::start(&["--config", &cfg]);
    let mut c = connect(&s.addr);
    assert!(api_versions_on(&mut c, 1));
    let start = Instant::now();
    assert!(
        closed_within(&mut c, Duration::from_secs(6)),
        "idle connection still open"
    );
    let idle = start.elapsed();
    assert!(
        idle >= Duration::from_millis(900),
        "closed too early: {idle:?}"
    );
    assert!(s.wait_for_log("closing idle connection", Duration::from_secs(5)));
    assert!(works(&s.addr));
}

/// A connection that keeps sending is not idle, however long it lives: the idle timeout
/// counts from its last bytes (the server's timer for it fires at the first deadline and
/// moves on), while a silent one beside it is closed.
#[test]
fn a_busy_connection_outlives_the_idle_timeout() {
    let (_dir, cfg) = config("[broker]\nidle_timeout_secs = 1\n");
    let s = TestServer::start(&["--config", &cfg]);
    let mut busy = connect(&s.addr);
    let mut silent = connect(&s.addr);
    assert!(api_versions_on(&mut silent, 1));
    let start = Instant::now();
    let mut id = 1;
    while start.elapsed() < Duration::from_millis(3500) {
        assert!(
            api_versions_on(&mut busy, id),
            "a busy connection was closed after {:?}",
            start.elapsed()
        );
        id += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        closed_within(&mut silent, Duration::from_secs(1)),
        "the silent connection is still open"
    );
}

#[test]
fn sigterm_finishes_in_flight_requests_and_exits_zero() {
    let mut s = TestServer::start(&[]);
    ok(
        kcat(
            &["-b", &s.addr, "-P", "-t", "term", "-p", "0"],
            Some(b"one\n"),
            T,
        ),
        "produce",
    );
    // A Fetch long poll at the end of the log, waiting up to 2 s for data.
    let mut fetch = FetchRequest::default();
    fetch.replica_id = kafka_protocol::messages::BrokerId(-1);
    fetch.max_wait_ms = 2000;
    fetch.min_bytes = 1;
    fetch.max_bytes = 1 << 20;
    let mut ft = FetchTopic::default();
    ft.topic = TopicName(StrBytes::from_static_str("term"));
    let mut fp = FetchPartition::default();
    fp.partition = 0;
    fp.fetch_offset = 1;
    fp.partition_max_bytes = 1 << 20;
    ft.partitions = vec![fp];
    fetch.topics = vec![ft];
    let mut c = connect(&s.addr);
    c.write_all(&request(ApiKey::Fetch, 4, 42, &fetch))
        .expect("send fetch");
    // Make sure the server is holding the request (the long poll) before the signal.
    std::thread::sleep(Duration::from_millis(300));
    let pid_exit = std::thread::spawn(move || {
        let code = s.terminate();
        (code, s)
    });
    let body = read_frame(&mut c).expect("the in-flight fetch was answered");
    let (header, resp): (_, FetchResponse) =
        wire::header::decode_response(bytes::Bytes::from(body), ApiKey::Fetch, 4)
            .expect("fetch response");
    assert_eq!(header.correlation_id, 42);
    assert_eq!(resp.responses[0].partitions[0].error_code, 0);
    let (code, s) = pid_exit.join().expect("terminate");
    assert_eq!(code, Some(0), "exit status; log:\n{}", s.log_text());
    assert!(
        s.wait_for_log("SIGTERM received", Duration::from_secs(5)),
        "{}",
        s.log_text()
    );
    assert!(
        s.wait_for_log("shutdown complete", Duration::from_secs(5)),
        "{}",
        s.log_text()
    );
    assert!(TcpStream::connect(&s.addr).is_err(), "still accepting");
}

/// A tmpfs mounted for the test, unmounted on drop.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(dir: &Path, size: &str) -> Mount {
    std::fs::create_dir_all(dir).expect("mkdir");
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output();
    match out {
        Ok(o) if o.status.success() => Mount(dir.to_path_buf()),
        Ok(o) => panic!(
            "the full-disk test needs root and permission to mount a tmpfs (it gives the server \
             a {size} file system to fill); `mount -t tmpfs` failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("the full-disk test needs the `mount` command: {e}"),
    }
}

#[test]
fn full_disk_gives_storage_error_and_recovers_when_space_returns() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mnt = tmp.path().join("small-fs");
    let _mount = mount_tmpfs(&mnt, "4m");
    let data = mnt.join("data");
    // The test deletes a topic anonymously, which the default rules forbid: allow it here.
    let cfg = tmp.path().join("server.toml");
    std::fs::write(
        &cfg,
        "[[auth.acl]]\nprincipal = \"anonymous\"\noperations = [\"delete\"]\nresource = \"topic:ballast\"\nallow = true\n",
    )
    .expect("config");
    let cfg = cfg.to_string_lossy().to_string();
    let mut s = TestServer::start_with_data(&data, &["--config", &cfg]);
    // Ballast: ~1.2 MB in another topic, deleted later to free space.
    let ballast: String = (0..1200)
        .map(|i| format!("{i:05}{}\n", "b".repeat(1000)))
        .collect();
    ok(
        kcat(
            &["-b", &s.addr, "-P", "-t", "ballast", "-p", "0"],
            Some(ballast.as_bytes()),
            T,
        ),
        "ballast",
    );
    let out = ok(
        python("fill_disk.py", &[&s.addr, "fill"], T),
        "fill the disk until KAFKA_STORAGE_ERROR",
    );
    let acked: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("acked "))
        .and_then(|n| n.trim().parse().ok())
        .expect("acked count");
    assert!(acked > 100, "disk filled too early: {out}");
    // The server lives and its log is consistent: exactly the acknowledged values.
    ok(
        kcat(&["-b", &s.addr, "-L"], None, T),
        "metadata on a full disk",
    );
    let read = |s: &TestServer| {
        ok(
            kcat(
                &[
                    "-b",
                    &s.addr,
                    "-C",
                    "-t",
                    "fill",
                    "-p",
                    "0",
                    "-o",
                    "beginning",
                    "-e",
                    "-f",
                    "%o %s\n",
                ],
                None,
                T,
            ),
            "read back",
        )
    };
    let values: Vec<String> = read(&s)
        .lines()
        .map(|l| l.chars().take_while(|c| *c != 'x').collect())
        .collect();
    let want: Vec<String> = (0..acked).map(|i| format!("{i} v{i}")).collect();
    assert_eq!(values, want, "log after the disk filled");
    // Free space by deleting the ballast topic; produce works again.
    ok(
        python("delete_topic.py", &[&s.addr, "ballast"], T),
        "delete ballast on a full disk",
    );
    ok(
        kcat(
            &[
                "-b", &s.addr, "-P", "-t", "fill", "-p", "0", "-X", "acks=all",
            ],
            Some(b"after-space-returned\n"),
            T,
        ),
        "produce after freeing space",
    );
    let after = read(&s);
    assert_eq!(
        after.lines().last(),
        Some(format!("{acked} after-space-returned").as_str()),
        "{after}"
    );
    s.kill9();
    let report = ok(server_cmd(&["check"], &data), "bbs-server check");
    assert!(report.contains(" 0 problems"), "{report}");
}

/// KIP-482: a receiver skips tagged fields it does not know. A Fetch v12 carrying tag 1
/// (ReplicaState, defined from v15) is answered, not dropped: kafka-protocol's generated
/// decoder used to fail the whole request on a tag of a later version (and our client,
/// the same way, failed every Tansu fetch response; see tests/client_replay.rs).
#[test]
fn tags_of_later_versions_are_skipped_not_fatal() {
    let s = TestServer::start(&[]);
    let mut c = connect(&s.addr);
    let mut fetch = FetchRequest::default();
    fetch.max_wait_ms = 0;
    let mut frame = request(ApiKey::Fetch, 12, 77, &fetch);
    // The body ends with the top-level tagged-field count (0); kafka-protocol's encoder will
    // not write a known tag at the wrong version, so write it by hand: 1 field, tag 1,
    // 13 bytes (a ReplicaState: replica id, epoch, and its own empty tag section).
    assert_eq!(frame.pop(), Some(0));
    frame.extend_from_slice(&[1, 1, 13, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    raw::refix_len(&mut frame);
    c.write_all(&frame).expect("send");
    let frame = read_frame(&mut c).unwrap_or_else(|e| {
        let log = std::fs::read_to_string(&s.log).unwrap_or_default();
        panic!("the server did not answer the fetch ({e}); its log:\n{log}")
    });
    let (header, resp): (_, FetchResponse) =
        wire::header::decode_response(bytes::Bytes::from(frame), ApiKey::Fetch, 12)
            .expect("fetch response");
    assert_eq!(header.correlation_id, 77);
    assert_eq!(resp.error_code, 0);
    assert!(api_versions_on(&mut c, 78), "the connection stays usable");
}
