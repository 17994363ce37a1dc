//! Front mode (issue 14, phase 1), with real processes and real clients: an upstream
//! `bbs-server --plain` whose only account is the service account `svc`, and two front
//! servers `bbs-server --kafka UPSTREAM --kafka-config FILE` logging in to it as `svc`
//! over SCRAM-SHA-256. Records written through one front are read through the other
//! byte for byte (kafka-python with a consumer group and a committed offset, and kcat);
//! clients see only the front in Metadata; the front refuses what a single server
//! refuses (nothing reaches the upstream); acknowledged records survive a SIGKILLed front;
//! accounts are shared through the cluster.

mod common;
#[path = "support/fronts.rs"]
mod fronts;
#[path = "support/upstream.rs"]
mod upstream;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::raw::{fetch_answer, fetch_request};
use common::{kcat, ok, python};
use fronts::{Fronts, Setup};

const ALICE_PASSWORD: &str = "alice-pw-22";

/// The upstream (tests/support/upstream.rs: our own `--plain` or `BBS_FRONT_UPSTREAM`)
/// and two fronts over it, `alice` in A's data directory only: A seeds the shared
/// credential topic with her, B learns her from it.
fn cluster() -> Fronts {
    Fronts::start_with(&Setup {
        bbs: false,
        a_users: &[("alice", ALICE_PASSWORD)],
        a_sequences: false,
    })
}

