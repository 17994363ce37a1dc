//! The transcript scenarios of `bbs/tests/transcripts/*.txt` (same file format as the
//! in-process test `bbs/tests/transcripts.rs`) run against the REAL server binary through
//! real front ends: each scripted user is a `bbs-client --line --server ADDR` process, or
//! a TCP connection to the server's classic port, or (mixed) some of each. The server is
//! restarted (SIGTERM, same data directory) between scenario files, so boards, posts, ids,
//! mail and subscriptions must survive it. Notifications must arrive within one second.
//! The classic port is opened with `--classic-listen 127.0.0.1:0` (the mixed run: with
//! `classic_listen` in the config file's `[bbs]` table) and found in the server's log.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;

const PROMPT: &str = "% ";
const WAIT: Duration = Duration::from_secs(15);
const NOTICE_WAIT: Duration = Duration::from_secs(1);

/// How a scripted user reaches the BBS.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Line,
    Classic,
}

/// Bytes read so far and whether the stream ended.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    eof: bool,
}

/// One scripted user's connection: input writer, output collected by a reader thread.
struct Conn {
    input: Box<dyn Write + Send>,
    out: Arc<(Mutex<Buf>, Condvar)>,
    child: Option<Child>,
}

impl Conn {
    fn open(via: Via, server: &TestServer) -> Conn {
        let out = Arc::new((Mutex::new(Buf::default()), Condvar::new()));
        let (input, reader, child): (Box<dyn Write + Send>, Box<dyn Read + Send>, _) = match via {
            Via::Line => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
                    .args(["--line", "--server", &server.addr])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn bbs-client");
                let stdin = child.stdin.take().expect("stdin");
                let stdout = child.stdout.take().expect("stdout");
                (Box::new(stdin), Box::new(stdout), Some(child))
            }
            Via::Classic => {
                let addr = server.log_value("classic");
                let s = TcpStream::connect(&addr).expect("connect to the classic port");
                let r = s.try_clone().expect("clone");
                (Box::new(s), Box::new(r), None)
            }
        };
        let o = out.clone();
        std::thread::spawn(move || {
            let mut reader = reader;
            let mut chunk = [0u8; 4096];
            loop {
                let n = reader.read(&mut chunk).unwrap_or(0);
                let (lock, cond) = &*o;
                let mut b = lock.lock().expect("lock");
                if n == 0 {
                    b.eof = true;
                    cond.notify_all();
                    return;
                }
                b.data.extend_from_slice(&chunk[..n]);
                cond.notify_all();
            }
        });
        Conn { input, out, child }
    }

    fn send(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .expect("send a line");
        self.input.flush().expect("flush");
    }

    /// Waits until `done` holds for the buffered text, then takes the text.
    fn take_when(&self, wait: Duration, done: impl Fn(&str, bool) -> bool) -> Option<String> {
        let deadline = Instant::now() + wait;
        let (lock, cond) = &*self.out;
        let mut b = lock.lock().expect("lock");
        loop {
            let text = String::from_utf8_lossy(&b.data).to_string();
            if done(&text, b.eof) {
                b.data.clear();
                return Some(text);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            b = cond.wait_timeout(b, deadline - now).expect("wait").0;
        }
    }

    fn pending(&self) -> String {
        String::from_utf8_lossy(&self.out.0.lock().expect("lock").data).to_string()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[path = "../bbs/tests/support/script.rs"]
mod script;
use script::{normalise, parse_script, Step};

fn banner() -> String {
    let stars = "*".repeat(32);
    format!("{stars}\n** Welcome to the BBS server. **\n{stars}\n{PROMPT}")
}

/// Which transport a user gets: all the same, or alternating by the user's first letter.
fn via_for(user: &str, mode: &str) -> Via {
    match mode {
        "line" => Via::Line,
        "classic" => Via::Classic,
        _ => {
            if user.bytes().next().unwrap_or(0).is_multiple_of(2) {
                Via::Classic
            } else {
                Via::Line
            }
        }
    }
}

fn ensure<'a>(
    conns: &'a mut BTreeMap<String, Conn>,
    server: &TestServer,
    user: &str,
    mode: &str,
) -> &'a mut Conn {
    conns.entry(user.to_string()).or_insert_with(|| {
        let c = Conn::open(via_for(user, mode), server);
        let got = c
            .take_when(WAIT, |t, eof| t.len() >= banner().len() || eof)
            .expect("greeting");
        assert_eq!(got, banner(), "greeting of {user}");
        c
    })
}

