//! The classic port over real TCP with the in-memory backend: the banner and prompt, a
//! command round trip, a live notification between two connections, and bounded costs
//! (session limit, idle timeout, a 1 MB line, binary garbage, a client that vanishes).

#[allow(dead_code)]
#[path = "../../tests/common/eventually.rs"]
mod eventually;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bbs::backend::memory::MemoryBackend;
use bbs::line::classic::{self, ClassicConfig};

fn start(config: ClassicConfig) -> classic::ClassicHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    classic::spawn(listener, Arc::new(MemoryBackend::new()), config).expect("spawn")
}

struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: std::net::SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        Client { stream, reader }
    }
    /// Reads until the output ends with the prompt; returns it without the prompt.
    fn until_prompt(&mut self) -> String {
        let mut out = Vec::new();
        let mut byte = [0u8; 1];
        while !out.ends_with(b"% ") {
            match self.reader.read(&mut byte) {
                Ok(1) => out.push(byte[0]),
                other => panic!(
                    "read ended ({other:?}) after {:?}",
                    String::from_utf8_lossy(&out)
                ),
            }
        }
        out.truncate(out.len() - 2);
        String::from_utf8(out).expect("utf8")
    }
    fn cmd(&mut self, line: &str) -> String {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
        self.until_prompt()
    }
}

#[test]
fn banner_commands_and_live_notification() {
    let h = start(ClassicConfig::default());
    let mut a = Client::connect(h.addr);
    let banner = a.until_prompt();
    assert_eq!(
        banner,
        "********************************\n** Welcome to the BBS server. **\n********************************\n"
    );
    assert_eq!(
        a.cmd("register ana ana@x.edu pw"),
        "Register successfully.\n"
    );
    assert_eq!(a.cmd("login ana pw"), "Welcome, ana.\n");
    assert_eq!(a.cmd("create-board NP"), "Create board successfully.\n");

    let mut b = Client::connect(h.addr);
    b.until_prompt();
    assert_eq!(
        b.cmd("register bob bob@x.edu pw"),
        "Register successfully.\n"
    );
    assert_eq!(b.cmd("login bob pw"), "Welcome, bob.\n");
    assert_eq!(
        b.cmd("subscribe --board NP --keyword hw"),
        "Subscribe successfully.\n"
    );
    // Bob has typed half a command when ana posts.
    b.stream.write_all(b"whoa").expect("partial");
    // Ordering, not an assertion: let the server read the partial line before the post.
    std::thread::sleep(Duration::from_millis(200));
    let posted = Instant::now();
    assert_eq!(
        a.cmd("create-post NP --title hw1 due --content see<br>you"),
        "Create post successfully.\n"
    );
    let mut line = String::new();
    b.reader
        .read_line(&mut line)
        .expect("blank line before notice");
    assert_eq!(line, "\n");
    line.clear();
    b.reader.read_line(&mut line).expect("notice");
    assert_eq!(line, "*[NP] hw1 due - by ana*\n");
    assert!(posted.elapsed() < Duration::from_secs(1));
    // The prompt and the partial input are printed again; finishing the line works.
    let mut again = [0u8; 6];
    b.reader.read_exact(&mut again).expect("prompt again");
    assert_eq!(&again, b"% whoa");
    assert_eq!(b.cmd("mi"), "bob\n");
    a.stream.write_all(b"exit\n").expect("exit");
    let mut rest = String::new();
    a.reader
        .read_to_string(&mut rest)
        .expect("closed after exit");
    assert_eq!(rest, "");
}

#[test]
fn limits_bound_what_a_client_costs() {
    let mut h = start(ClassicConfig {
        max_sessions: 2,
        idle_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_secs(5),
        ..ClassicConfig::default()
    });
    let mut a = Client::connect(h.addr);
    a.until_prompt();
    // A 1 MB line is refused without growing the session; garbage is an unknown command.
    let big = vec![b'x'; 1 << 20];
    a.stream.write_all(&big).expect("big");
    assert_eq!(a.cmd(""), "Line too long.\n");
    let garbage = a.cmd("\u{1}\u{7f}\u{fffd}zz");
    assert!(garbage.starts_with("Unknown command"), "{garbage:?}");
    let mut b = Client::connect(h.addr);
    b.until_prompt();
    // A third session is refused while two are open.
    let mut c = TcpStream::connect(h.addr).expect("connect");
    let mut refused = String::new();
    c.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    c.read_to_string(&mut refused).expect("refusal");
    assert!(refused.contains("Too many sessions"), "{refused:?}");
    // A client that vanishes mid-command frees its slot; idle sessions are closed.
    b.stream.write_all(b"login bo").expect("half");
    drop(b);
    eventually::eventually(
        "idle and vanished sessions closed",
        Duration::from_secs(5),
        || h.sessions.load(Ordering::SeqCst) == 0,
    );
    assert_eq!(
        h.sessions.load(Ordering::SeqCst),
        0,
        "idle and vanished sessions must be closed"
    );
    let mut rest = Vec::new();
    let _ = a.reader.read_to_end(&mut rest);
    h.stop();
}
