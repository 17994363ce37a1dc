//! Accounts and access against the real server binary with the real clients: SCRAM-SHA-256
//! and PLAIN logins (kcat, kafka-python, confluent-kafka, kafkajs), wrong passwords,
//! anonymous access and ACLs, private topics hidden from Metadata, registration over the
//! protocol, credentials surviving a restart without a clear password on disk, and the
//! operator CLI with the server running and stopped.
mod common;
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// A config enabling PLAIN, protecting `board.*` from anonymous writes and making
/// `private.<user>` readable by that user only; failures are cheap so retries stay fast.
const CONFIG: &str = r#"
[auth]
mechanisms = ["SCRAM-SHA-256", "PLAIN"]
login_failure_delay_ms = 20
max_login_failures = 1000

[[auth.acl]]
principal = "anonymous"
operations = ["write", "create"]
resource = "topic:news.*"
allow = false

[[auth.acl]]
principal = "user:*"
resource = "topic:private.{user}"
allow = true

[[auth.acl]]
principal = "*"
resource = "topic:private.*"
allow = false
"#;

/// Starts a server with `config`; the returned dir holds the config file.
fn start(config: &str) -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bbs-server.toml");
    std::fs::write(&path, config).expect("config");
    let s = TestServer::start(&["--config", path.to_str().expect("utf8")]);
    (s, dir)
}

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

fn sasl<'a>(addr: &'a str, mech: &'a str, user: &'a str, pass: &'a str) -> Vec<String> {
    vec![
        "-b".into(),
        addr.into(),
        "-X".into(),
        "security.protocol=SASL_PLAINTEXT".into(),
        "-X".into(),
        format!("sasl.mechanisms={mech}"),
        "-X".into(),
        format!("sasl.username={user}"),
        "-X".into(),
        format!("sasl.password={pass}"),
    ]
}

fn kcat_as(auth: &[String], extra: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut args: Vec<&str> = auth.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    kcat(&args, stdin, T)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn scram_with_all_four_clients() {
    four_clients("SCRAM-SHA-256");
}

#[test]
fn plain_with_all_four_clients() {
    four_clients("PLAIN");
}

/// Logs in with `mech` from every client, produces and consumes; wrong passwords fail.
fn four_clients(mech: &str) {
    let (s, _cfg) = start(CONFIG);
    ok(
        users(&s.data, &["add", "alice"], "wonder-land\n"),
        "users add (online)",
    );
    {
        let topic = format!("t-{}", mech.to_lowercase());
        let a = sasl(&s.addr, mech, "alice", "wonder-land");
        ok(
            kcat_as(&a, &["-P", "-t", &topic], Some(b"kc-0\nkc-1\n")),
            "kcat produce",
        );
        let out = ok(
            kcat_as(&a, &["-C", "-t", &topic, "-o", "beginning", "-e"], None),
            "kcat consume",
        );
        assert!(out.contains("kc-0\nkc-1"), "{out}");
        for client in ["kp", "ck"] {
            let out = ok(
                python(
                    "auth_python.py",
                    &[client, &s.addr, mech, "alice", "wonder-land", &topic, "ok"],
                    T,
                ),
                client,
            );
            assert!(out.starts_with("OK"), "{client} {mech}: {out}");
            let out = ok(
                python(
                    "auth_python.py",
                    &[client, &s.addr, mech, "alice", "wrong", &topic, "badpass"],
                    T,
                ),
                client,
            );
            assert!(out.starts_with("AUTHFAIL"), "{client} {mech}: {out}");
        }
        let out = ok(
            node(
                "auth_kafkajs.js",
                &[&s.addr, mech, "alice", "wonder-land", &topic, "ok"],
                T,
            ),
            "kafkajs",
        );
        assert!(out.starts_with("OK"), "kafkajs {mech}: {out}");
        let out = ok(
            node(
                "auth_kafkajs.js",
                &[&s.addr, mech, "alice", "wrong", &topic, "badpass"],
                T,
            ),
            "kafkajs badpass",
        );
        assert!(out.starts_with("AUTHFAIL"), "kafkajs {mech}: {out}");
        let bad = sasl(&s.addr, mech, "alice", "wrong");
        let out = kcat_as(&bad, &["-L", "-m", "3"], None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "kcat with a wrong password succeeded"
        );
        assert!(err.contains("Authentication failed"), "{err}");
    }
    assert!(
        s.wait_for_log("failed login", Duration::from_secs(5)),
        "failed logins are logged"
    );
    assert!(
        s.log_text().contains("SASL PLAIN is enabled"),
        "PLAIN warning at startup"
    );
}

#[test]
fn anonymous_access_acls_and_private_topics() {
    let (s, _cfg) = start(CONFIG);
    ok(users(&s.data, &["add", "alice"], "pw-alice\n"), "add alice");
    ok(users(&s.data, &["add", "bob"], "pw-bob\n"), "add bob");
    let alice = sasl(&s.addr, "SCRAM-SHA-256", "alice", "pw-alice");
    let bob = sasl(&s.addr, "SCRAM-SHA-256", "bob", "pw-bob");
    ok(
        kcat_as(
            &alice,
            &["-P", "-t", "news.general"],
            Some(b"hello board\n"),
        ),
        "alice posts",
    );
    ok(
        kcat_as(&bob, &["-P", "-t", "private.bob"], Some(b"bob's secret\n")),
        "bob writes his private topic",
    );
    // Anonymous reads the public board...
    let out = ok(
        kcat(
            &[
                "-b",
                &s.addr,
                "-C",
                "-t",
                "news.general",
                "-o",
                "beginning",
                "-e",
            ],
            None,
            T,
        ),
        "anonymous read",
    );
    assert!(out.contains("hello board"), "{out}");
    // ...but cannot write it, nor an internal topic.
    for topic in ["news.general", "__credentials"] {
        let out = kcat(&["-b", &s.addr, "-P", "-t", topic], Some(b"spam\n"), T);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "anonymous wrote {topic}");
        assert!(
            err.contains("authoriz") || err.contains("Authoriz"),
            "{topic}: {err}"
        );
    }
    // Alice cannot read Bob's private topic, and Metadata does not show it to her.
    let out = kcat_as(
        &alice,
        &["-C", "-t", "private.bob", "-o", "beginning", "-e"],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "alice read bob's topic");
    assert!(err.to_lowercase().contains("authoriz"), "{err}");
    let meta = ok(kcat_as(&alice, &["-L"], None), "alice metadata");
    assert!(!meta.contains("private.bob"), "{meta}");
    assert!(meta.contains("news.general"), "{meta}");
    let anon_meta = ok(kcat(&["-b", &s.addr, "-L"], None, T), "anonymous metadata");
    assert!(!anon_meta.contains("private.bob"), "{anon_meta}");
    assert!(!anon_meta.contains("__"), "{anon_meta}");
    let mine = ok(
        kcat_as(
            &bob,
            &["-C", "-t", "private.bob", "-o", "beginning", "-e"],
            None,
        ),
        "bob reads his topic",
    );
    assert!(mine.contains("bob's secret"), "{mine}");
}

