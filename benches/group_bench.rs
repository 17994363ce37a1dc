//! Consumer-group benchmark against the real (release) server binary. Reports:
//! 1. failover: time from SIGKILL of one confluent-kafka member to the survivor receiving
//!    the first record of a moved partition (6 s session timeout, 1 s heartbeats);
//! 2. clean leave: broker-side rebalance time (LeaveGroup sent → survivor rejoined and
//!    synced, with a survivor that reacts at once), and the same seen by a real client;
//! 3. idle cost: 1,000 one-member groups heartbeating every 3 s: server RSS and CPU %
//!    (from /proc) over a 30 s window.
//!
//! Run: `cargo bench --bench group_bench` (needs the peer clients of scripts/test-deps.sh).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

const SESSION_MS: i32 = 6000;

fn s(x: &str) -> StrBytes {
    StrBytes::from_string(x.to_string())
}

/// A blocking Kafka connection speaking raw requests.
struct Conn {
    stream: TcpStream,
    corr: i32,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn { stream, corr: 0 }
    }

    fn call<Q: Encodable, R: Decodable>(&mut self, key: ApiKey, version: i16, req: &Q) -> R {
        self.corr += 1;
        let buf = wire::header::request(key, version, self.corr, Some("group-bench"), req)
            .expect("encode");
        self.stream.write_all(&buf).expect("send");
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).expect("read length");
        let n = wire::frame::body_len(len, 64 << 20).expect("frame length");
        let mut frame = vec![0u8; n];
        self.stream.read_exact(&mut frame).expect("read frame");
        let (_, resp) =
            wire::header::decode_response(Bytes::from(frame), key, version).expect("response");
        resp
    }
}

/// A raw group member: id and generation after join + sync.
struct Raw {
    group: String,
    member: String,
    generation: i32,
}

impl Raw {
    fn join_and_sync(c: &mut Conn, group: &str, member: &str) -> Raw {
        let mut p = JoinGroupRequestProtocol::default();
        p.name = s("range");
        p.metadata = Bytes::from_static(b"\0\0\0\0\0\x01\0\x05topic\0\0\0\0");
        let mut j = JoinGroupRequest::default();
        j.group_id = GroupId(s(group));
        j.session_timeout_ms = SESSION_MS.max(10_000);
        j.rebalance_timeout_ms = 10_000;
        j.member_id = s(member);
        j.protocol_type = s("consumer");
        j.protocols = vec![p];
        let r: JoinGroupResponse = c.call(ApiKey::JoinGroup, 5, &j);
        assert_eq!(r.error_code, 0, "join {group}");
        let me = r.member_id.to_string();
        let mut sy = SyncGroupRequest::default();
        sy.group_id = GroupId(s(group));
        sy.generation_id = r.generation_id;
        sy.member_id = s(&me);
        if r.leader == r.member_id {
            sy.assignments = r
                .members
                .iter()
                .map(|m| {
                    let mut a = SyncGroupRequestAssignment::default();
                    a.member_id = m.member_id.clone();
                    a.assignment = Bytes::from_static(b"\0\0\0\0\0\0\0\0\0\0");
                    a
                })
                .collect();
        }
        let sr: SyncGroupResponse = c.call(ApiKey::SyncGroup, 3, &sy);
        assert_eq!(sr.error_code, 0, "sync {group}");
        Raw {
            group: group.into(),
            member: me,
            generation: r.generation_id,
        }
    }

    fn heartbeat(&self, c: &mut Conn) -> i16 {
        let mut h = HeartbeatRequest::default();
        h.group_id = GroupId(s(&self.group));
        h.generation_id = self.generation;
        h.member_id = s(&self.member);
        let r: HeartbeatResponse = c.call(ApiKey::Heartbeat, 3, &h);
        r.error_code
    }

    fn leave(&self, c: &mut Conn) {
        let mut l = LeaveGroupRequest::default();
        l.group_id = GroupId(s(&self.group));
        l.member_id = s(&self.member);
        let r: LeaveGroupResponse = c.call(ApiKey::LeaveGroup, 1, &l);
        assert_eq!(r.error_code, 0);
    }
}

struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("c.toml");
        std::fs::write(&cfg, "[broker]\ndefault_partitions = 4\n").expect("cfg");
        let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "warn,bbs_server=info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn server");
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(rest) = l.split("listen=").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server started");
        Server {
            child,
            addr,
            _dir: dir,
        }
    }

    /// (resident set in KiB, CPU ticks used so far).
    fn usage(&self) -> (u64, u64) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        let ticks = fields
            .get(11)
            .and_then(|x| x.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        (rss, ticks)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn produce(addr: &str, topic: &str, tag: &str, n: usize) {
    for p in 0..4 {
        let input: String = (0..n).map(|i| format!("{tag}-p{p}-{i}\n")).collect();
        let mut c = Command::new("kcat")
            .args(["-b", addr, "-P", "-t", topic, "-p", &p.to_string()])
            .stdin(Stdio::piped())
            .spawn()
            .expect("kcat");
        c.stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        assert!(c.wait().expect("kcat").success());
    }
}

/// A confluent-kafka member (tests/interop/group_member_ck.py) and its output lines.
struct CkMember {
    child: Child,
    rx: mpsc::Receiver<(Instant, String)>,
    assigned: BTreeSet<i32>,
}

impl CkMember {
    fn start(addr: &str, group: &str, topic: &str) -> CkMember {
        let home = std::env::var_os("BBS_TEST_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/bbs-test")
            });
        let mut child = Command::new(home.join("venv/bin/python"))
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/group_member_ck.py"))
            .args([addr, group, topic, &SESSION_MS.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send((Instant::now(), l));
            }
        });
        CkMember {
            child,
            rx,
            assigned: BTreeSet::new(),
        }
    }

    /// Waits for a line matching `want` (updating the assignment); returns its time.
    fn wait(&mut self, timeout: Duration, want: impl Fn(&str, &BTreeSet<i32>) -> bool) -> Instant {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (t, line) = self.rx.recv_timeout(left).expect("member output in time");
            if let Some(rest) = line.strip_prefix("assigned") {
                self.assigned = rest
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect();
            }
            if want(&line, &self.assigned) {
                return t;
            }
        }
    }
}

