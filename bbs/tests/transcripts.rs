//! Transcript tests: scripted sessions of several users run concurrently (one interpreter
//! thread each, sharing one in-memory backend) and are compared with the expected
//! transcripts in `tests/transcripts/*.txt`, after normalising dates. Files run in name
//! order on the same backend, so state carries from one file to the next.
//!
//! File format: `user> command` sends a line to that user's session (opened on first use,
//! banner checked) and the lines after it, up to the next directive, are its exact output.
//! `user! line` expects that notification to arrive in the user's session within a second.
//! `#` starts a comment; empty lines are ignored (a line of only a tab is output). Any notification a session receives that
//! the script does not expect fails the test (each session is synced at the end of a file
//! and then exits).

use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::line::driver::{run, Input, Sink, UnitKind};
use bbs::line::interp::{Interpreter, NoticeStyle};
use bbs::model::PostEvent;
use bbs::session::Session;
use bbs::time::Zone;

/// Forwards output units to the test.
struct ChannelSink(Sender<(UnitKind, String)>);

impl Sink for ChannelSink {
    fn emit(&mut self, kind: UnitKind, text: &str) -> std::io::Result<()> {
        let _ = self.0.send((kind, text.to_string()));
        Ok(())
    }
}

/// One scripted user's live session.
struct Client {
    input: Sender<Input>,
    output: Receiver<(UnitKind, String)>,
    thread: Option<JoinHandle<()>>,
}

impl Client {
    fn open(backend: &MemoryBackend) -> Client {
        let (tx, rx) = channel();
        let (out_tx, out_rx) = channel();
        let mut session = Session::new(backend.connect().expect("connect"));
        // Classic transcripts run in a fixed zone, whatever the machine's.
        session.set_zone(Zone::utc());
        let events = tx.clone();
        session.set_event_sink(Arc::new(move |ev: &PostEvent| {
            let _ = events.send(Input::Event(ev.clone()));
        }));
        let thread = std::thread::spawn(move || {
            let mut interp = Interpreter::new(session, NoticeStyle::Newline);
            run(&mut interp, &rx, &mut ChannelSink(out_tx)).expect("run");
        });
        Client {
            input: tx,
            output: out_rx,
            thread: Some(thread),
        }
    }

    fn next(&self, wait: Duration) -> Result<(UnitKind, String), RecvTimeoutError> {
        self.output.recv_timeout(wait)
    }
}

#[path = "support/script.rs"]
mod script;
use script::{normalise, parse_script, Step};

const PROMPT: &str = "% ";
const WAIT: Duration = Duration::from_secs(5);
const NOTICE_WAIT: Duration = Duration::from_secs(1);

fn banner() -> String {
    let stars = "*".repeat(32);
    format!("{stars}\n** Welcome to the BBS server. **\n{stars}\n{PROMPT}")
}

/// Runs one scenario file on `backend`.
fn run_file(backend: &MemoryBackend, name: &str, text: &str) {
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    for step in parse_script(text) {
        match step {
            Step::Command {
                user,
                line,
                expect,
                at,
            } => {
                let c = ensure(&mut clients, backend, &user);
                c.input
                    .send(Input::Data(format!("{line}\n").into_bytes()))
                    .expect("send");
                if line.trim() == "exit" {
                    let c = clients.remove(&user).expect("client");
                    finish(c, name, at, &expect);
                    continue;
                }
                let got = reply(c, name, at);
                let got: Vec<String> = got.iter().map(|l| normalise(l)).collect();
                let want: Vec<String> = expect.iter().map(|l| normalise(l)).collect();
                assert_eq!(got, want, "{name}:{at}: {user}> {line}");
            }
            Step::Notice { user, line, at } => {
                let c = ensure(&mut clients, backend, &user);
                match c.next(NOTICE_WAIT) {
                    Ok((UnitKind::Notice, text)) => {
                        assert_eq!(text, format!("\n{line}\n{PROMPT}"), "{name}:{at}")
                    }
                    other => {
                        panic!("{name}:{at}: {user} expected notification {line:?}, got {other:?}")
                    }
                }
            }
        }
    }
    // Sync every session (nothing unexpected may be pending), then exit.
    for (user, c) in std::mem::take(&mut clients) {
        c.input.send(Input::Data(b"\n".to_vec())).expect("send");
        let got = reply(&c, name, 0);
        assert!(got.is_empty(), "{name}: {user} sync printed {got:?}");
        c.input.send(Input::Data(b"exit\n".to_vec())).expect("send");
        finish(c, name, 0, &[]);
    }
}

