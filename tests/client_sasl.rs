//! client SASL against the real server: SCRAM-SHA-256 and PLAIN logins produce,
//! consume in a group and delete topics; a wrong password or unknown user is an
//! `Error::Auth`.
mod common;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use client::*;
use common::*;

const CONFIG: &str = r#"
[auth]
mechanisms = ["SCRAM-SHA-256", "PLAIN"]
login_failure_delay_ms = 20
max_login_failures = 1000
"#;

fn add_user(s: &TestServer, user: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .arg("--data-dir")
        .arg(&s.data)
        .args(["users", "add", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn users");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write");
    ok(child.wait_with_output().expect("wait"), "users add");
}

#[test]
fn scram_and_plain_logins() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bbs-server.toml");
    std::fs::write(&path, CONFIG).expect("config");
    let s = TestServer::start(&["--config", path.to_str().expect("utf8")]);
    add_user(&s, "ana", "pw-ana");
    for cfg in [
        ClientConfig::new(&s.addr).sasl_scram("ana", "pw-ana"),
        ClientConfig::new(&s.addr).sasl_plain("ana", "pw-ana"),
    ] {
        let client = Client::connect(cfg).expect("login");
        let p = client
            .producer(ProducerConfig::default())
            .expect("producer");
        let m = p
            .send(Record::new("ana.notes").value("hello"))
            .expect("send")
            .wait()
            .expect("delivered");
        let mut c = client
            .consumer(
                ConsumerConfig::group("ana-notes")
                    .subscribe(&["ana.notes"])
                    .offset_reset(OffsetReset::Earliest)
                    .auto_commit(false),
            )
            .expect("consumer");
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() <= m.offset as usize && start.elapsed() < Duration::from_secs(20) {
            got.extend(c.poll(Duration::from_millis(100)).expect("poll"));
        }
        assert_eq!(
            got.last().map(|r| r.value_str().into_owned()),
            Some("hello".into())
        );
    }
    // A logged-in user may delete topics.
    let admin = Client::connect(ClientConfig::new(&s.addr).sasl_scram("ana", "pw-ana"))
        .expect("login")
        .admin();
    admin.delete_topics(&["ana.notes"]).expect("delete");
    assert!(!admin
        .list_topics()
        .expect("list")
        .contains(&"ana.notes".to_string()));
    for cfg in [
        ClientConfig::new(&s.addr).sasl_scram("ana", "wrong"),
        ClientConfig::new(&s.addr).sasl_plain("ana", "wrong"),
        ClientConfig::new(&s.addr).sasl_scram("nobody", "x"),
    ] {
        let err = Client::connect(cfg).err().expect("refused");
        assert!(matches!(err, client::Error::Auth { .. }), "{err}");
    }
}
