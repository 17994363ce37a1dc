//! The interpreter and its blocking driver at the byte level: banner, prompt, notification
//! over partial input, CRLF, oversized lines, binary garbage, end of input; and many
//! sessions writing concurrently.

#[allow(dead_code)]
#[path = "../../tests/common/eventually.rs"]
mod eventually;

use std::io::{Read, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::line::driver::serve;
use bbs::line::interp::{Interpreter, NoticeStyle};
use bbs::model::PostEvent;
use bbs::session::Session;

const BANNER: &str = "********************************\n** Welcome to the BBS server. **\n********************************\n% ";

fn interp(backend: &MemoryBackend) -> Interpreter {
    Interpreter::new(
        Session::new(backend.connect().expect("connect")),
        NoticeStyle::Newline,
    )
}

fn setup(backend: &MemoryBackend) {
    let mut admin = interp(backend);
    let out = admin.feed(
        b"register amy a@x pw\nregister bob b@x pw\nlogin amy pw\ncreate-board NP\nsubscribe --board NP --keyword t\n",
    );
    assert_eq!(
        out,
        "Register successfully.\n% Register successfully.\n% Welcome, amy.\n% \
         Create board successfully.\n% Subscribe successfully.\n% "
    );
}

#[test]
fn banner_crlf_and_exit() {
    let b = MemoryBackend::new();
    let mut i = interp(&b);
    assert_eq!(i.greeting(), BANNER);
    assert_eq!(i.feed(b"whoami\r\n"), "Please login first.\n% ");
    assert_eq!(i.feed(b"who"), "", "partial line waits");
    assert_eq!(i.feed(b"ami\n\n"), "Please login first.\n% % ");
    assert_eq!(i.feed(b"exit\nwhoami\n"), "", "nothing after exit");
    assert!(i.is_closed());
}

#[test]
fn oversized_lines_and_garbage_cost_a_bounded_buffer() {
    let b = MemoryBackend::new();
    let mut i = interp(&b).with_max_line(16);
    let big = vec![b'x'; 1 << 20];
    assert_eq!(i.feed(&big), "");
    assert_eq!(
        i.feed(b"yyy\nwhoami\n"),
        "Line too long.\n% Please login first.\n% "
    );
    let out = i.feed(&[0xff, 0xfe, 0x00, 0x80, b'\n']);
    assert!(
        out.starts_with("Unknown command: ") && out.ends_with("\n% "),
        "{out:?}"
    );
    // End of input runs a last unterminated line, then closes.
    assert_eq!(i.feed(b"whoami"), "");
    assert_eq!(i.finish(), "Please login first.\n% ");
    assert!(i.is_closed());
}

#[test]
fn notification_reprints_prompt_and_partial_input() {
    let b = MemoryBackend::new();
    setup(&b);
    let mut amy = interp(&b);
    assert_eq!(amy.feed(b"login amy pw\n"), "Welcome, amy.\n% ");
    amy.feed(b"list-bo");
    let ev = PostEvent {
        board: "NP".into(),
        id: 1,
        title: "t1".into(),
        author: "bob".into(),
    };
    assert_eq!(
        amy.event(&ev).as_deref(),
        Some("\n*[NP] t1 - by bob*\n% list-bo")
    );
    assert_eq!(amy.event(&ev), None, "once per post");
    assert_eq!(
        amy.feed(b"ard\n"),
        "\tIndex\tName\tModerator\n\t1\tNP\tamy\n% ",
        "the line typed across the notification still runs whole"
    );
    let mut ansi = Interpreter::new(
        Session::new(b.connect().expect("connect")),
        NoticeStyle::Ansi,
    );
    ansi.feed(b"login amy pw\nwho");
    assert_eq!(
        ansi.event(&ev).as_deref(),
        Some("\r\x1b[2K*[NP] t1 - by bob*\n% who")
    );
}

/// A reader fed from a channel (stands in for a socket or stdin).
struct ChanReader(Receiver<Vec<u8>>, Vec<u8>);

impl Read for ChanReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.1.is_empty() {
            match self.0.recv() {
                Ok(d) => self.1 = d,
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.1.len());
        buf[..n].copy_from_slice(&self.1[..n]);
        self.1.drain(..n);
        Ok(n)
    }
}

