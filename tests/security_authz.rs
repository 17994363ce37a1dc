//! Rules 1 and 2 of the security model, attacked for real: against the real `bbs-server`
//! (with the BBS installed), bob or an anonymous client uses confluent-kafka and
//! kafka-python (`tests/interop/authz_attacks.py`) on alice's board, the directories, new
//! BBS topics, alice's ordinary topic and alice's own groups; bob (kcat) and an anonymous
//! connection (a raw Fetch) read alice's mailbox. Each attack must be refused
//! with the right Kafka error code and message, and alice then reads her state back
//! (records, settings, read marks) to prove nothing changed. Positive checks: alice
//! manages and deletes her own ordinary topic; the online list shows names only.
mod common;
use common::*;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bbs::backend::kafka::KafkaBackend;
use bbs::backend::{Backend, Link};
use bbs::codec::{BbsRecord, Entry};
use bbs::prefs::ReadMark;
use client::{Client, ClientConfig, ConsumerConfig, NewTopic, ProducerConfig, Record};

const T: Duration = Duration::from_secs(180);
const BOARD: &str = "board.NP";
const NOTES: &str = "alice.notes";

/// A server where alice (password `apw`) has board NP with two posts, a read mark on it,
/// and an ordinary topic `alice.notes` with three records; bob (`bpw`) is registered.
struct World {
    server: TestServer,
    alice: Box<dyn Link>,
}

fn world() -> World {
    let server = TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let mut alice = backend.connect().expect("connect");
    alice
        .register("alice", "a@x", "apw")
        .expect("register alice");
    alice.register("bob", "b@x", "bpw").expect("register bob");
    alice.login("alice", "apw").expect("login alice");
    alice
        .append(Entry::new(BbsRecord::Board {
            name: "NP".into(),
            creator: "alice".into(),
        }))
        .expect("board");
    for title in ["one", "two"] {
        alice
            .append(Entry::new(BbsRecord::Post {
                board: "NP".into(),
                id: None,
                author: "alice".into(),
                title: title.into(),
                body: "body".into(),
            }))
            .expect("post");
    }
    let mark = ReadMark {
        upto: 2,
        ..ReadMark::default()
    };
    alice.put_read_mark("NP", &mark).expect("read mark");
    let client = Client::connect(ClientConfig::new(&server.addr).sasl_scram("alice", "apw"))
        .expect("alice client");
    client
        .admin()
        .create_topics(&[NewTopic::new(NOTES, 1)])
        .expect("alice creates her topic");
    let producer = client
        .producer(ProducerConfig::default())
        .expect("producer");
    for i in 0..3 {
        producer
            .send(Record::new(NOTES).value(format!("note {i}").into_bytes()))
            .and_then(|h| h.wait())
            .expect("note");
    }
    World { server, alice }
}

/// What authz_attacks.py printed: lines of three tab-separated fields.
#[derive(Debug, PartialEq, Eq)]
struct Report(Vec<[String; 3]>);

impl Report {
    /// The second and third fields of the first line whose first is `key`.
    fn get(&self, key: &str) -> (&str, &str) {
        self.0
            .iter()
            .find(|l| l[0] == key)
            .map(|l| (l[1].as_str(), l[2].as_str()))
            .unwrap_or_else(|| panic!("no {key:?} in {self:#?}"))
    }

    /// The value of `field` on the line about `what` (`TOPIC FIELD VALUE`).
    fn field(&self, what: &str, field: &str) -> &str {
        self.0
            .iter()
            .find(|l| l[0] == what && l[1] == field)
            .map(|l| l[2].as_str())
            .unwrap_or_else(|| panic!("no {what} {field} in {self:#?}"))
    }

    /// Every line whose first field is `key`, as its other two fields.
    fn all(&self, key: &str) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .filter(|l| l[0] == key)
            .map(|l| (l[1].as_str(), l[2].as_str()))
            .collect()
    }
}

