//! Issue 11, running a class (server side), against the real `bbs-server` binary:
//! every account is a complete BBS user whichever route made it (kafka-python
//! registration, `users add --email`, `users import`), a server listening on every
//! interface never advertises 0.0.0.0, and the log a TA reads (`--log-file`) names who
//! did what from where, without consumer-group churn.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{eventually, kcat, ok, python, TestServer};

const T: Duration = Duration::from_secs(60);

/// Runs `bbs-server --data-dir DATA users ARGS` with `stdin`.
fn users(data: &Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .arg("--data-dir")
        .arg(data)
        .arg("users")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn users");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

/// Runs one `bbs-client --line` session with `script` as its input; returns its output.
fn line_session(server: &TestServer, script: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
        .args(["--line", "--server", &server.addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bbs-client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `bbs.users` directory as `name email` lines, read back with kcat.
fn profiles(server: &TestServer) -> String {
    let out = kcat(
        &[
            "-C",
            "-b",
            &server.addr,
            "-t",
            "bbs.users",
            "-e",
            "-q",
            "-f",
            "%k %s\n",
        ],
        None,
        T,
    );
    ok(out, "kcat bbs.users")
}

#[test]
fn a_kafka_python_registration_is_a_user_mail_can_reach() {
    let s = TestServer::start(&[]);
    let out = ok(
        python("auth_register.py", &[&s.addr, "stu01", "Stu01-pass-9"], T),
        "register",
    );
    assert!(out.contains("first: None"), "{out}");
    // The account has a profile and a mailbox the moment registration is answered.
    assert!(
        profiles(&s).lines().any(|l| l.trim() == "stu01"),
        "{}",
        profiles(&s)
    );
    let sent = line_session(
        &s,
        "register ta ta@example.com tapass\nlogin ta tapass\n\
         mail-to stu01 --subject HW4 --content Due Friday\n",
    );
    assert!(sent.contains("Sent successfully."), "{sent}");
    assert!(!sent.contains("does not exist"), "{sent}");
    // Read the victim's state back: the mail is in stu01's mailbox.
    let inbox = line_session(&s, "login stu01 Stu01-pass-9\nlist-mail\n");
    assert!(inbox.contains("HW4"), "{inbox}");
}

#[test]
fn offline_add_and_import_make_complete_users_with_their_email() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    ok(
        users(
            &data,
            &["add", "stu01", "--email", "stu01@uni.edu"],
            "Pass-01-x\n",
        ),
        "users add",
    );
    let csv = dir.path().join("class.csv");
    std::fs::write(
        &csv,
        "name,email,password\nstu02,stu02@uni.edu,Pass-02-x\nstu03,stu03@uni.edu\n\
         stu01,stu01@uni.edu\nbad name!,x@uni.edu\n",
    )
    .expect("csv");
    let first = users(&data, &["import", csv.to_str().expect("utf8")], "");
    let report = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        !first.status.success(),
        "a bad line fails the import:\n{report}"
    );
    assert!(report.contains("line 2: stu02: added\n"), "{report}");
    let generated = report
        .lines()
        .find_map(|l| l.strip_prefix("line 3: stu03: added, password "))
        .unwrap_or_else(|| panic!("no generated password:\n{report}"))
        .to_string();
    assert!(
        report.contains("line 4: stu01: exists, left alone"),
        "{report}"
    );
    assert!(report.contains("line 5: bad name!: error:"), "{report}");
    // Idempotent: the same file again adds nothing and changes no password.
    let again = users(&data, &["import", csv.to_str().expect("utf8")], "");
    let report2 = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(
        report2.contains("0 added, 3 already existed, 1 failed"),
        "{report2}"
    );

    let s = TestServer::start_with_data(&data, &[]);
    let dir_lines = profiles(&s);
    for want in [
        "stu01 stu01@uni.edu",
        "stu02 stu02@uni.edu",
        "stu03 stu03@uni.edu",
    ] {
        assert!(
            dir_lines.lines().any(|l| l.trim() == want),
            "{want}:\n{dir_lines}"
        );
    }
    let sent = line_session(
        &s,
        "login stu02 Pass-02-x\nmail-to stu03 --subject Lab --content Room 5\n",
    );
    assert!(sent.contains("Sent successfully."), "{sent}");
    let inbox = line_session(&s, &format!("login stu03 {generated}\nlist-mail\n"));
    assert!(inbox.contains("Lab"), "{inbox}");
}

#[test]
fn online_add_with_email_writes_the_profile() {
    let s = TestServer::start(&[]);
    ok(
        users(
            &s.data,
            &["add", "stu09", "--email", "stu09@uni.edu"],
            "Pass-09-x\n",
        ),
        "users add online",
    );
    eventually("stu09's profile with its email", T, || {
        profiles(&s)
            .lines()
            .any(|l| l.trim() == "stu09 stu09@uni.edu")
    });
    let sent = line_session(
        &s,
        "register ta ta@example.com tapass\nlogin ta tapass\nmail-to stu09 --subject Hi --content x\n",
    );
    assert!(sent.contains("Sent successfully."), "{sent}");
}

#[test]
fn listening_on_every_interface_never_advertises_0_0_0_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    let read = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first);
    if read.unwrap_or(0) == 0 {
        // No network address: the server must refuse and say what to do.
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("--advertise"),
            "{err}"
        );
        return;
    }
    let _ = child.kill();
    let _ = child.wait();
    let addr = first
        .strip_prefix("advertising ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {first}"));
    let ip: std::net::SocketAddr = addr.parse().expect("advertised address");
    assert!(!ip.ip().is_unspecified(), "{first}");
    assert!(!ip.ip().is_loopback(), "{first}");
}

