//! Rule 5's second half: records that bypassed the record policy (written before the rule
//! existed, or by another server; here injected into the in-memory BBS without the policy)
//! hold terminal escapes, carriage returns, tabs and bidi overrides in titles, names,
//! subjects and content. Every output path shows them escaped (`\u{1b}`), never raw: line
//! mode (list-board, list-post, read, list-mail, retr-mail, notifications) and the TUI
//! (board list, post list, reader, toast, notification log).

use std::sync::Arc;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::codec::{self, BbsRecord, Entry};
use bbs::line::interp::{Interpreter, NoticeStyle};
use bbs::session::Session;
use bbs::tui::app::Screen;
use bbs::tui::msg::Reply;
use bbs::tui::testing::Harness;
use insta::assert_snapshot;

const NOW: i64 = 1_735_000_000_000;
const EVIL_BOARD: &str = "Ev\x1b[2Jil";
const EVIL_TITLE: &str = "\x1b[2J\x1b[Hpwn\rfake\u{202e}gpj.exe";
const EVIL_BODY: &str = "line one\x1b]0;owned\x07\r\nline\ttwo\u{2066}x";

fn inject(b: &MemoryBackend, record: BbsRecord) {
    let mut entry = Entry::new(record);
    entry.time = Some(NOW);
    let (topic, wire) = codec::encode(&entry).expect("encode");
    b.inject_unchecked(&topic, &[wire]).expect("inject");
}

/// A BBS with users amy and eve, a hostile board, post and mail written past the policy.
fn hostile() -> MemoryBackend {
    let b = MemoryBackend::with_clock(Arc::new(|| NOW));
    let mut anon = Session::new(b.connect().expect("connect"));
    for u in ["amy", "eve"] {
        anon.register(u, &format!("{u}@x"), u).expect("register");
    }
    inject(
        &b,
        BbsRecord::Board {
            name: EVIL_BOARD.into(),
            creator: "eve".into(),
        },
    );
    inject(
        &b,
        BbsRecord::Mail {
            to: "amy".into(),
            from: "eve\x1b[8m".into(),
            subject: "urgent\rFAKE".into(),
            body: EVIL_BODY.into(),
        },
    );
    b
}

fn evil_post(b: &MemoryBackend, id: u64) {
    inject(
        b,
        BbsRecord::Post {
            board: EVIL_BOARD.into(),
            id: Some(id),
            author: "eve".into(),
            title: EVIL_TITLE.into(),
            body: EVIL_BODY.into(),
        },
    );
}

fn assert_no_raw_controls(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| safe_text::is_unsafe(c, safe_text::Shape::Content) && c != '\n' && c != '\t')
        .collect();
    assert!(bad.is_empty(), "{what} shows raw {bad:?}:\n{text}");
}

#[test]
fn line_mode_shows_hostile_text_escaped() {
    let b = hostile();
    let mut i = Interpreter::new(
        Session::new(b.connect().expect("connect")),
        NoticeStyle::Newline,
    );
    i.feed(b"login amy amy\nsubscribe --author eve --keyword pwn\n");
    evil_post(&b, 1);
    let note = i
        .event(&bbs::model::PostEvent {
            board: EVIL_BOARD.into(),
            id: 1,
            title: EVIL_TITLE.into(),
            author: "eve".into(),
        })
        .unwrap_or_default();
    let out = i.feed(
        format!("list-board\nlist-post {EVIL_BOARD}\nread 1\nlist-mail\nretr-mail 1\n").as_bytes(),
    );
    let all = format!("{note}{out}");
    assert_no_raw_controls("line mode", &all);
    assert!(
        all.contains("\tEv\\u{1b}[2Jil\teve"),
        "board row escaped: {all}"
    );
    assert!(
        all.contains("\\u{1b}[2J\\u{1b}[Hpwn\\u{d}fake\\u{202e}gpj.exe"),
        "title escaped: {all}"
    );
    // Content keeps its newline and tab, but not the rest.
    assert!(
        all.contains("\tline one\\u{1b}]0;owned\\u{7}\\u{d}\n\tline\ttwo\\u{2066}x"),
        "content escaped: {all}"
    );
    assert!(
        all.contains("urgent\\u{d}FAKE\teve\\u{1b}[8m"),
        "mail row: {all}"
    );
    assert!(
        note.contains("*[Ev\\u{1b}[2Jil] \\u{1b}[2J"),
        "notification: {note:?}"
    );
}

#[test]
fn tui_shows_hostile_text_escaped_in_lists_reader_toasts_and_log() {
    let b = hostile();
    let mut h = Harness::new(Arc::new(b.clone()), 80, 24);
    h.type_text("amy");
    h.key("Tab");
    h.type_text("amy");
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Boards);
    h.key("S");
    h.key("a");
    h.type_text("author eve pwn");
    h.key("Enter");
    evil_post(&b, 1);
    assert!(h.wait_for(
        Duration::from_secs(5),
        |r| matches!(r, Reply::Notify(e) if e.author == "eve")
    ));
    h.settle();
    let toast = h.screen();
    assert_no_raw_controls("toast", &toast);
    assert!(toast.contains("\\u{1b}[2J"), "{toast}");
    assert_snapshot!("hostile_toast", toast);
    h.key("!");
    let log = h.screen();
    assert_no_raw_controls("notification log", &log);
    assert_snapshot!("hostile_notification_log", log);
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Reader);
    let reader = h.screen();
    assert_no_raw_controls("reader", &reader);
    assert!(reader.contains("\\u{1b}]0;owned"), "{reader}");
    assert_snapshot!("hostile_reader", reader);
}
