//! Rule 8 (guessing and spamming), attacked for real against `bbs-server` with loopback
//! limits on: password guessing through the classic port (a TCP client bound to its own
//! 127.0.0.x address, as `nc` would be) and over Kafka SASL (raw SCRAM from a bound
//! address), alternating accounts, logging in to one's own account between guesses, and
//! registration spam through the classic port. Each attacker is slowed then refused with
//! "too many failed logins from this address; try again in N s", while the victim still
//! logs in at once from another address and front door, with the same password.
mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

use client::{Client, ClientConfig};

const CONFIG: &str = r#"
[auth]
login_failure_delay_ms = 20
max_login_failures = 4
max_registrations = 3
limit_loopback = true
"#;
const PROMPT: &str = "% ";
const BLOCKED: &str = "too many failed logins from this address; try again in ";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// A classic-port session from the local address `from`.
struct Classic {
    stream: TcpStream,
}

impl Classic {
    fn open(server: &TestServer, from: &str) -> Classic {
        let addr: std::net::SocketAddr = server.log_value("classic").parse().expect("addr");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let stream = rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(std::net::SocketAddr::new(ip(from), 0))
                .expect("bind");
            socket.connect(addr).await.expect("connect")
        });
        let stream = stream.into_std().expect("std stream");
        stream.set_nonblocking(false).expect("blocking");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        let mut c = Classic { stream };
        c.until_prompt();
        c
    }

    /// Reads until the prompt; returns what came before it.
    fn until_prompt(&mut self) -> String {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        let deadline = Instant::now() + Duration::from_secs(60);
        while !buf.ends_with(PROMPT.as_bytes()) {
            assert!(Instant::now() < deadline, "no prompt");
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

/// A SCRAM login over Kafka SASL from the local address `from`: Ok or the server's text.
fn kafka_login(server: &TestServer, from: &str, user: &str, password: &str) -> Result<(), String> {
    let config = ClientConfig::new(&server.addr)
        .local_addr(ip(from))
        .sasl_scram(user, password);
    Client::connect(config).map(drop).map_err(|e| e.to_string())
}

fn start() -> (TestServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CONFIG).expect("cfg");
    let s = TestServer::start(&[
        "--config",
        cfg.to_str().expect("utf8"),
        "--classic-listen",
        "127.0.0.1:0",
    ]);
    (s, dir)
}

/// Registers `users` (password `pw-<name>`) through the classic port from `from`.
fn register(s: &TestServer, from: &str, users: &[&str]) {
    let mut c = Classic::open(s, from);
    for u in users {
        assert_eq!(
            c.cmd(&format!("register {u} {u}@example.com pw-{u}")),
            "Register successfully."
        );
    }
}

#[test]
fn classic_port_guessing_slows_the_attacker_address_not_the_victim() {
    let (s, _dir) = start();
    register(&s, "127.0.0.9", &["vicky"]);
    let mut attacker = Classic::open(&s, "127.0.0.5");
    for i in 0..4 {
        assert_eq!(
            attacker.cmd(&format!("login vicky guess{i}")),
            "Login failed."
        );
    }
    // The broker slowed (20, 40, 80, 160 ms) and logged the real address, not the
    // loopback the port uses.
    eventually(
        "a slowed failure logged for the real peer",
        Duration::from_secs(10),
        || {
            s.log_text().lines().any(|l| {
                l.contains("failed login")
                    && l.contains("peer=127.0.0.5")
                    && l.contains("delay_ms=160")
            })
        },
    );
    let refused = attacker.cmd("login vicky guess4");
    assert!(refused.starts_with(BLOCKED), "{refused}");
    // Even the right password is refused from the attacker's address.
    let refused = attacker.cmd("login vicky pw-vicky");
    assert!(refused.starts_with(BLOCKED), "{refused}");
    assert_eq!(attacker.cmd("whoami"), "Please login first.");
    // The victim logs in at once: another classic user (same internal loopback) and Kafka.
    let mut victim = Classic::open(&s, "127.0.0.6");
    assert_eq!(victim.cmd("login vicky pw-vicky"), "Welcome, vicky.");
    assert_eq!(kafka_login(&s, "127.0.0.3", "vicky", "pw-vicky"), Ok(()));
}

#[test]
fn kafka_sasl_guessing_counts_per_address_across_accounts_and_own_logins() {
    let (s, _dir) = start();
    register(&s, "127.0.0.9", &["vicky", "bob", "mal"]);
    // (c) Guessing from 127.0.0.2, with the attacker's own successful login in between:
    // it does not reset the address's count.
    for i in 0..2 {
        let e = kafka_login(&s, "127.0.0.2", "vicky", &format!("guess{i}")).expect_err("wrong");
        assert!(e.contains("invalid credentials"), "{e}");
    }
    assert_eq!(kafka_login(&s, "127.0.0.2", "mal", "pw-mal"), Ok(()));
    for i in 2..4 {
        let e = kafka_login(&s, "127.0.0.2", "vicky", &format!("guess{i}")).expect_err("wrong");
        assert!(e.contains("invalid credentials"), "{e}");
    }
    let e = kafka_login(&s, "127.0.0.2", "vicky", "pw-vicky").expect_err("blocked");
    assert!(e.contains(BLOCKED), "{e}");
    // (b) Alternating accounts from 127.0.0.4 keeps counting for the address.
    for (i, user) in ["vicky", "bob", "vicky", "bob"].iter().enumerate() {
        let e = kafka_login(&s, "127.0.0.4", user, &format!("guess{i}")).expect_err("wrong");
        assert!(e.contains("invalid credentials"), "{e}");
    }
    let e = kafka_login(&s, "127.0.0.4", "bob", "pw-bob").expect_err("blocked");
    assert!(e.contains(BLOCKED), "{e}");
    // The victims still log in at once from elsewhere, with unchanged passwords.
    assert_eq!(kafka_login(&s, "127.0.0.3", "vicky", "pw-vicky"), Ok(()));
    assert_eq!(kafka_login(&s, "127.0.0.3", "bob", "pw-bob"), Ok(()));
    let mut victim = Classic::open(&s, "127.0.0.6");
    assert_eq!(victim.cmd("login vicky pw-vicky"), "Welcome, vicky.");
}

#[test]
fn classic_port_registrations_are_limited_per_real_address() {
    let (s, _dir) = start();
    register(&s, "127.0.0.9", &["vicky"]);
    let mut spammer = Classic::open(&s, "127.0.0.7");
    for u in ["spam1", "spam2", "spam3"] {
        assert_eq!(
            spammer.cmd(&format!("register {u} {u}@example.com pw")),
            "Register successfully."
        );
    }
    let refused = spammer.cmd("register spam4 spam4@example.com pw");
    assert_eq!(
        refused,
        "too many registrations from this address; try again later"
    );
    assert_eq!(spammer.cmd("login spam4 pw"), "Login failed.");
    // Another classic user registers as usual; the victim's account is untouched.
    let mut other = Classic::open(&s, "127.0.0.8");
    assert_eq!(
        other.cmd("register newbie newbie@example.com pw-newbie"),
        "Register successfully."
    );
    assert_eq!(kafka_login(&s, "127.0.0.3", "vicky", "pw-vicky"), Ok(()));
}

/// The per-address connection limit counts each classic user on their real address: the
/// classic port's own connections all come from loopback, but each moves its count to the
/// address the port vouches for, so a class on the classic port is not capped by
/// loopback's `max_connections_per_ip`, and one classic user cannot use up the others'.
#[test]
fn classic_sessions_count_against_their_real_address_not_loopback() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[broker]\nmax_connections_per_ip = 12\n").expect("cfg");
    let s = TestServer::start(&[
        "--config",
        cfg.to_str().expect("utf8"),
        "--classic-listen",
        "127.0.0.1:0",
    ]);
    register(&s, "127.0.0.9", &["u1", "u2", "u3", "u4", "u5", "u6"]);
    // Six people, each logged in with a live feed: together they hold far more than 12
    // connections to the broker, all from the port's loopback socket address.
    let mut sessions = Vec::new();
    for i in 1..=6 {
        let mut c = Classic::open(&s, &format!("127.0.0.{}", 20 + i));
        assert_eq!(
            c.cmd(&format!("login u{i} pw-u{i}")),
            format!("Welcome, u{i}.")
        );
        assert!(c.cmd("list-board").contains("Moderator"));
        sessions.push(c);
    }
    // Everyone is still served, and the first one posts and is seen by the last.
    assert_eq!(
        sessions[0].cmd("create-board NP"),
        "Create board successfully."
    );
    assert!(sessions[5].cmd("list-board").contains("NP"));
    assert_eq!(kafka_login(&s, "127.0.0.3", "u1", "pw-u1"), Ok(()));
}