fn attacks(mode: &str, addr: &str, who: (&str, &str), args: &[&str]) -> Report {
    let mut all = vec![mode, addr, who.0, who.1];
    all.extend_from_slice(args);
    let run = python("authz_attacks.py", &all, T);
    // Shown with a failing test's output: the clients' own logs.
    eprintln!("{mode} stderr:\n{}", String::from_utf8_lossy(&run.stderr));
    let out = ok(run, mode);
    Report(
        out.lines()
            .map(|l| {
                let mut f = l.splitn(3, '\t').map(str::to_string);
                let mut next = || f.next().unwrap_or_default();
                [next(), next(), next()]
            })
            .collect(),
    )
}

/// Asserts that `key` was refused with `code` and a message containing `msg`.
fn refused(report: &Report, key: &str, code: i64, msg: &str) {
    let (got, message) = report.get(key);
    assert_eq!(got, code.to_string(), "{key}: {message}\nall: {report:#?}");
    assert!(
        message.contains(msg),
        "{key}: message should contain {msg:?}: {message}\nall: {report:#?}"
    );
}

/// Alice's view of her topics: settings, partitions and offsets.
fn topic_state(w: &World) -> Report {
    attacks(
        "state",
        &w.server.addr,
        ("alice", "apw"),
        &[BOARD, NOTES, "bbs.boards", "bbs.users"],
    )
}

fn assert_alice_unchanged(w: &World, before: &Report) {
    assert_eq!(&topic_state(w), before, "alice's topics changed");
    let prefs = w.alice.prefs().expect("alice's prefs");
    assert_eq!(prefs.read.get("NP").map(|m| m.upto), Some(2), "{prefs:?}");
    w.alice.sync().expect("sync");
    let mut posts = 0;
    w.alice
        .with_view(&mut |v| posts = v.board_posts("NP").count());
    assert_eq!(posts, 2, "alice's posts");
}

fn topic_attacks_are_refused(who: (&str, &str)) {
    let w = world();
    let before = topic_state(&w);
    assert_eq!(before.field(BOARD, "retention.ms"), "-1");
    assert_eq!(before.field(BOARD, "latest"), "2");
    assert_eq!(before.field(NOTES, "latest"), "3");
    let r = attacks("topics", &w.server.addr, who, &[BOARD, NOTES]);
    refused(&r, "delete board.NP", 29, "only the operator may delete it");
    refused(&r, "delete bbs.boards", 29, "BBS directory");
    refused(&r, "delete bbs.users", 29, "BBS directory");
    refused(&r, "create board.Y", 29, "the server creates it");
    refused(&r, "create mail.carol", 29, "the server creates it");
    refused(&r, "create bbs.boards", 29, "the server creates it");
    refused(&r, "alter board.NP", 29, "no client may change");
    refused(&r, "incremental board.NP", 29, "no client may change");
    refused(&r, "incremental bbs.users", 29, "no client may change");
    refused(&r, "partitions board.NP", 29, "no client may change");
    // DeleteRecords responses carry no message: the code is all a client sees.
    assert_eq!(r.get("records board.NP").0, "29");
    assert_eq!(r.get("records alice.notes").0, "29");
    if who.0 == "-" {
        refused(&r, "delete alice.notes", 29, "may not delete");
        refused(&r, "alter alice.notes", 29, "may not alter");
    } else {
        refused(&r, "delete alice.notes", 29, "created by user:alice");
        refused(&r, "alter alice.notes", 29, "created by user:alice");
    }
    assert_alice_unchanged(&w, &before);
    assert_eq!(before.field(BOARD, "partitions"), "1");
}

#[test]
fn bob_cannot_touch_bbs_topics_or_alices_topic() {
    topic_attacks_are_refused(("bob", "bpw"));
}

#[test]
fn anonymous_cannot_touch_bbs_topics_or_alices_topic() {
    topic_attacks_are_refused(("-", ""));
}

