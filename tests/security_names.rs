//! Security rules 6 and 7, attacked for real against the `bbs-server` binary with
//! kafka-python (`tests/interop/security_bbs.py`): registering look-alikes of an existing
//! account (AlterUserScramCredentials), creating look-alikes of an existing board (a BBS
//! record on `bbs.boards`), and taking over the name of a removed or self-deleted account.
//! Each attempt is refused with a message that says why, and the victim's state is read
//! back unchanged (the victim still logs in; the board's records are unchanged; the old
//! mailbox stays unreadable). Only the operator's `users release` frees a retired name.
mod common;
mod security_support;
use common::*;
use security_support::*;

fn user_record(name: &str) -> String {
    produce(
        name,
        "bbs.users",
        Some(name),
        "x@y",
        &[("bbs.kind", "user"), ("bbs.author", name)],
    )
}

fn board_record(user: &str, name: &str) -> String {
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !name.starts_with('_');
    let topic = if plain {
        format!("board.{name}")
    } else {
        format!("board._{hex}")
    };
    produce(
        user,
        "bbs.boards",
        Some(name),
        "",
        &[
            ("bbs.kind", "board"),
            ("bbs.author", user),
            ("bbs.topic", &topic),
        ],
    )
}

#[test]
fn look_alike_account_names_are_refused() {
    let s = TestServer::start(&[]);
    assert_eq!(
        steps(&s.addr, &[register("alice")]),
        ["register: OK"],
        "alice registers"
    );
    let attempts = [
        ("Alice", "looks like the existing user alice"),
        ("\u{430}lice", "looks like the existing user alice"),
        (
            "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
            "looks like the existing user alice",
        ),
        ("al\u{131}ce", "looks like the existing user alice"),
        ("ALICE", "looks like the existing user alice"),
        ("al\u{200b}ice", "\\\\u{200b}"),
        ("alice ", "not ' '"),
        ("p\u{430}ypal", "mixes scripts"),
    ];
    let out = steps(
        &s.addr,
        &attempts
            .iter()
            .map(|(n, _)| register(n))
            .collect::<Vec<_>>(),
    );
    for ((name, why), line) in attempts.iter().zip(&out) {
        assert!(
            line.starts_with("register: ") && line.contains(why) && !line.ends_with("OK"),
            "{name:?}: expected a refusal saying {why:?}, got {line:?}"
        );
    }
    // CJK names keep working; alice still logs in with her own password; no look-alike
    // account exists to log in with.
    let after = steps(
        &s.addr,
        &[
            register("小明"),
            register("測試"),
            login("alice", "pw-alice"),
            login("Alice", "pw-Alice"),
            login("\u{430}lice", "pw-\u{430}lice"),
        ],
    );
    assert_eq!(
        after[..3],
        ["register: OK", "register: OK", "login: OK"],
        "{after:?}"
    );
    assert!(
        after[3..].iter().all(|l| l != "login: OK"),
        "look-alikes have no account: {after:?}"
    );
}

#[test]
fn look_alike_board_names_are_refused() {
    let s = TestServer::start(&[]);
    let setup = steps(
        &s.addr,
        &[
            register("amy"),
            register("eve"),
            user_record("amy"),
            user_record("eve"),
            board_record("amy", "NP"),
            produce(
                "amy",
                "board.NP",
                None,
                "homework",
                &[
                    ("bbs.kind", "post"),
                    ("bbs.author", "amy"),
                    ("bbs.title", "HW1"),
                ],
            ),
        ],
    );
    assert!(
        setup
            .iter()
            .all(|l| l.ends_with("OK") || l.ends_with("ACCEPTED")),
        "{setup:?}"
    );
    let before_boards = steps(&s.addr, &[dump("amy", "bbs.boards")]);
    let before_np = steps(&s.addr, &[dump("amy", "board.NP")]);
    let attempts = [
        ("np", "looks like the existing board NP"),
        ("\u{39d}\u{3a1}", "looks like the existing board NP"),
        ("\u{ff2e}\u{ff30}", "looks like the existing board NP"),
        ("N\u{200b}P", "invisible or control character U+200B"),
        ("NP ", "may not start or end with a space"),
        ("N  P", "two spaces in a row"),
    ];
    let out = steps(
        &s.addr,
        &attempts
            .iter()
            .map(|(n, _)| board_record("eve", n))
            .collect::<Vec<_>>(),
    );
    for ((name, why), line) in attempts.iter().zip(&out) {
        assert!(
            line.starts_with("produce: PolicyViolationError") && line.contains(why),
            "{name:?}: expected a refusal saying {why:?}, got {line:?}"
        );
    }
    // NP and its records are unchanged; no look-alike board exists.
    assert_eq!(steps(&s.addr, &[dump("amy", "bbs.boards")]), before_boards);
    assert_eq!(steps(&s.addr, &[dump("amy", "board.NP")]), before_np);
    // A CJK board name is fine.
    assert_eq!(
        steps(&s.addr, &[board_record("eve", "測試")]),
        ["produce: ACCEPTED"]
    );
}