/// A writer the test can watch.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
    fn wait_for(&self, needle: &str) -> String {
        eventually::eventually_some(
            &format!("{needle:?} in the output"),
            Duration::from_secs(5),
            || {
                let t = self.text();
                t.contains(needle).then_some(t)
            },
        )
    }
}

fn spawn_session(b: &MemoryBackend) -> (Sender<Vec<u8>>, Shared, std::thread::JoinHandle<()>) {
    let (tx, rx) = channel();
    let out = Shared::default();
    let (b, o) = (b.clone(), out.clone());
    let t = std::thread::spawn(move || {
        serve(
            &b,
            ChanReader(rx, Vec::new()),
            o,
            NoticeStyle::Newline,
            bbs::time::Zone::utc(),
        )
        .expect("serve");
    });
    (tx, out, t)
}

#[test]
fn driver_interleaves_notifications_between_commands() {
    let b = MemoryBackend::new();
    setup(&b);
    let (amy_in, amy_out, amy_t) = spawn_session(&b);
    let (bob_in, bob_out, bob_t) = spawn_session(&b);
    amy_in.send(b"login amy pw\nlist-b".to_vec()).expect("send");
    amy_out.wait_for("Welcome, amy.\n% ");
    bob_in
        .send(b"login bob pw\ncreate-post NP --title t2 --content c\n".to_vec())
        .expect("send");
    bob_out.wait_for("Create post successfully.\n% ");
    let t = amy_out.wait_for("*[NP] t2 - by bob*");
    assert_eq!(
        t,
        format!("{BANNER}Welcome, amy.\n% \n*[NP] t2 - by bob*\n% list-b")
    );
    amy_in.send(b"oard ##N\nexit\n".to_vec()).expect("send");
    amy_t.join().expect("amy");
    assert!(amy_out
        .text()
        .ends_with("% list-b\tIndex\tName\tModerator\n\t1\tNP\tamy\n% "));
    drop(bob_in);
    bob_t.join().expect("bob ends at end of input");
    assert!(!bob_out.text().contains("*["), "never to the poster");
}

#[test]
fn many_sessions_post_concurrently_with_unique_ids() {
    let b = MemoryBackend::new();
    setup(&b);
    let (amy_in, amy_out, amy_t) = spawn_session(&b);
    amy_in.send(b"login amy pw\n".to_vec()).expect("send");
    amy_out.wait_for("Welcome, amy.\n% ");
    const USERS: usize = 10;
    const POSTS: usize = 20;
    let writers: Vec<_> = (0..USERS)
        .map(|u| {
            let b = b.clone();
            std::thread::spawn(move || {
                let mut i = interp(&b);
                let mut script = format!("register u{u} e pw\nlogin u{u} pw\n");
                for p in 0..POSTS {
                    script.push_str(&format!("create-post NP --title t{u}-{p} --content c\n"));
                }
                let out = i.feed(script.as_bytes());
                assert_eq!(out.matches("Create post successfully.").count(), POSTS);
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let mut check = interp(&b);
    let listing = check.feed(b"list-post NP\n");
    let ids: Vec<u64> = listing
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1)?.parse().ok())
        .collect();
    assert_eq!(ids, (1..=(USERS * POSTS) as u64).collect::<Vec<_>>());
    // Every post matches amy's keyword "t": exactly one notification each.
    eventually::eventually("a notification per post", Duration::from_secs(5), || {
        amy_out.text().matches("*[NP]").count() >= USERS * POSTS
    });
    amy_in.send(b"exit\n".to_vec()).expect("send");
    amy_t.join().expect("amy");
    assert_eq!(amy_out.text().matches("*[NP]").count(), USERS * POSTS);
}