#[test]
fn alice_manages_and_deletes_her_own_topic_and_the_board_exists_at_once() {
    let w = world();
    // The board's topic was made by the server with the server's settings.
    let s = topic_state(&w);
    assert_eq!(s.field(BOARD, "retention.ms"), "-1");
    assert_eq!(s.field("bbs.users", "cleanup.policy"), "compact");
    let r = attacks("own", &w.server.addr, ("alice", "apw"), &["alice.scratch"]);
    for step in ["create", "incremental", "partitions", "records", "delete"] {
        assert_eq!(r.get(step).0, "0", "{step}: {r:#?}");
    }
    assert_eq!(r.field("state", "retention.ms"), "60000");
    assert_eq!(r.field("state", "partitions"), "2");
    assert_eq!(r.field("state", "earliest"), "3");
    assert_eq!(r.field("state", "latest"), "5");
    // Her other topic is untouched, and the scratch topic is gone.
    let after = attacks("state", &w.server.addr, ("alice", "apw"), &[NOTES]);
    assert_eq!(after.field(NOTES, "latest"), "3");
}

fn group_attacks_are_refused(who: (&str, &str)) {
    let w = world();
    let before = topic_state(&w);
    let r = attacks(
        "groups",
        &w.server.addr,
        who,
        &["bbs-prefs:alice", "SESSION:alice"],
    );
    let (n, list) = r.get("groups");
    assert_eq!(n, "2", "alice's session group must be listed: {r:#?}");
    let groups: Vec<String> = list.split(',').map(str::to_string).collect();
    for g in &groups {
        refused(&r, &format!("describe {g}"), 30, "");
        refused(&r, &format!("offsets {g}"), 30, "");
        refused(&r, &format!("delete {g}"), 30, "");
        refused(&r, &format!("commit {g}"), 30, "");
        refused(&r, &format!("join {g}"), 30, "");
    }
    assert_alice_unchanged(&w, &before);
    // Her feed is still in its session group: she is still online.
    assert_eq!(w.alice.online().expect("online"), vec!["alice".to_string()]);
}

#[test]
fn bob_cannot_use_alices_groups() {
    group_attacks_are_refused(("bob", "bpw"));
}

#[test]
fn anonymous_cannot_use_alices_groups() {
    group_attacks_are_refused(("-", ""));
}

#[test]
fn members_hosts_are_shown_only_to_their_principal_and_online_shows_names() {
    let w = world();
    let addr = &w.server.addr;
    // A class's ordinary group with members from two users, each polling in its thread.
    let stop = Arc::new(AtomicBool::new(false));
    let member = |user: &'static str, pw: &'static str| {
        let (addr, stop) = (addr.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let client = Client::connect(
                ClientConfig::new(&addr)
                    .sasl_scram(user, pw)
                    .client_id(&format!("{user}-laptop")),
            )
            .expect("client");
            let mut consumer = client
                .consumer(ConsumerConfig::group("hw4").subscribe(&[NOTES]))
                .expect("consumer");
            while !stop.load(Ordering::Relaxed) {
                let _ = consumer.poll(Duration::from_millis(100));
            }
            let _ = consumer.close();
        })
    };
    let members = [member("alice", "apw"), member("bob", "bpw")];
    let seen = |who: (&str, &str)| attacks("hosts", addr, who, &["hw4"]);
    eventually("both members in the group", Duration::from_secs(60), || {
        seen(("bob", "bpw")).all("member").len() == 2
    });
    let as_bob = seen(("bob", "bpw"));
    for (id, host) in as_bob.all("member") {
        if id == "bob-laptop" {
            assert_eq!(host, "/127.0.0.1", "bob sees his own host: {as_bob:#?}");
        } else {
            assert_eq!(id, "alice-laptop");
            assert_eq!(host, "", "bob must not see alice's host: {as_bob:#?}");
        }
    }
    let anon = seen(("-", ""));
    assert_eq!(anon.all("member").len(), 2);
    for (_, host) in anon.all("member") {
        assert_eq!(host, "", "anonymous sees no host: {anon:#?}");
    }
    // The online list: names for everyone, from ListGroups alone.
    let backend = KafkaBackend::new(addr);
    let mut bob = backend.connect().expect("connect");
    bob.login("bob", "bpw").expect("login bob");
    let stranger = backend.connect().expect("connect");
    eventually("alice and bob online", Duration::from_secs(60), || {
        stranger.online().ok() == Some(vec!["alice".to_string(), "bob".to_string()])
    });
    stop.store(true, Ordering::Relaxed);
    for m in members {
        m.join().expect("member thread");
    }
}

