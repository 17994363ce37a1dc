//! Moderation against the real `bbs-server` binary (issue 11, item 4): a board's moderator
//! removes another user's post through line mode; a student who is not the moderator is
//! refused by the server (a raw `remove` record from kafka-python) and nothing changes;
//! the removal survives a restart; `bbs-server admin` (as the operator) removes posts and
//! exports a board as JSON lines.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ok, python, server_cmd, TestServer};

/// Runs one line-mode client session (`bbs-client --line`) with `script` on stdin and
/// returns its output.
fn line_session(server: &TestServer, script: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
        .args(["--line", "--server", &server.addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bbs-client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{script}\nexit\n").as_bytes())
        .expect("write script");
    ok(
        child.wait_with_output().expect("bbs-client"),
        "bbs-client --line",
    )
}

/// What anyone reading post `id` sees.
fn read_post(server: &TestServer, id: u64) -> String {
    line_session(server, &format!("read {id}"))
}

const SECRET: &str = "the full solution to HW4";

fn setup(server: &TestServer) {
    let out = line_session(
        server,
        "register ta ta@x tapw\nregister stu01 s1@x stu01pw\nregister stu02 s2@x stu02pw\n\
         login ta tapw\ncreate-board Class\nlogout\n\
         login stu01 stu01pw\ncreate-post Class --title Answers --content the full solution to HW4\n\
         create-post Class --title Question --content how do I start?\ncomment 1 thanks",
    );
    assert_eq!(out.matches("Register successfully.").count(), 3, "{out}");
    assert_eq!(out.matches("Create post successfully.").count(), 2, "{out}");
}

#[test]
fn moderator_removes_a_post_others_are_refused_and_it_survives_restart() {
    let mut server = TestServer::start(&[]);
    setup(&server);
    assert!(read_post(&server, 1).contains(SECRET));

    // stu02 is not Class's moderator: refused in line mode ...
    let out = line_session(
        &server,
        "login stu02 stu02pw\nremove-post 1\nremove-comment 1 1",
    );
    assert_eq!(out.matches("Not the board moderator.").count(), 2, "{out}");
    // ... and by the server, when writing the record directly with kafka-python.
    let tried = ok(
        python(
            "class_remove.py",
            &[&server.addr, "stu02", "stu02pw", "board.Class", "1"],
            Duration::from_secs(120),
        ),
        "class_remove.py",
    );
    assert!(tried.contains("remove: PolicyViolationError"), "{tried}");
    // Nothing changed.
    let before = read_post(&server, 1);
    assert!(
        before.contains(SECRET) && before.contains("stu01: thanks"),
        "{before}"
    );

    // The moderator removes the comment and the post.
    let out = line_session(&server, "login ta tapw\nremove-comment 1 1\nremove-post 1");
    assert!(
        out.contains("Comment removed.") && out.contains("Post removed."),
        "{out}"
    );
    let check = |text: &str| {
        assert!(
            !text.contains(SECRET),
            "the author's text is still served: {text}"
        );
        assert!(
            !text.contains("thanks"),
            "the comment is still served: {text}"
        );
        assert!(text.contains("[removed by the moderator]"), "{text}");
        assert!(text.contains("removed by the moderator (ta)"), "{text}");
    };
    check(&read_post(&server, 1));
    // The other post is untouched.
    assert!(read_post(&server, 2).contains("how do I start?"));

    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    check(&read_post(&server, 1));
}

#[test]
fn the_operator_removes_exports_and_backs_up_with_admin_commands() {
    let mut server = TestServer::start(&[]);
    setup(&server);
    let out = ok(
        server_cmd(&["admin", "remove-post", "2"], &server.data),
        "admin remove-post",
    );
    assert!(out.contains("post 2 removed"), "{out}");
    let read = read_post(&server, 2);
    assert!(!read.contains("how do I start?"), "{read}");
    assert!(
        read.contains("removed by the moderator (__operator)"),
        "{read}"
    );

    let export = ok(
        server_cmd(&["admin", "export-board", "Class"], &server.data),
        "admin export-board",
    );
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(lines.len(), 2, "{export}");
    assert!(
        lines[0].starts_with("{\"id\":1,\"board\":\"Class\",\"author\":\"stu01\""),
        "{export}"
    );
    assert!(
        lines[0].contains(SECRET) && lines[0].contains("\"removed_by\":null"),
        "{export}"
    );
    assert!(
        lines[1].contains("\"removed_by\":\"__operator\""),
        "{export}"
    );
    assert!(!lines[1].contains("how do I start?"), "{export}");

    // A board that does not exist is a clear error, not a crash.
    let missing = server_cmd(&["admin", "export-board", "Nope"], &server.data);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("Board does not exist."));

    // Backup of the stopped server (a live backup: tests/class_operator.rs), then a copy
    // a new server starts on.
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("copy");
    assert_eq!(server.terminate(), Some(0));
    let out = ok(
        server_cmd(&["admin", "backup", &copy.to_string_lossy()], &server.data),
        "admin backup",
    );
    assert!(out.starts_with("backup (server stopped): "), "{out}");
    let restored = TestServer::start_with_data(&copy, &[]);
    assert!(read_post(&restored, 1).contains(SECRET));
    let read = read_post(&restored, 2);
    assert!(
        read.contains("removed by the moderator (__operator)"),
        "{read}"
    );
}