#[test]
fn the_log_file_names_who_did_what_from_where_without_group_churn() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("class.log");
    let s = TestServer::start(&["--log-file", log.to_str().expect("utf8")]);
    let out = line_session(
        &s,
        "register stu05 stu05@uni.edu pass5\nlogin stu05 pass5\ncreate-board HW4\n\
         create-post HW4 --title Question --content How?\nlist-post HW4\n",
    );
    assert!(out.contains("Create post successfully."), "{out}");
    let text = || std::fs::read_to_string(&log).unwrap_or_default();
    eventually("the post in the log file", T, || {
        text().lines().any(|l| {
            l.contains("user=\"stu05\"")
                && l.contains("action=\"post\"")
                && l.contains("peer=127.0.0.1:")
        })
    });
    let t = text();
    assert!(t.contains("bbs-server ready"), "{t}");
    assert!(
        t.lines()
            .any(|l| l.contains("login") && l.contains("stu05")),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.contains("account created") && l.contains("stu05")),
        "{t}"
    );
    for churn in [
        "rebalance started",
        "join phase complete",
        "group stable",
        "member left",
    ] {
        assert!(!t.contains(churn), "{churn} at INFO:\n{t}");
    }
}

#[test]
fn registration_and_login_refusals_say_what_happened() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("bbs-server.toml");
    std::fs::write(
        &cfg,
        "[auth]\nmax_registrations = 2\nmax_login_failures = 2\nlimit_loopback = true\n\
         login_failure_delay_ms = 10\n",
    )
    .expect("config");
    let s = TestServer::start(&["--config", cfg.to_str().expect("utf8")]);
    let long = "a".repeat(40);
    let out = line_session(
        &s,
        &format!(
            "register alice alice@x.org alicepw\nregister alice other@x.org pw\n\
             register \u{430}lice a@x.org pw\nregister bad!name b@x.org pw\n\
             register {long} c@x.org pw\nregister __ops d@x.org pw\n\
             register carol carol@x.org pw\nregister dave dave@x.org pw\n"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(has("Username is already used."), "taken:\n{out}");
    assert!(has("looks like"), "look-alike:\n{out}");
    assert!(
        has("Invalid name: the name may hold only letters"),
        "bad characters:\n{out}"
    );
    assert!(
        has("Invalid name: the name has 40 characters"),
        "too long:\n{out}"
    );
    assert!(
        has("Invalid name: names starting with '__' are reserved"),
        "reserved:\n{out}"
    );
    assert!(
        has("too many registrations from this address"),
        "rate limit:\n{out}"
    );
    // Nothing was created by the refusals: the directory holds alice and carol only.
    let dir_lines = profiles(&s);
    let names: Vec<&str> = dir_lines
        .lines()
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(
        !names.contains(&"dave") && !names.contains(&"bad!name"),
        "{dir_lines}"
    );
    // Wrong password, then the limit: two different sentences.
    let out = line_session(
        &s,
        "login alice wrong\nlogin alice wrong\nlogin alice wrong\nlogin alice alicepw\n",
    );
    assert!(out.contains("Login failed."), "{out}");
    assert!(
        out.contains("too many failed logins from this address; try again in"),
        "{out}"
    );
}