fn sasl_args(addr: &str) -> Vec<String> {
    [
        "-b",
        addr,
        "-X",
        "security.protocol=SASL_PLAINTEXT",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-256",
        "-X",
        "sasl.username=alice",
        "-X",
        &format!("sasl.password={ALICE_PASSWORD}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Registers `user` through the front at `addr` (kafka-python); what the script printed.
fn register(addr: &str, user: &str, password: &str) -> String {
    ok(
        python(
            "auth_register.py",
            &[addr, user, password],
            Duration::from_secs(60),
        ),
        "auth_register.py",
    )
}

fn kcat_as_alice(addr: &str, args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut all = sasl_args(addr);
    all.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    ok(kcat(&refs, stdin, Duration::from_secs(60)), "kcat")
}

#[test]
fn records_written_through_one_front_are_read_through_the_other() {
    let c = cluster();
    let out = ok(
        python(
            "front_roundtrip.py",
            &[
                &c.a.addr,
                &c.b.addr,
                "exchange",
                "300",
                "readers",
                "alice",
                ALICE_PASSWORD,
            ],
            Duration::from_secs(120),
        ),
        "front_roundtrip.py",
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    assert_eq!(field("count"), "300", "{out}");
    assert_eq!(
        field("sent"),
        field("got"),
        "records changed on the way: {out}"
    );
    assert_eq!(field("committed"), "300", "{out}");
    assert_eq!(field("producer_brokers"), c.a.addr, "{out}");
    assert_eq!(field("consumer_brokers"), c.b.addr, "{out}");

    // kcat: produce through B, consume through A in a group; the group's committed
    // offset, read back through B, is where A's consumer stopped.
    let lines: String = (0..50).map(|i| format!("key{i}:line {i}\n")).collect();
    kcat_as_alice(
        &c.b.addr,
        &["-P", "-t", "lines", "-K:"],
        Some(lines.as_bytes()),
    );
    let got = kcat_as_alice(
        &c.a.addr,
        &[
            "-G",
            "kgroup",
            "-o",
            "beginning",
            "-e",
            "-f",
            "%k:%s\n",
            "lines",
        ],
        None,
    );
    assert_eq!(got, lines);
    let listing = kcat_as_alice(&c.a.addr, &["-L"], None);
    assert!(
        listing.contains(&format!("broker 0 at {}", c.a.addr)),
        "{listing}"
    );
    assert!(listing.contains(" 1 brokers:"), "{listing}");
    assert!(!c.upstream.named_in(&listing), "{listing}");
    assert!(!listing.contains("__"), "internal topics listed: {listing}");
    // The same bytes are in the upstream itself (read directly).
    let direct = c.upstream.tool(&["read", "lines"], b"");
    assert_eq!(direct, lines);
}

#[test]
fn the_front_refuses_what_a_single_server_refuses_and_nothing_reaches_upstream() {
    let c = cluster();
    // Anonymous: a mailbox is its owner's (BBS authorizer), `__` names are the broker's.
    for topic in ["mail.alice", "__secrets"] {
        let out = kcat(
            &["-b", &c.a.addr, "-P", "-t", topic, "-p", "0"],
            Some(b"sneaky\n"),
            Duration::from_secs(60),
        );
        let text = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success() || text.contains("uthoriz"),
            "anonymous write to {topic} was not refused: {text}"
        );
    }
    // Alice may not read someone else's mailbox either.
    let out = kcat(
        &[
            &sasl_args(&c.b.addr)[..],
            &["-C", "-t", "mail.bob", "-o", "beginning", "-e"].map(String::from)[..],
        ]
        .concat()
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        None,
        Duration::from_secs(60),
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("sneaky"));
    // Read the upstream back directly: `__secrets` was never created, and alice's
    // mailbox (made with her profile) holds no such record.
    let listing = c.upstream.tool(&["list"], b"");
    assert!(!listing.contains("__secrets"), "{listing}");
    if listing.lines().any(|t| t == "mail.alice") {
        let mailbox = c.upstream.tool(&["read", "mail.alice"], b"");
        assert!(
            !mailbox.contains("sneaky"),
            "the anonymous write reached alice's mailbox"
        );
    }
}

#[test]
fn acknowledged_records_survive_a_front_killed_mid_run() {
    let mut c = cluster();
    // Create the topic first so the producer writes partition 0 from its first record.
    kcat_as_alice(
        &c.a.addr,
        &["-P", "-t", "survive", "-p", "0"],
        Some(b"start\n"),
    );
    let py = common::test_home().join("venv/bin/python");
    let mut producer = Command::new(py)
        .arg(common::repo().join("tests/interop/crash_producer.py"))
        .args([&c.a.addr, "survive", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn producer");
    let stdout = producer.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = line.trim().parse() {
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    let mut acked = Vec::new();
    while acked.len() < 2000 {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(v) => acked.push(v),
            Err(e) => panic!("the producer stalled after {} acks: {e}", acked.len()),
        }
    }
    c.a.kill9();
    // Whatever was acknowledged before the producer noticed is acknowledged too.
    while let Ok(v) = rx.recv_timeout(Duration::from_secs(2)) {
        acked.push(v);
    }
    let _ = producer.kill();
    let _ = producer.wait();
    let mut args = sasl_args(&c.b.addr);
    args.extend(["-C", "-t", "survive", "-o", "beginning", "-e", "-f", "%s\n"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kcat(&args, None, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "reading through B failed: {}\nB's log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        c.b.log_text()
    );
    let read = String::from_utf8_lossy(&out.stdout).into_owned();
    let present: std::collections::HashSet<u64> =
        read.lines().filter_map(|l| l.parse().ok()).collect();
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|v| !present.contains(v))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged records missing, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)]
    );
}

/// As on a single server (tests/broker_scale.rs), a request pipelined behind a fetch the
/// cluster holds is not kept waiting for the fetch's max_wait: the front answers the held
/// fetch at once with an immediate fetch of the same partition, then the request behind.
/// The socket's read timeout (20 s) is shorter than the fetches' max_wait (30 s).
#[test]
fn a_request_behind_a_held_fetch_is_not_kept_waiting() {
    let c = cluster();
    kcat_as_alice(&c.a.addr, &["-P", "-t", "held", "-p", "0"], Some(b"h0\n"));
    let mut s = std::net::TcpStream::connect(&c.a.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&fetch_request("held", 1, 30_000))
        .expect("send fetch");
    // Let the fetch reach the upstream and wait there, then pipeline another behind it.
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&fetch_request("held", 0, 30_000))
        .expect("send second fetch");
    assert_eq!(fetch_answer(&mut s), (0, 0), "the held fetch answers empty");
    let (code, bytes) = fetch_answer(&mut s);
    assert_eq!(code, 0);
    assert!(bytes > 0, "the fetch behind it is answered with its record");
}

/// Mistakes stop the server at start with the reason: mixed modes, a config file without
/// `--kafka`, the classic port without the BBS, and a wrong service-account password.
#[test]
fn bad_flags_and_a_wrong_service_password_stop_the_front_at_start() {
    let c = cluster();
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.properties");
    std::fs::write(
        &bad,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
         sasl.username=svc\nsasl.password=wrong\n",
    )
    .expect("write");
    let bad = bad.to_str().expect("utf8");
    let up = c.upstream.addr.as_str();
    let wrong = c.upstream.wrong_password(dir.path());
    let login = if let Some(wrong) = &wrong {
        Some((
            vec![
                "--kafka",
                up,
                "--kafka-config",
                wrong.to_str().expect("utf8"),
                "--listen",
                "127.0.0.1:0",
            ],
            "login failed|SCRAM: authentication failed",
        ))
    } else {
        eprintln!(
            "skipped the wrong-password case: the external upstream takes no SASL \
             (BBS_FRONT_UPSTREAM_CONFIG unset), so no password can be wrong"
        );
        None
    };
    for (args, why) in [
        (vec!["--plain", "--kafka", up], "takes no --kafka"),
        (vec!["--kafka-config", bad], "needs --kafka"),
        (
            vec!["--plain", "--classic-listen", "127.0.0.1:0"],
            "classic port needs the BBS",
        ),
    ]
    .into_iter()
    .chain(login)
    {
        let out = common::server_cmd(&args, &dir.path().join("front"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started");
        // A refused login reads "login failed" when the upstream answers SaslAuthenticate
        // with an error code, and "SCRAM: authentication failed" when it answers with a
        // SCRAM server error (Tansu).
        assert!(why.split('|').any(|w| err.contains(w)), "{args:?}: {err}");
    }
}

/// OffsetForLeaderEpoch (librdkafka 2.1+ validates positions with it) is forwarded to the
/// leader: the end offset of epoch 0 is the partition's end; an anonymous client is
/// refused a mailbox's, as on a single server.
#[test]
fn offset_for_leader_epoch_is_forwarded_with_the_same_checks() {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::{
        ApiKey, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, TopicName,
    };
    use kafka_protocol::protocol::StrBytes;
    let c = cluster();
    if c.upstream.lacks(&c.b.addr, ApiKey::OffsetForLeaderEpoch) {
        return;
    }
    kcat_as_alice(
        &c.a.addr,
        &["-P", "-t", "epochs", "-p", "0"],
        Some(b"e0\ne1\ne2\n"),
    );
    let mut req = OffsetForLeaderEpochRequest::default();
    for topic in ["epochs", "mail.alice"] {
        let mut t = OffsetForLeaderTopic::default();
        t.topic = TopicName(StrBytes::from_static_str(topic));
        let mut p = OffsetForLeaderPartition::default();
        p.partition = 0;
        p.leader_epoch = 0;
        p.current_leader_epoch = -1;
        t.partitions = vec![p];
        req.topics.push(t);
    }
    let mut s = std::net::TcpStream::connect(&c.b.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(&common::raw::encode_with(
        ApiKey::OffsetForLeaderEpoch,
        2,
        7,
        Some("front-test"),
        &req,
    ))
    .expect("send");
    let body = common::read_frame(&mut s).expect("answered");
    let (_, resp): (_, OffsetForLeaderEpochResponse) =
        wire::header::decode_response(bytes::Bytes::from(body), ApiKey::OffsetForLeaderEpoch, 2)
            .expect("decodes");
    let by_topic = |name: &str| {
        let t = resp
            .topics
            .iter()
            .find(|t| t.topic.0.as_str() == name)
            .expect("topic answered");
        (t.partitions[0].error_code, t.partitions[0].end_offset)
    };
    assert_eq!(by_topic("epochs"), (0, 3));
    assert_eq!(by_topic("mail.alice").0, 29, "TOPIC_AUTHORIZATION_FAILED");
}

/// ListGroups, DescribeGroups and DeleteGroups through a front: the group committed to
/// through one front is listed and described, an anonymous client may not delete it, its
/// user may.
#[test]
fn groups_are_listed_described_and_deleted_through_the_front() {
    let c = cluster();
    kcat_as_alice(&c.a.addr, &["-P", "-t", "gadmin", "-p", "0"], Some(b"x\n"));
    let out = ok(
        python(
            "front_groups.py",
            &[&c.b.addr, "gadmin", "g-admin", "alice", ALICE_PASSWORD],
            Duration::from_secs(120),
        ),
        "front_groups.py",
    );
    for line in [
        "listed_before=True",
        "state=Empty",
        "anonymous_delete=GroupAuthorizationFailedError",
        "delete=OK",
        "listed_after=False",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line} in:\n{out}");
    }
}

/// Accounts are shared through the cluster: `alice` exists only in A's data directory yet
/// logs in through B (every test above does), an account registered through B logs in
/// through A, and no client sees or reads the shared credential topic through a front.
#[test]
fn accounts_registered_through_one_front_log_in_through_the_other() {
    let c = cluster();
    let out = register(&c.b.addr, "carol", "carol-pw-3");
    assert!(out.contains("first: None"), "{out}");
    let carol = |addr: &str| {
        kcat(
            &[
                "-b",
                addr,
                "-X",
                "security.protocol=SASL_PLAINTEXT",
                "-X",
                "sasl.mechanisms=SCRAM-SHA-256",
                "-X",
                "sasl.username=carol",
                "-X",
                "sasl.password=carol-pw-3",
                "-L",
            ],
            None,
            Duration::from_secs(30),
        )
    };
    common::eventually("carol logs in through A", Duration::from_secs(20), || {
        carol(&c.a.addr).status.success()
    });
    let listing = kcat_as_alice(&c.a.addr, &["-L"], None);
    assert!(!listing.contains("credentials"), "{listing}");
    let out = kcat(
        &[
            &sasl_args(&c.a.addr)[..],
            &["-C", "-t", "bbs-front-credentials", "-o", "beginning", "-e"].map(String::from)[..],
        ]
        .concat()
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>(),
        None,
        Duration::from_secs(30),
    );
    assert!(
        !out.status.success() && out.stdout.is_empty(),
        "the shared credential topic was readable through a front"
    );
}

/// A Metadata request through a front that names only a refused topic (the fronts' shared
/// accounts) gets that topic's refusal and nothing else, from an anonymous client and from
/// another logged-in user alike, however the cluster answers the front's own request for
/// no topics (Kafka: none; Tansu: every topic); the accounts are untouched: the topic
/// holds as many records upstream, and alice still logs in through both fronts.
#[test]
fn metadata_through_a_front_names_only_the_topic_asked_for() {
    let c = cluster();
    register(&c.b.addr, "mallory", "mallory-pw-9");
    // Topics a curious client could otherwise see listed.
    kcat_as_alice(&c.a.addr, &["-P", "-t", "marks", "-p", "0"], Some(b"a\n"));
    c.upstream.tool(&["write", "mail.alice"], b"letter\n");
    let accounts = c.upstream.count("bbs-front-credentials");
    for (user, password) in [("-", "-"), ("mallory", "mallory-pw-9")] {
        for front in [&c.a.addr, &c.b.addr] {
            let out = ok(
                python(
                    "front_metadata.py",
                    &[front, user, password, "bbs-front-credentials"],
                    Duration::from_secs(60),
                ),
                "front_metadata.py",
            );
            assert_eq!(
                out.trim(),
                "topic=bbs-front-credentials error=TOPIC_AUTHORIZATION_FAILED",
                "{user} through {front}"
            );
        }
    }
    assert_eq!(c.upstream.count("bbs-front-credentials"), accounts);
    assert_eq!(c.upstream.count("mail.alice"), 1);
    for front in [&c.a.addr, &c.b.addr] {
        let listing = kcat_as_alice(front, &["-L"], None);
        assert!(listing.contains("marks"), "{listing}");
    }
}

/// Another logged-in user attacks through the front what a single server keeps the
/// victim's: writing to the victim's mailbox and committing in the victim's read-mark
/// group are refused, and the victim's committed offset and mailbox (read upstream
/// directly) are unchanged.
#[test]
fn another_user_cannot_write_a_mailbox_or_move_read_marks_through_the_front() {
    let c = cluster();
    register(&c.b.addr, "mallory", "mallory-pw-9");
    kcat_as_alice(
        &c.a.addr,
        &["-P", "-t", "marks", "-p", "0"],
        Some(b"a\nb\n"),
    );
    // The victim's mailbox holds one letter, written upstream by the service account.
    c.upstream.tool(&["write", "mail.alice"], b"letter\n");
    let out = ok(
        python(
            "front_attack.py",
            &[
                &c.b.addr,
                "marks",
                "alice",
                ALICE_PASSWORD,
                "mallory",
                "mallory-pw-9",
            ],
            Duration::from_secs(120),
        ),
        "front_attack.py",
    );
    for line in ["victim_commit=OK", "victim_offset=1"] {
        assert!(out.lines().any(|l| l == line), "no {line} in:\n{out}");
    }
    for attack in ["mail_write=", "attacker_commit="] {
        let outcome = out.lines().find(|l| l.starts_with(attack));
        assert!(
            outcome.is_some_and(|l| !l.ends_with("=OK")),
            "{attack} was not refused:\n{out}"
        );
    }
    let mailbox = c.upstream.tool(&["read", "mail.alice"], b"");
    assert_eq!(mailbox, ":letter\n", "the victim's mailbox changed");
}
