//! The data model as a student sees it: a kafka-python program written from the doc
//! (`tests/interop/bbs_writer.py`) registers, authenticates and writes a board's records
//! through the server's record policy (which refuses impersonation and others' edits); the
//! documented reader (`tests/interop/read_board.py`) and kcat read them back, and the
//! result matches what the BBS's own in-memory backend shows for the same actions.
mod common;
use common::*;
use std::fmt::Write as _;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::model::Change;
use bbs::session::Session;

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

    let boards = ["NP_HW", "測試 版"];
    let s = TestServer::start(&[]);
    let t = Duration::from_secs(90);
    let wrote = ok(python("bbs_writer.py", &[&s.addr], t), "bbs_writer.py");
    // Impersonation and someone else's edit are refused with the policy's message.
    assert!(
        wrote.contains("forged post: PolicyViolationError"),
        "{wrote}"
    );
    assert!(
        wrote.contains("edit others: PolicyViolationError"),
        "{wrote}"
    );
    assert!(
        wrote.contains("forged edit: PolicyViolationError"),
        "{wrote}"
    );
    assert!(wrote.contains("ids 1 3"), "server-assigned ids: {wrote}");
    let all = ok(
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
                "%s\n--\n",
            ],
            None,
            t,
        ),
        "kcat count",
    );
    assert!(
        !all.contains("spam") && !all.contains("mine now"),
        "refused records were written: {all}"
    );
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
    // BBS topics are kept forever; the board and user directories are compacted.
    let cfgs = ok(
        python(
            "topic_configs.py",
            &[&s.addr, "board.NP_HW", "bbs.boards", "bbs.users"],
            t,
        ),
        "topic configs",
    );
    assert!(cfgs.contains("board.NP_HW -1 delete"), "{cfgs}");
    assert!(cfgs.contains("bbs.boards -1 compact"), "{cfgs}");
    assert!(cfgs.contains("bbs.users -1 compact"), "{cfgs}");
    // A crash and restart: accounts, boards and the post-id counter come back from the log.
    let mut s = s;
    s.restart_after_kill();
    let again = ok(
        python("bbs_writer.py", &[&s.addr, "again"], t),
        "post after restart",
    );
    assert!(
        again.contains("new id 4"),
        "ids continue after a restart: {again}"
    );
}
