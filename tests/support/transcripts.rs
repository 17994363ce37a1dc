//! The transcript runner shared by the tests that replay `bbs/tests/transcripts/*.txt`
//! against real servers (tests/bbs_transcripts.rs: one server; tests/front_bbs.rs: two
//! front servers over one cluster): each scripted user is a `bbs-client --line` process
//! or a TCP connection to a classic port, on the server [`place`] picks for that user.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::TestServer;
use crate::script::{normalise, parse_script, Step};

pub(crate) const PROMPT: &str = "% ";
pub(crate) const WAIT: Duration = Duration::from_secs(15);
pub(crate) const NOTICE_WAIT: Duration = Duration::from_secs(1);

/// How a scripted user reaches the BBS.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Via {
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
pub(crate) struct Conn {
    input: Box<dyn Write + Send>,
    out: Arc<(Mutex<Buf>, Condvar)>,
    child: Option<Child>,
}

impl Conn {
    pub(crate) fn open(via: Via, server: &TestServer) -> Conn {
        Conn::open_with(via, server, &[])
    }

    /// Like [`Conn::open`], with extra `bbs-client` arguments for a line client.
    pub(crate) fn open_with(via: Via, server: &TestServer, extra: &[&str]) -> Conn {
        let out = Arc::new((Mutex::new(Buf::default()), Condvar::new()));
        let (input, reader, child): (Box<dyn Write + Send>, Box<dyn Read + Send>, _) = match via {
            Via::Line => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
                    .args(["--line", "--server", &server.addr])
                    .args(extra)
                    // Classic transcripts run in a fixed zone.
                    .env("TZ", "UTC")
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

    pub(crate) fn send(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .expect("send a line");
        self.input.flush().expect("flush");
    }

    /// Waits until `done` holds for the buffered text, then takes the text.
    pub(crate) fn take_when(
        &self,
        wait: Duration,
        done: impl Fn(&str, bool) -> bool,
    ) -> Option<String> {
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

    pub(crate) fn pending(&self) -> String {
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

pub(crate) fn banner() -> String {
    let stars = "*".repeat(32);
    format!("{stars}\n** Welcome to the BBS server. **\n{stars}\n{PROMPT}")
}

/// Where a user goes: `line` and `classic` put everyone on the first server through that
/// transport; `mixed` alternates the transport by the user's first letter; `fronts`
/// alternates the server by the first letter and the transport by the next bit, so each
/// server has users of both transports (alice: first, line; bob: second, classic; carol:
/// first, classic; dave: second, line).
pub(crate) fn place<'a>(
    servers: &[&'a TestServer],
    user: &str,
    mode: &str,
) -> (Via, &'a TestServer) {
    let b = user.bytes().next().unwrap_or(0);
    let alternate = |bit: bool| if bit { Via::Classic } else { Via::Line };
    match mode {
        "line" => (Via::Line, servers[0]),
        "classic" => (Via::Classic, servers[0]),
        "fronts" => (
            alternate(b / 2 % 2 == 1),
            servers[usize::from(b.is_multiple_of(2)) % servers.len()],
        ),
        _ => (alternate(b.is_multiple_of(2)), servers[0]),
    }
}

fn ensure<'a>(
    conns: &'a mut BTreeMap<String, Conn>,
    servers: &[&TestServer],
    user: &str,
    mode: &str,
) -> &'a mut Conn {
    conns.entry(user.to_string()).or_insert_with(|| {
        let (via, server) = place(servers, user, mode);
        let c = Conn::open(via, server);
        let got = c
            .take_when(WAIT, |t, eof| t.len() >= banner().len() || eof)
            .expect("greeting");
        assert_eq!(got, banner(), "greeting of {user}");
        c
    })
}

/// The reply to a command: everything up to the next prompt, as lines.
pub(crate) fn reply(c: &Conn, what: &str) -> Vec<String> {
    let text = c
        .take_when(WAIT, |t, eof| t.ends_with(PROMPT) || eof)
        .unwrap_or_else(|| panic!("{what}: no reply; pending {:?}", c.pending()));
    let body = text
        .strip_suffix(PROMPT)
        .unwrap_or_else(|| panic!("{what}: reply without prompt: {text:?}"));
    body.lines().map(str::to_string).collect()
}

pub(crate) fn finish(c: Conn, what: &str) {
    let printed = c
        .take_when(WAIT, |_, eof| eof)
        .unwrap_or_else(|| panic!("{what}: the session did not end after exit"));
    assert!(printed.is_empty(), "{what}: exit printed {printed:?}");
}

/// Runs one scenario file; every user's session ends (`exit`) at its end.
pub(crate) fn run_file(servers: &[&TestServer], name: &str, text: &str, mode: &str) {
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
                let c = ensure(&mut conns, servers, &user, mode);
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
                let c = ensure(&mut conns, servers, &user, mode);
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

/// The scenario files of `bbs/tests/transcripts/`, in order.
pub(crate) fn scenario_files() -> Vec<std::path::PathBuf> {
    let dir = crate::common::repo().join("bbs/tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("transcripts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "scenario files missing");
    files
}
