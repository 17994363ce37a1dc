//! The data model as a student sees it: records made by the BBS (in-memory backend, so
//! stamped by the real policy) are produced to the real server with kafka-python, then read
//! back by the documented kafka-python example (`tests/interop/read_board.py`) and by kcat.
mod common;
use common::*;
use std::fmt::Write as _;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::model::Change;
use bbs::names;
use bbs::session::Session;

fn hex(b: &Option<Vec<u8>>) -> String {
    match b {
        None => "-".into(),
        Some(b) => b.iter().map(|x| format!("{x:02x}")).collect(),
    }
}

/// What read_board.py should print for a board, derived from the BBS's own view.
fn expected(s: &Session, board: &str) -> String {
    let mut out = String::new();
    for p in s.posts(board, None).expect("board") {
        writeln!(out, "{}\t{}\t{}", p.id, p.title, p.author).expect("fmt");
        for l in p.body.split('\n') {
            writeln!(out, "\t{l}").expect("fmt");
        }
        for c in &p.comments {
            writeln!(out, "\t{}: {}", c.author, c.body).expect("fmt");
        }
    }
    out
}

#[test]
fn kafka_python_reads_boards_as_documented() {
    let backend = MemoryBackend::new();
    let mut amy = Session::new(backend.connect().expect("connect"));
    let mut bob = Session::new(backend.connect().expect("connect"));
    amy.register("amy", "a@x", "pw").expect("register");
    bob.register("bob", "b@x", "pw").expect("register");
    amy.login("amy", "pw").expect("login");
    bob.login("bob", "pw").expect("login");
    amy.create_board("NP_HW").expect("board");
    bob.create_board("測試 版").expect("board");
    let p1 = amy
        .create_post("NP_HW", "About NP HW_2", "Help!\nI have some problem!")
        .expect("post");
    bob.create_post("測試 版", "中文", "你好\n世界")
        .expect("post");
    let p3 = bob.create_post("NP_HW", "gone", "x").expect("post");
    bob.comment(&p1.to_string(), "Ask the TA.")
        .expect("comment");
    amy.update_post(
        &p1.to_string(),
        Change::Title("About NP HW_2 (solved)".into()),
    )
    .expect("edit");
    amy.update_post(&p1.to_string(), Change::Content("Solved.".into()))
        .expect("edit");
    bob.delete_post(&p3.to_string()).expect("delete");

    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("records.tsv");
    let mut lines = String::new();
    let boards = ["NP_HW", "測試 版"];
    for board in boards {
        let topic = names::board_topic(board).expect("topic");
        for w in backend.topic(&topic) {
            let headers: Vec<String> = w
                .headers
                .iter()
                .map(|(k, v)| format!("{k}={}", hex(v)))
                .collect();
            writeln!(
                lines,
                "{topic}\t{}\t{}\t{}",
                hex(&w.key),
                hex(&w.value),
                headers.join(",")
            )
            .expect("fmt");
        }
    }
    std::fs::write(&file, lines).expect("write");

    let s = TestServer::start(&[]);
    let t = Duration::from_secs(60);
    let path = file.to_string_lossy().to_string();
    let produced = ok(
        python("produce_records.py", &[&s.addr, &path], t),
        "produce",
    );
    assert_eq!(produced.trim(), "7", "6 records on NP_HW, 1 on 測試 版");
    for board in boards {
        let out = ok(python("read_board.py", &[&s.addr, board], t), "read_board");
        assert_eq!(out, expected(&amy, board), "board {board}");
    }
    let shown = ok(
        kcat(
            &[
                "-b",
                &s.addr,
                "-C",
                "-t",
                "board.NP_HW",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%h|%s\n",
            ],
            None,
            t,
        ),
        "kcat",
    );
    assert!(
        shown
            .starts_with("bbs.kind=post,bbs.author=amy,bbs.title=About NP HW_2,bbs.id=1,bbs.time="),
        "{shown}"
    );
}
