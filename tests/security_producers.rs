//! Rule 3 of the security model (producer identities), attacked for real against the
//! `bbs-server` binary: alice's idempotent kafka-python producer gets a producer id; bob
//! (logged in with SCRAM) and an anonymous client then send raw Produce requests with
//! alice's id, epoch and sequences (one that today is dropped as alice's duplicate, one that
//! today is appended as alice's), bump alice's epoch with InitProducerId and write with the
//! bumped epoch, and use an id the server never issued. Every attempt must be refused with
//! INVALID_PRODUCER_ID_MAPPING and a message; alice's next writes still land (not dropped
//! as duplicates, not fenced), also after a restart, and reading the topic back as alice
//! shows each of her records exactly once and nothing of the attackers'.
mod common;
#[path = "support/raw_produce.rs"]
mod raw_produce;
use common::*;
use raw_produce::*;
use std::process::{Command, Stdio};
use std::time::Duration;
use wire::ErrorCode;

const T: Duration = Duration::from_secs(90);

/// Adds `user` with `password` through the operator CLI (the server may be running).
fn add_user(data: &std::path::Path, user: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .arg("--data-dir")
        .arg(data)
        .args(["users", "add", user])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn users");
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(format!("{password}\n").as_bytes())
            .expect("password");
    }
    ok(child.wait_with_output().expect("wait"), "users add");
}

fn read_as_alice(addr: &str) -> Vec<String> {
    let out = ok(
        python(
            "sec_idem.py",
            &[addr, "alice", "alice-secret", TOPIC, "read"],
            T,
        ),
        "read as alice",
    );
    out.lines().map(str::to_string).collect()
}

#[test]
fn other_identities_cannot_use_or_bump_a_producer_id() {
    let mut s = TestServer::start(&[]);
    add_user(&s.data, "alice", "alice-secret");
    add_user(&s.data, "bob", "bob-secret");
    let out = ok(
        python(
            "sec_idem.py",
            &[
                &s.addr,
                "alice",
                "alice-secret",
                TOPIC,
                "produce",
                "3",
                "alice",
            ],
            T,
        ),
        "alice's idempotent producer",
    );
    let mut f = out
        .lines()
        .find_map(|l| l.strip_prefix("PID "))
        .expect("PID line")
        .split_whitespace();
    let pid: i64 = f.next().and_then(|v| v.parse().ok()).expect("pid");
    let epoch: i16 = f.next().and_then(|v| v.parse().ok()).expect("epoch");
    assert!(pid >= 0, "alice got a producer id");

    let bob = connect(&s.addr, Some(("bob", "bob-secret")));
    let anon = connect(&s.addr, None);
    for (who, c) in [("bob", &bob), ("anonymous", &anon)] {
        // Alice's last batch again: today answered as her duplicate and dropped.
        let r = produce(c, pid, epoch, 2, &format!("{who}-dup"));
        assert_refused(
            &r,
            &format!("{who} replaying alice's sequence"),
            "belongs to another client",
        );
        // Alice's next sequence: today appended as hers, and her own next batch then
        // dropped as a duplicate.
        let r = produce(c, pid, epoch, 3, &format!("{who}-next"));
        assert_refused(
            &r,
            &format!("{who} writing alice's next sequence"),
            "belongs to another client",
        );
        // Bumping her epoch, then writing with it: today that fences alice.
        let b = bump(c, pid, epoch);
        assert_eq!(
            b.error_code,
            ErrorCode::INVALID_PRODUCER_ID_MAPPING,
            "{who} bumping alice's epoch: {b:?}"
        );
        assert_eq!(b.producer_id.0, -1, "{who} got no id");
        let r = produce(c, pid, epoch + 1, 0, &format!("{who}-bumped"));
        assert_refused(
            &r,
            &format!("{who} writing with a bumped epoch"),
            "belongs to another client",
        );
        // An id the server never issued.
        let r = produce(c, 4_242_424, 0, 0, &format!("{who}-forged"));
        assert_refused(
            &r,
            &format!("{who} with a forged id"),
            "not issued by this server",
        );
        let b = bump(c, 4_242_424, 0);
        assert_eq!(
            b.error_code,
            ErrorCode::INVALID_PRODUCER_ID_MAPPING,
            "{who} bumping a forged id"
        );
    }
    assert!(s.wait_for_log("produce refused", Duration::from_secs(10)));

    // Alice (her own identity, a new connection) continues where her producer stopped:
    // written, not dropped as a duplicate, not fenced.
    let alice = connect(&s.addr, Some(("alice", "alice-secret")));
    let r = produce(&alice, pid, epoch, 3, "alice-3");
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 3),
        "alice's next batch: {r:?}"
    );

    // Ownership survives a restart: no window to take the id over.
    drop((bob, anon, alice));
    s.restart_after_kill();
    let bob = connect(&s.addr, Some(("bob", "bob-secret")));
    let r = produce(&bob, pid, epoch, 4, "bob-after-restart");
    assert_refused(&r, "bob after a restart", "belongs to another client");
    let alice = connect(&s.addr, Some(("alice", "alice-secret")));
    let r = produce(&alice, pid, epoch, 4, "alice-4");
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 4),
        "alice after a restart: {r:?}"
    );
    // A retry of that batch is still recognised as hers.
    let r = produce(&alice, pid, epoch, 4, "alice-4");
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 4),
        "alice's retry: {r:?}"
    );

    // A fresh kafka-python producer of alice's still works too.
    ok(
        python(
            "sec_idem.py",
            &[
                &s.addr,
                "alice",
                "alice-secret",
                TOPIC,
                "produce",
                "1",
                "alice-again",
            ],
            T,
        ),
        "alice's second producer",
    );
    let got = read_as_alice(&s.addr);
    let want: Vec<String> = [
        "alice-0",
        "alice-1",
        "alice-2",
        "alice-3",
        "alice-4",
        "alice-again-0",
    ]
    .iter()
    .map(|v| v.to_string())
    .collect();
    assert_eq!(got, want, "the topic as alice reads it");
}

#[test]
fn an_anonymous_producer_id_belongs_to_its_address() {
    let s = TestServer::start(&[]);
    add_user(&s.data, "bob", "bob-secret");
    let out = ok(
        python(
            "sec_idem.py",
            &[&s.addr, "-", "-", TOPIC, "produce", "2", "anon"],
            T,
        ),
        "anonymous idempotent producer",
    );
    let pid: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("PID "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("pid");
    // A logged-in user may not write as the anonymous client.
    let bob = connect(&s.addr, Some(("bob", "bob-secret")));
    let r = produce(&bob, pid, 0, 2, "bob-as-anon");
    assert_refused(
        &r,
        "bob with the anonymous client's id",
        "belongs to another client",
    );
    let b = bump(&bob, pid, 0);
    assert_eq!(
        b.error_code,
        ErrorCode::INVALID_PRODUCER_ID_MAPPING,
        "bob bumping: {b:?}"
    );
    // The anonymous client reconnecting from its address continues.
    let anon = connect(&s.addr, None);
    let r = produce(&anon, pid, 0, 2, "anon-2");
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 2),
        "anonymous reconnect: {r:?}"
    );
    let b = bump(&anon, pid, 0);
    assert_eq!(
        (b.error_code, b.producer_id.0, b.producer_epoch),
        (0, pid, 1)
    );
    let out = ok(
        python("sec_idem.py", &[&s.addr, "-", "-", TOPIC, "read"], T),
        "read",
    );
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(got, ["anon-0", "anon-1", "anon-2"]);
}