fn users_cmd(s: &TestServer, args: &[&str]) -> String {
    let mut all = vec!["users"];
    all.extend_from_slice(args);
    ok(server_cmd(&all, &s.data), &format!("users {args:?}"))
}

/// alice registers, has a profile and gets mail from bob; then `remove` takes her
/// account away (the operator, or alice herself). mallory may not take the name, before
/// or after a restart. Then the operator releases it: on the running server, or
/// (`offline`) with the server stopped, editing the credential log.
fn recycle_attack(offline: bool, remove: impl FnOnce(&TestServer)) {
    let mut s = TestServer::start(&[]);
    let setup = steps(
        &s.addr,
        &[
            register("alice"),
            register("bob"),
            register("mallory"),
            user_record("alice"),
            user_record("bob"),
            produce(
                "bob",
                "mail.alice",
                None,
                "the secret exam answers",
                &[
                    ("bbs.kind", "mail"),
                    ("bbs.author", "bob"),
                    ("bbs.subject", "private"),
                ],
            ),
        ],
    );
    assert!(
        setup
            .iter()
            .all(|l| l.ends_with("OK") || l.ends_with("ACCEPTED")),
        "{setup:?}"
    );
    remove(&s);
    let retired = "the name alice belonged to a removed account and is not given out again";
    let attempt = |s: &TestServer| {
        steps(
            &s.addr,
            &[
                register("alice"),
                register("Alice"),
                login("alice", "pw-alice"),
                dump("mallory", "mail.alice"),
            ],
        )
    };
    for round in ["before", "after"] {
        let out = attempt(&s);
        assert!(out[0].contains(retired), "{round} restart: {out:?}");
        assert!(
            out[1].contains("looks like the retired user name alice"),
            "{round} restart: {out:?}"
        );
        assert_ne!(
            out[2], "login: OK",
            "{round} restart: the old account is gone"
        );
        assert!(
            !out[3].contains("secret exam"),
            "{round} restart: mallory must not read alice's mail: {out:?}"
        );
        if round == "before" {
            s.restart_after_kill();
        }
    }
    // The operator releases the name explicitly; then it can be registered again.
    if offline {
        s.terminate();
        let listed = users_cmd(&s, &["list"]);
        assert!(listed.contains("alice\tretired"), "{listed}");
    }
    let released = users_cmd(&s, &["release", "alice"]);
    assert!(released.contains("released alice"), "{released}");
    if offline {
        s.restart_after_kill();
    }
    assert_eq!(steps(&s.addr, &[register("alice")]), ["register: OK"]);
}

#[test]
fn removed_account_names_are_not_recycled() {
    recycle_attack(false, |s| {
        let out = users_cmd(s, &["remove", "alice"]);
        assert!(out.contains("removed alice"), "{out}");
    });
}

#[test]
fn self_deleted_account_names_are_not_recycled() {
    recycle_attack(true, |s| {
        assert_eq!(steps(&s.addr, &[delete_self("alice")]), ["delete_self: OK"]);
    });
}

/// `bbs-server users add NAME` with the password on stdin.
fn users_add(s: &TestServer, name: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .arg("--data-dir")
        .arg(&s.data)
        .args(["users", "add", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bbs-server users add");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"a password\n").expect("password");
    }
    child.wait_with_output().expect("users add")
}

#[test]
fn users_cli_refuses_look_alikes_online_and_offline() {
    let mut s = TestServer::start(&[]);
    assert_eq!(steps(&s.addr, &[register("alice")]), ["register: OK"]);
    let online = users_add(&s, "Alice");
    let err = String::from_utf8_lossy(&online.stderr).into_owned();
    assert!(!online.status.success(), "online look-alike must fail");
    assert!(err.contains("looks like the existing user alice"), "{err}");
    let cjk = users_add(&s, "小明");
    assert!(cjk.status.success(), "{cjk:?}");
    s.terminate();
    let offline = users_add(&s, "\u{430}lice");
    let err = String::from_utf8_lossy(&offline.stderr).into_owned();
    assert!(!offline.status.success(), "offline look-alike must fail");
    assert!(err.contains("looks like the existing user alice"), "{err}");
    let listed = users_cmd(&s, &["list"]);
    assert_eq!(listed, "alice\tenabled\n小明\tenabled\n");
}
