//! The operator's moderation against the real `bbs-server` binary (issue 11, item 4):
//! `admin online` lists Kafka and classic-port users; the operator deletes a board and
//! disables (then enables) a user, while a student who tries the same through the classic
//! extensions or a raw kafka-python record is refused and changes nothing; both survive a
//! restart; `admin backup` taken while a writer posts holds every acknowledged post.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use common::{eventually, ok, python, repo, server_cmd, test_home, TestServer};

const PROMPT: &str = "% ";
const DISABLED: &str = "The account stu01 is disabled by the operator.";

/// Runs one line-mode client session with `script` on stdin; returns its output.
fn line(server: &TestServer, script: &str) -> String {
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

fn admin(server: &TestServer, args: &[&str]) -> std::process::Output {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    server_cmd(&all, &server.data)
}

/// A classic-port session.
struct Classic {
    stream: TcpStream,
}

impl Classic {
    fn open(server: &TestServer) -> Classic {
        let addr = server.log_value("classic");
        let stream = TcpStream::connect(&addr).expect("connect classic");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut c = Classic { stream };
        c.until_prompt();
        c
    }

    fn until_prompt(&mut self) -> String {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(PROMPT.as_bytes()) {
            match self.stream.read(&mut byte) {
                Ok(1) => buf.push(byte[0]),
                other => panic!("classic session ended: {other:?}: {buf:?}"),
            }
        }
        String::from_utf8_lossy(&buf[..buf.len() - PROMPT.len()])
            .trim()
            .to_string()
    }

    fn cmd(&mut self, line: &str) -> String {
        self.stream
            .write_all(format!("{line}\n").as_bytes())
            .expect("send");
        self.until_prompt()
    }
}

/// How long the eventual checks wait.
const WAIT: Duration = Duration::from_secs(30);

/// A long-running kafka-python script from tests/interop, its stdout as lines.
struct Script {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Script {
    fn start(args: &[&str]) -> Script {
        let mut child = Command::new(test_home().join("venv/bin/python"))
            .arg(repo().join("tests/interop/class_operator.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn python");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Script {
            child,
            stdin,
            lines,
        }
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(120))
            .expect("a line from the script")
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> TestServer {
    TestServer::start(&["--classic-listen", "127.0.0.1:0"])
}

/// ta moderates Class (post 1 by ta) and Other (post 3 by ta); stu01 writes post 2 and
/// comments on post 1; stu02 comments on post 1 after stu01.
fn setup(server: &TestServer) {
    let out = line(
        server,
        "register ta ta@x tapw\nregister stu01 s1@x stu01pw\nregister stu02 s2@x stu02pw\n\
         login ta tapw\ncreate-board Class\ncreate-board Other\n\
         create-post Class --title Rules --content be nice\nlogout\n\
         login stu01 stu01pw\ncreate-post Class --title Answers --content the full solution\n\
         comment 1 spam-comment\nlogout\n\
         login ta tapw\ncreate-post Other --title Elsewhere --content other board\nlogout\n\
         login stu02 stu02pw\ncomment 1 fine-comment",
    );
    assert_eq!(out.matches("Register successfully.").count(), 3, "{out}");
    assert_eq!(out.matches("Create post successfully.").count(), 3, "{out}");
    assert_eq!(out.matches("Comment successfully.").count(), 2, "{out}");
}

#[test]
fn admin_online_lists_kafka_and_classic_users_until_they_leave() {
    let server = start();
    setup(&server);
    // ta stays logged in through a line client whose stdin stays open ...
    let mut ta = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
        .args(["--line", "--server", &server.addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bbs-client");
    let mut ta_in = ta.stdin.take().expect("stdin");
    ta_in.write_all(b"login ta tapw\n").expect("login");
    ta_in.flush().expect("flush");
    // ... and stu01 through the classic port.
    let mut classic = Classic::open(&server);
    assert_eq!(classic.cmd("login stu01 stu01pw"), "Welcome, stu01.");
    let online = || ok(admin(&server, &["online"]), "admin online");
    eventually("both users online", WAIT, || {
        let out = online();
        out.lines().any(|l| l == "ta") && out.lines().any(|l| l == "stu01")
    });
    assert!(!online().lines().any(|l| l == "stu02"));
    // stu01 logs out on the classic port: gone, ta stays.
    classic.cmd("logout");
    eventually("stu01 gone", WAIT, || {
        let out = online();
        !out.lines().any(|l| l == "stu01") && out.lines().any(|l| l == "ta")
    });
    drop(ta_in);
    let _ = ta.kill();
    let _ = ta.wait();
}

#[test]
fn the_operator_deletes_a_board_students_cannot_and_it_survives_restart() {
    let mut server = start();
    setup(&server);
    // A student tries through the classic extension and with a raw record.
    let out = line(&server, "login stu02 stu02pw\ndelete-board Class");
    assert!(out.contains("Not the operator."), "{out}");
    let mut classic = Classic::open(&server);
    classic.cmd("login ta tapw");
    assert_eq!(classic.cmd("delete-board Class"), "Not the operator.");
    let forged = ok(
        python(
            "class_operator.py",
            &[&server.addr, "stu02", "stu02pw", "forge-delete", "Class"],
            Duration::from_secs(120),
        ),
        "forge-delete",
    );
    assert!(
        forged.contains("board-delete: PolicyViolationError"),
        "{forged}"
    );
    let before = line(&server, "list-board\nread 2");
    assert!(
        before.contains("Class") && before.contains("the full solution"),
        "{before}"
    );

    let out = ok(admin(&server, &["delete-board", "Class"]), "delete-board");
    assert!(out.contains("board Class deleted"), "{out}");
    let gone = |server: &TestServer| {
        let out = line(
            server,
            "list-board\nlist-post Class\nread 1\nread 2\nlogin stu01 stu01pw\n\
             comment 2 still-here?\ncreate-post Class --title again --content x\n\
             create-board Class\nlist-post Other",
        );
        let boards: Vec<&str> = out.lines().filter(|l| l.contains("Other")).collect();
        assert!(!out.contains("\tClass\t"), "Class still listed: {out}");
        // The remaining board moves up to index 1.
        assert!(
            boards.iter().any(|l| l.trim_start().starts_with("1\t")),
            "{out}"
        );
        assert_eq!(out.matches("Board does not exist.").count(), 2, "{out}");
        assert_eq!(out.matches("Post does not exist.").count(), 3, "{out}");
        assert!(!out.contains("the full solution"), "{out}");
        assert!(out.contains("cannot be used again"), "{out}");
        assert!(out.contains("Elsewhere"), "{out}");
    };
    gone(&server);
    // The operator can see it is gone too; deleting again is a clear error.
    let again = admin(&server, &["delete-board", "Class"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("Board does not exist."));

    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    gone(&server);
    // Post ids stay unique: the next post after the restart is 4.
    let out = line(
        &server,
        "login ta tapw\ncreate-post Other --title Fresh --content new\nlist-post Other",
    );
    assert!(
        out.lines()
            .any(|l| l.contains("Fresh") && l.trim_start().starts_with("4\t")),
        "{out}"
    );
}

#[test]
fn the_operator_disables_a_user_everywhere_and_enables_them_again() {
    let mut server = start();
    setup(&server);
    let py = |args: &[&str]| {
        ok(
            python("class_operator.py", args, Duration::from_secs(120)),
            "class_operator.py",
        )
    };
    // A student cannot disable another, by the extension or a raw record.
    let out = line(&server, "login stu02 stu02pw\ndisable-user stu01");
    assert!(out.contains("Not the operator."), "{out}");
    let forged = py(&[&server.addr, "stu02", "stu02pw", "forge-disable", "stu01"]);
    assert!(forged.contains("disable: PolicyViolationError"), "{forged}");
    let before = line(&server, "login stu01 stu01pw\nread 2\nread 1");
    assert!(before.contains("Welcome, stu01."), "{before}");
    assert!(
        before.contains("the full solution") && before.contains("spam-comment"),
        "{before}"
    );

    // stu01 is connected (kafka-python, and the classic port) when the operator disables
    // them.
    let mut live = Script::start(&[&server.addr, "stu01", "stu01pw", "live", "Class"]);
    assert_eq!(live.next_line(), "FIRST: ACCEPTED");
    let mut classic = Classic::open(&server);
    assert_eq!(classic.cmd("login stu01 stu01pw"), "Welcome, stu01.");
    let out = ok(admin(&server, &["disable-user", "stu01"]), "disable-user");
    assert!(out.contains("stu01 disabled"), "{out}");
    let stdin = live.stdin.as_mut().expect("stdin");
    stdin.write_all(b"go\n").expect("go");
    stdin.flush().expect("flush");
    let second = live.next_line();
    assert!(
        second.starts_with("SECOND: PolicyViolationError"),
        "{second}"
    );
    assert_eq!(classic.cmd("comment 1 still here"), DISABLED);

    let hidden = |server: &TestServer| {
        // Every front door refuses the login with its own message; a wrong password
        // is still "Login failed.".
        let out = line(server, "login stu01 stu01pw\nlogin stu01 wrong");
        assert!(out.contains(DISABLED), "{out}");
        assert!(out.contains("Login failed."), "{out}");
        let mut classic = Classic::open(server);
        assert_eq!(classic.cmd("login stu01 stu01pw"), DISABLED);
        let kp = python(
            "auth_python.py",
            &[
                "kp",
                &server.addr,
                "SCRAM-SHA-256",
                "stu01",
                "stu01pw",
                "board.Class",
                "badpass",
            ],
            Duration::from_secs(120),
        );
        let kp = ok(kp, "kafka-python login of a disabled user");
        assert!(
            kp.contains("AUTHFAIL") && kp.contains("disabled by the operator"),
            "{kp}"
        );
        // What stu01 wrote is hidden from everyone.
        let out = line(server, "list-post Class\nread 2\nread 1");
        assert!(!out.contains("Answers"), "{out}");
        assert!(!out.contains("live-1"), "{out}");
        assert!(out.contains("Post does not exist."), "{out}");
        assert!(!out.contains("spam-comment"), "{out}");
        assert!(
            out.contains("fine-comment") && out.contains("Rules"),
            "{out}"
        );
        let export = ok(
            admin(server, &["export-board", "Class"]),
            "admin export-board",
        );
        assert!(!export.contains("the full solution"), "{export}");
    };
    hidden(&server);
    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    hidden(&server);

    // The moderator's comment numbers count the comments shown: comment 1 is stu02's.
    let out = line(&server, "login ta tapw\nremove-comment 1 1\nread 1");
    assert!(out.contains("Comment removed."), "{out}");
    assert!(!out.contains("fine-comment"), "{out}");

    let out = ok(admin(&server, &["enable-user", "stu01"]), "enable-user");
    assert!(out.contains("stu01 enabled"), "{out}");
    let out = line(
        &server,
        "login stu01 stu01pw\nread 2\nread 1\ncomment 2 back",
    );
    assert!(out.contains("Welcome, stu01."), "{out}");
    assert!(
        out.contains("the full solution") && out.contains("spam-comment"),
        "{out}"
    );
    assert!(out.contains("Comment successfully."), "{out}");
}

#[test]
fn a_backup_taken_while_a_writer_posts_holds_every_acknowledged_post() {
    let mut server = start();
    setup(&server);
    let writer = Script::start(&[&server.addr, "stu02", "stu02pw", "writer", "Other"]);
    // Let the writer get going, then note what was acknowledged before the backup.
    let mut acked = 0u64;
    while acked < 20 {
        let l = writer.next_line();
        acked = l
            .strip_prefix("ACK ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("writer said {l:?}"));
    }
    while let Ok(l) = writer.lines.try_recv() {
        if let Some(n) = l.strip_prefix("ACK ").and_then(|n| n.parse().ok()) {
            acked = n;
        }
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("copy");
    let out = ok(
        admin(&server, &["backup", &copy.to_string_lossy()]),
        "admin backup while running",
    );
    assert!(out.contains("backup (server running"), "{out}");
    assert!(out.contains("no problems"), "{out}");
    // The writer kept writing during the backup.
    let after = writer.next_line();
    assert!(after.starts_with("ACK "), "{after}");
    drop(writer);

    let checked = ok(
        server_cmd(&["check"], &copy),
        "bbs-server check on the copy",
    );
    assert!(checked.contains("0 problems"), "{checked}");
    assert_eq!(server.terminate(), Some(0));
    let restored = TestServer::start_with_data(&copy, &[]);
    let listed = line(&restored, "list-post Other");
    for i in 1..=acked {
        assert!(
            listed.contains(&format!("\tw-{i}\t")),
            "post w-{i} (acknowledged before the backup) is missing:\n{listed}"
        );
    }
    assert!(
        line(&restored, "read 2").contains("the full solution"),
        "the copy lost older data"
    );

    // The offline path still works.
    let copy2 = tmp.path().join("copy2");
    let mut restored = restored;
    assert_eq!(restored.terminate(), Some(0));
    let out = ok(
        server_cmd(&["admin", "backup", &copy2.to_string_lossy()], &copy),
        "admin backup offline",
    );
    assert!(out.contains("backup (server stopped)"), "{out}");
}