/// kcat's output (both streams) reading all of `topic` from the start, as `who`
/// (`("-", "")`: anonymous).
fn kcat_read(addr: &str, who: (&str, &str), topic: &str) -> (bool, String) {
    let mut args = vec!["-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q"];
    let user = format!("sasl.username={}", who.0);
    let password = format!("sasl.password={}", who.1);
    if who.0 != "-" {
        args.extend([
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanisms=SCRAM-SHA-256",
            "-X",
            &user,
            "-X",
            &password,
        ]);
    }
    let out = kcat(&args, None, Duration::from_secs(60));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Fetches are answered on the connection's direct path (`handlers::handle_at_once`);
/// its authorization must hold there. bob has a letter delivered to alice; then `read`
/// tries alice's mailbox (it must get nothing), and alice reads her one letter back.
fn mailbox_read_is_refused(read: impl FnOnce(&str) -> String) {
    let w = world();
    let bob = Client::connect(ClientConfig::new(&w.server.addr).sasl_scram("bob", "bpw"))
        .expect("bob client");
    bob.producer(ProducerConfig::default())
        .expect("producer")
        .send(
            Record::new("mail.alice")
                .value(b"the secret exam answers".to_vec())
                .header("bbs.kind", b"mail".to_vec())
                .header("bbs.author", b"bob".to_vec())
                .header("bbs.subject", b"private".to_vec()),
        )
        .and_then(|h| h.wait())
        .expect("bob's letter to alice");
    let got = read(&w.server.addr);
    assert!(!got.contains("secret exam"), "{got}");
    let (ok, text) = kcat_read(&w.server.addr, ("alice", "apw"), "mail.alice");
    assert!(ok, "alice reads her mailbox: {text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("the secret exam answers"))
            .count(),
        1,
        "alice's mailbox holds her one letter: {text}"
    );
}

/// bob with kcat (a real client, logged in).
#[test]
fn bob_cannot_read_alices_mailbox() {
    mailbox_read_is_refused(|addr| {
        let (read, text) = kcat_read(addr, ("bob", "bpw"), "mail.alice");
        assert!(!read, "bob read alice's mailbox: {text}");
        assert!(
            text.to_lowercase().contains("authorization failed"),
            "{text}"
        );
        text
    });
}

/// An anonymous connection sends the Fetch itself (kcat would stop at the metadata).
#[test]
fn anonymous_cannot_read_alices_mailbox() {
    mailbox_read_is_refused(|addr| {
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(T)).expect("timeout");
        c.write_all(&raw::fetch_request("mail.alice", 0, 100))
            .expect("send fetch");
        let (code, bytes) = raw::fetch_answer(&mut c);
        assert_eq!(code, 29, "TOPIC_AUTHORIZATION_FAILED");
        assert_eq!(bytes, 0, "no records");
        format!("code {code}, {bytes} bytes")
    });
}

/// One Fetch that asks for alice's mailbox around a topic anonymous may read (and for the
/// mailbox twice): the readable topic is answered, each mailbox entry refused, whatever its
/// place in the request (the broker checks each topic of a fetch on its own).
#[test]
fn anonymous_cannot_read_alices_mailbox_between_readable_topics() {
    mailbox_read_is_refused(|addr| {
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(T)).expect("timeout");
        c.write_all(&raw::fetch_request_topics(&[
            "mail.alice",
            NOTES,
            "mail.alice",
        ]))
        .expect("send fetch");
        let got = raw::fetch_answers_v12(&mut c);
        let mail = |at: usize| (got[at].0.as_str(), got[at].1, got[at].2);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            mail(0),
            ("mail.alice", 29, 0),
            "refused, no records: {got:?}"
        );
        assert_eq!(
            mail(2),
            ("mail.alice", 29, 0),
            "refused, no records: {got:?}"
        );
        assert_eq!((got[1].0.as_str(), got[1].1), (NOTES, 0), "{got:?}");
        assert!(got[1].2 > 0, "the readable topic's records came: {got:?}");
        format!("{got:?}")
    });
}