/// The reply to a command: everything up to the next prompt, as lines.
fn reply(c: &Conn, what: &str) -> Vec<String> {
    let text = c
        .take_when(WAIT, |t, eof| t.ends_with(PROMPT) || eof)
        .unwrap_or_else(|| panic!("{what}: no reply; pending {:?}", c.pending()));
    let body = text
        .strip_suffix(PROMPT)
        .unwrap_or_else(|| panic!("{what}: reply without prompt: {text:?}"));
    body.lines().map(str::to_string).collect()
}

fn finish(c: Conn, what: &str) {
    let printed = c
        .take_when(WAIT, |_, eof| eof)
        .unwrap_or_else(|| panic!("{what}: the session did not end after exit"));
    assert!(printed.is_empty(), "{what}: exit printed {printed:?}");
}

fn run_file(server: &TestServer, name: &str, text: &str, mode: &str) {
    let mut conns: BTreeMap<String, Conn> = BTreeMap::new();
    for step in parse_script(text) {
        match step {
            Step::Command {
                user,
                line,
                expect,
                at,
            } => {
                let what = format!("[{mode}] {name}:{at}: {user}> {line}");
                let c = ensure(&mut conns, server, &user, mode);
                c.send(&line);
                if line.trim() == "exit" {
                    let c = conns.remove(&user).expect("conn");
                    assert!(expect.is_empty(), "{what}: exit has no output");
                    finish(c, &what);
                    continue;
                }
                let got: Vec<String> = reply(c, &what).iter().map(|l| normalise(l)).collect();
                let want: Vec<String> = expect.iter().map(|l| normalise(l)).collect();
                assert_eq!(got, want, "{what}");
            }
            Step::Notice { user, line, at } => {
                let what = format!("[{mode}] {name}:{at}: {user}! {line}");
                let c = ensure(&mut conns, server, &user, mode);
                let want = format!("\n{line}\n{PROMPT}");
                let got = c.take_when(NOTICE_WAIT, |t, eof| t.len() >= want.len() || eof);
                assert_eq!(
                    got.as_deref(),
                    Some(want.as_str()),
                    "{what}: pending {:?}",
                    c.pending()
                );
            }
        }
    }
    for (user, mut c) in std::mem::take(&mut conns) {
        let what = format!("[{mode}] {name}: sync {user}");
        c.send("");
        assert!(reply(&c, &what).is_empty(), "{what}: unexpected output");
        c.send("exit");
        finish(c, &what);
    }
}

fn scenarios(mode: &str) {
    let dir = common::repo().join("bbs/tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("transcripts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "scenario files missing");
    // The mixed run opens the classic port from the config file's `[bbs]` table.
    let conf = tempfile::tempdir().expect("tempdir");
    let conf_path = conf.path().join("bbs-server.toml");
    std::fs::write(&conf_path, "[bbs]\nclassic_listen = \"127.0.0.1:0\"\n").expect("config");
    let conf_arg = conf_path.to_string_lossy().to_string();
    let args: Vec<&str> = if mode == "mixed" {
        vec!["--config", &conf_arg]
    } else {
        vec!["--classic-listen", "127.0.0.1:0"]
    };
    let mut server = TestServer::start(&args);
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            // Restart between scenario files: everything must come back from the log.
            let port = server.port();
            assert_eq!(server.terminate(), Some(0), "clean shutdown");
            server.spawn(Some(port));
        }
        let text = std::fs::read_to_string(f).expect("read scenario");
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        let started = Instant::now();
        run_file(&server, &name, &text, mode);
        eprintln!("[{mode}] {name}: {:?}", started.elapsed());
    }
}

#[test]
fn transcripts_through_line_clients() {
    scenarios("line");
}

#[test]
fn transcripts_through_the_classic_port() {
    scenarios("classic");
}

#[test]
fn transcripts_mixed_line_and_classic() {
    scenarios("mixed");
}