/// The user's session, opened (and its banner checked) on first use.
fn ensure<'a>(
    clients: &'a mut BTreeMap<String, Client>,
    backend: &MemoryBackend,
    user: &str,
) -> &'a Client {
    clients.entry(user.to_string()).or_insert_with(|| {
        let c = Client::open(backend);
        let (kind, text) = c.next(WAIT).expect("greeting");
        assert_eq!(
            (kind, text.as_str()),
            (UnitKind::Greeting, banner().as_str())
        );
        c
    })
}

/// Waits for the reply to a command: no notification may come first.
fn reply(c: &Client, name: &str, at: usize) -> Vec<String> {
    match c.next(WAIT) {
        Ok((UnitKind::Reply, text)) => {
            let body = text
                .strip_suffix(PROMPT)
                .unwrap_or_else(|| panic!("{name}:{at}: reply without prompt: {text:?}"));
            body.lines().map(str::to_string).collect()
        }
        other => panic!("{name}:{at}: expected a reply, got {other:?}"),
    }
}

/// After `exit`: the session prints nothing more and its thread ends.
fn finish(mut c: Client, name: &str, at: usize, expect: &[String]) {
    let mut printed = Vec::new();
    while let Ok((_, text)) = c.next(WAIT) {
        printed.push(text);
    }
    assert!(
        printed.is_empty() && expect.is_empty(),
        "{name}:{at}: exit printed {printed:?}"
    );
    drop(c.input);
    c.thread
        .take()
        .expect("thread")
        .join()
        .expect("session thread");
}

#[test]
fn scenarios_carry_state_from_file_to_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/transcripts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("transcripts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "scenario files missing in {}",
        dir.display()
    );
    // A fixed clock: 2024-03-21 09:30 UTC.
    let backend = MemoryBackend::with_clock(Arc::new(|| 1_711_013_400_000));
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read scenario");
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        run_file(&backend, &name, &text);
    }
}

#[test]
fn normalise_dates() {
    assert_eq!(normalise("\t1\tt\tbob\t03/21"), "\t1\tt\tbob\tMM/DD");
    assert_eq!(normalise("\tDate\t:2024-03-21"), "\tDate\t:YYYY-MM-DD");
    assert_eq!(normalise("12/345 and 2024-3-21"), "12/345 and 2024-3-21");
}

/// Item 9: line mode shows dates in the session's zone (`timezone` in the configs); the
/// record keeps the server's UTC time. 2024-03-21 20:30 UTC is the 22nd in Taipei.
#[test]
fn dates_follow_the_session_zone() {
    use bbs::line::command::exec::run_line;
    let backend = MemoryBackend::with_clock(Arc::new(|| 1_711_053_000_000));
    let mut taipei = Session::new(backend.connect().expect("connect"));
    taipei.set_zone(Zone::parse("Asia/Taipei").expect("zone"));
    let mut utc = Session::new(backend.connect().expect("connect"));
    utc.set_zone(Zone::utc());
    let run = |s: &mut Session, line: &str| run_line(s, line).lines;
    run(&mut taipei, "register tw tw@example.com twpw");
    run(&mut taipei, "login tw twpw");
    run(&mut taipei, "create-board TZ");
    assert_eq!(
        run(&mut taipei, "create-post TZ --title late --content night"),
        ["Create post successfully."]
    );
    run(&mut taipei, "mail-to tw --subject late --content night");
    assert_eq!(run(&mut taipei, "list-post TZ")[1], "\t1\tlate\ttw\t03/22");
    assert_eq!(run(&mut utc, "list-post TZ")[1], "\t1\tlate\ttw\t03/21");
    assert_eq!(run(&mut taipei, "read 1")[2], "\tDate\t:2024-03-22");
    assert_eq!(run(&mut utc, "read 1")[2], "\tDate\t:2024-03-21");
    assert_eq!(run(&mut taipei, "list-mail")[1], "\t1\tlate\ttw\t03/22");
    assert_eq!(run(&mut taipei, "retr-mail 1")[2], "\tDate\t:2024-03-22");
}