#[test]
fn registration_over_the_protocol_survives_restart_without_clear_password() {
    let (mut s, _cfg) = start(CONFIG);
    let password = "Zebra-Crossing-7731";
    let out = ok(
        python("auth_register.py", &[&s.addr, "carol", password], T),
        "register",
    );
    assert!(out.contains("first: None"), "{out}");
    assert!(out.contains("second: "), "{out}");
    assert!(
        !out.contains("second: None"),
        "second registration must fail: {out}"
    );
    let carol = sasl(&s.addr, "SCRAM-SHA-256", "carol", password);
    ok(kcat_as(&carol, &["-L"], None), "carol logs in");
    s.restart_after_kill();
    let carol = sasl(&s.addr, "SCRAM-SHA-256", "carol", password);
    ok(
        kcat_as(&carol, &["-L"], None),
        "carol logs in after a restart",
    );
    for f in files(&s.data) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "{} holds the clear password",
            f.display()
        );
    }
}

#[test]
fn users_cli_with_server_stopped_and_running() {
    let (mut s, cfg) = start(CONFIG);
    s.terminate();
    // Stopped: the CLI edits the credential log directly.
    ok(users(&s.data, &["add", "dave"], "pw-dave\n"), "offline add");
    ok(users(&s.data, &["add", "erin"], "pw-erin\n"), "offline add");
    let out = users(&s.data, &["add", "dave"], "x\n");
    assert!(!out.status.success(), "duplicate add must fail");
    ok(users(&s.data, &["disable", "erin"], ""), "offline disable");
    let list = ok(users(&s.data, &["list"], ""), "offline list");
    assert_eq!(list, "dave\tenabled\nerin\tdisabled\n");
    s.spawn(None);
    // Running: the CLI talks to the server as the operator.
    let list = ok(users(&s.data, &["list"], ""), "online list");
    assert_eq!(list, "dave\tenabled\nerin\tdisabled\n");
    let erin = sasl(&s.addr, "SCRAM-SHA-256", "erin", "pw-erin");
    let refused = kcat_as(&erin, &["-L", "-m", "3"], None);
    assert!(!refused.status.success(), "a disabled account logged in");
    // The right password is told why, not "wrong password".
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("The account erin is disabled by the operator."),
        "no clear refusal for a disabled account: {why}"
    );
    ok(users(&s.data, &["enable", "erin"], ""), "online enable");
    ok(kcat_as(&erin, &["-L"], None), "erin logs in once enabled");
    ok(
        users(&s.data, &["reset-password", "dave"], "new-pw\n"),
        "online reset",
    );
    let dave = sasl(&s.addr, "SCRAM-SHA-256", "dave", "new-pw");
    ok(
        kcat_as(&dave, &["-L"], None),
        "dave logs in with the new password",
    );
    ok(users(&s.data, &["remove", "erin"], ""), "online remove");
    let list = ok(users(&s.data, &["list"], ""), "online list");
    assert_eq!(list, "dave\tenabled\n");
    drop(cfg);
}