impl Drop for CkMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn failover_and_real_client_leave(server: &Server) {
    let addr = &server.addr;
    let topic = "bench-failover";
    produce(addr, topic, "warm", 1);
    let mut a = CkMember::start(addr, "fo", topic);
    a.wait(Duration::from_secs(30), |_, asg| asg.len() == 4);
    let mut b = CkMember::start(addr, "fo", topic);
    b.wait(Duration::from_secs(30), |_, asg| asg.len() == 2);
    a.wait(Duration::from_secs(30), |_, asg| asg.len() == 2);
    let moved: BTreeSet<i32> = a.assigned.clone();
    std::thread::sleep(Duration::from_secs(1));
    let _ = a.child.kill();
    let _ = a.child.wait();
    let killed = Instant::now();
    produce(addr, topic, "after", 1);
    let t = b.wait(Duration::from_secs(30), |line, _| {
        moved
            .iter()
            .any(|p| line.starts_with(&format!("rec {p} ")) && line.contains("after-"))
    });
    println!(
        "failover: SIGKILL -> survivor's first record of a moved partition: {:.2} s (session 6 s, heartbeat 1 s)",
        t.duration_since(killed).as_secs_f64()
    );

    let mut c = CkMember::start(addr, "fo", topic);
    c.wait(Duration::from_secs(30), |_, asg| asg.len() == 2);
    b.wait(Duration::from_secs(30), |_, asg| asg.len() == 2);
    std::thread::sleep(Duration::from_secs(1));
    let _ = Command::new("kill")
        .args(["-TERM", &c.child.id().to_string()])
        .status();
    let left = Instant::now();
    let t = b.wait(Duration::from_secs(30), |_, asg| asg.len() == 4);
    println!(
        "clean leave, real client (confluent-kafka, heartbeat 1 s): survivor owns all partitions after {:.0} ms",
        t.duration_since(left).as_secs_f64() * 1000.0
    );
}

fn raw_clean_leave(server: &Server) {
    let mut times = Vec::new();
    for i in 0..20 {
        let group = format!("leave-{i}");
        let mut ca = Conn::open(&server.addr);
        let mut cb = Conn::open(&server.addr);
        let a = Raw::join_and_sync(&mut ca, &group, "");
        // B joins: A must rejoin for the rebalance to finish; do both from two threads.
        let addr = server.addr.clone();
        let g2 = group.clone();
        let bt = std::thread::spawn(move || {
            let b = Raw::join_and_sync(&mut cb, &g2, "");
            (b, cb)
        });
        while a.heartbeat(&mut ca) == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let a = Raw::join_and_sync(&mut ca, &group, &a.member);
        let (b, mut cb) = bt.join().expect("B");
        let _ = addr;
        let start = Instant::now();
        a.leave(&mut ca);
        assert_eq!(b.heartbeat(&mut cb), 27, "B is told to rejoin");
        let b2 = Raw::join_and_sync(&mut cb, &group, &b.member);
        times.push(start.elapsed());
        assert_eq!(b2.generation, b.generation + 1);
    }
    times.sort();
    println!(
        "clean leave, broker side (LeaveGroup -> survivor rejoined and synced): median {:.2} ms, max {:.2} ms over {} runs",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
        times.len()
    );
}

fn thousand_groups(server: &Server) {
    let (rss0, _) = server.usage();
    let threads = 10;
    let per = 100;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let mut handles = Vec::new();
    for t in 0..threads {
        let addr = server.addr.clone();
        let stop = std::sync::Arc::clone(&stop);
        let ready = ready_tx.clone();
        handles.push(std::thread::spawn(move || {
            let mut c = Conn::open(&addr);
            let members: Vec<Raw> = (0..per)
                .map(|i| Raw::join_and_sync(&mut c, &format!("idle-{t}-{i}"), ""))
                .collect();
            let _ = ready.send(());
            let mut errors = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let round = Instant::now();
                for m in &members {
                    if m.heartbeat(&mut c) != 0 {
                        errors += 1;
                    }
                }
                let rest = Duration::from_secs(3).saturating_sub(round.elapsed());
                let until = Instant::now() + rest;
                while Instant::now() < until && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
            errors
        }));
    }
    for _ in 0..threads {
        ready_rx.recv().expect("groups ready");
    }
    std::thread::sleep(Duration::from_secs(3));
    let (rss1, ticks0) = server.usage();
    let window = Duration::from_secs(30);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let (rss2, ticks1) = server.usage();
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let errors: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let hz = 100.0; // USER_HZ on Linux
    let cpu = (ticks1 - ticks0) as f64 / hz / secs * 100.0;
    println!(
        "1,000 one-member groups, heartbeat every 3 s: server CPU {cpu:.2} % of one core over {secs:.0} s; RSS {} MiB before, {} MiB with the groups ({} MiB at the end); heartbeat errors {errors}",
        rss0 / 1024,
        rss1 / 1024,
        rss2 / 1024
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let server = Server::start();
    println!("group_bench against {}", env!("CARGO_BIN_EXE_bbs-server"));
    raw_clean_leave(&server);
    thousand_groups(&server);
    failover_and_real_client_leave(&server);
}
