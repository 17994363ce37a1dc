//! The BBS through two front servers over one cluster (issue 14, phase 2), with real
//! processes: an upstream (`bbs-server --plain`, no BBS hooks, or the external cluster
//! `BBS_FRONT_UPSTREAM` names: tests/support/upstream.rs) and two `bbs-server --kafka`
//! fronts over it that share nothing but the upstream (tests/support/fronts.rs); what a
//! test checks upstream directly goes through tests/interop/upstream_tool.py.
//!
//! - Every transcript of `bbs/tests/transcripts/` runs with its users spread over both
//!   fronts and both front ends (line clients and classic ports), live notifications
//!   included, with one front SIGKILLed and started again between files.
//! - Posts written through both fronts while the sequencer is SIGKILLed mid-run: every
//!   acknowledged post is on the board exactly once, with unique ids in board order.
//! - A student's forged records through a front are refused and the victim's state read
//!   back through the other front is unchanged.
mod common;
#[path = "support/fronts.rs"]
mod fronts;
#[path = "support/links.rs"]
mod links;
#[path = "support/raw_produce.rs"]
mod raw_produce;
#[path = "../bbs/tests/support/script.rs"]
mod script;
mod security_support;
#[path = "support/transcripts.rs"]
mod transcripts;
#[path = "support/upstream.rs"]
mod upstream;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{kcat, ok, python};
use fronts::Fronts;
use security_support::{dump, produce, register, steps};

#[test]
fn transcripts_through_two_front_servers_with_one_killed_between_files() {
    let mut f = Fronts::start();
    let files = transcripts::scenario_files();
    for (i, file) in files.iter().enumerate() {
        if i > 0 {
            // Nothing a front holds matters: kill one (alternately), start it again.
            let victim = if i % 2 == 1 { &mut f.a } else { &mut f.b };
            victim.restart_after_kill();
        }
        let text = std::fs::read_to_string(file).expect("read scenario");
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let started = Instant::now();
        transcripts::run_file(&[&f.a, &f.b], &name, &text, "fronts");
        eprintln!("[fronts] {name}: {:?}", started.elapsed());
    }
}

/// `title` → `bbs.id` of every post on `board`, read through `addr` (kcat, anonymous:
/// boards are public), and the titles in board order.
fn posts(addr: &str, board: &str) -> (HashMap<String, Vec<u64>>, Vec<String>) {
    let topic = format!("board.{board}");
    let out = ok(
        kcat(
            &[
                "-b",
                addr,
                "-C",
                "-t",
                &topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%h\n",
            ],
            None,
            Duration::from_secs(60),
        ),
        "kcat -C",
    );
    let mut by_title: HashMap<String, Vec<u64>> = HashMap::new();
    let mut order = Vec::new();
    for line in out.lines() {
        let field = |name: &str| {
            line.split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        let (Some(title), Some(id)) = (field("bbs.title"), field("bbs.id")) else {
            continue;
        };
        let id: u64 = id.parse().expect("bbs.id is a number");
        by_title.entry(title.clone()).or_default().push(id);
        order.push(format!("{id}"));
    }
    (by_title, order)
}

#[test]
fn nothing_acknowledged_is_lost_when_the_sequencer_is_killed_mid_run() {
    let mut f = Fronts::start();
    let setup = steps(
        &f.a.addr,
        &[
            register("wa"),
            register("wb"),
            produce(
                "wa",
                "bbs.boards",
                Some("KILL"),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "wa"),
                    ("bbs.topic", "board.KILL"),
                ],
            ),
        ],
    );
    assert_eq!(
        setup,
        ["register: OK", "register: OK", "produce: ACCEPTED"],
        "setup"
    );
    let writer = |addr: &str, user: &str, prefix: &str| {
        let (addr, user, prefix) = (addr.to_string(), user.to_string(), prefix.to_string());
        std::thread::spawn(move || {
            let pw = format!("pw-{user}");
            ok(
                python(
                    "front_bbs_writer.py",
                    &[&addr, &user, &pw, "KILL", &prefix, "12"],
                    Duration::from_secs(120),
                ),
                "front_bbs_writer.py",
            )
        })
    };
    let wa = writer(&f.a.addr, "wa", "via-a");
    let wb = writer(&f.b.addr, "wb", "via-b");
    std::thread::sleep(Duration::from_secs(3));
    let a_leads = f.sequencer_is_a();
    let survivor_log = if a_leads { &f.b } else { &f.a }.log_text().len();
    let victim = if a_leads { &mut f.a } else { &mut f.b };
    victim.kill9();
    std::thread::sleep(Duration::from_secs(2));
    let port = victim.port();
    victim.spawn(Some(port));
    let outputs = [
        wa.join().expect("writer through A"),
        wb.join().expect("writer through B"),
    ];
    let acked: Vec<String> = outputs
        .iter()
        .flat_map(|o| o.lines())
        .filter_map(|l| l.strip_prefix("ACK ").map(str::to_string))
        .collect();
    let failed = outputs
        .iter()
        .flat_map(|o| o.lines())
        .filter(|l| l.starts_with("FAIL "))
        .count();
    eprintln!(
        "acknowledged {}, failed {failed}; the sequencer was front {}",
        acked.len(),
        if a_leads { "A" } else { "B" }
    );
    assert!(acked.len() > 50, "too few posts acknowledged: {outputs:?}");
    // Read through the front that was not killed and through the upstream directly.
    let survivor = if a_leads { &f.b } else { &f.a };
    let (through_front, order) = posts(&survivor.addr, "KILL");
    let upstream_count = f.upstream.count("board.KILL");
    for title in &acked {
        let ids = through_front.get(title).cloned().unwrap_or_default();
        assert_eq!(
            ids.len(),
            1,
            "{title}: acknowledged, on the board {} times",
            ids.len()
        );
    }
    // Ids are unique and grow along the board, whichever front a post came through.
    let ids: Vec<u64> = order.iter().map(|i| i.parse().expect("id")).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids out of order: {ids:?}"
    );
    assert_eq!(
        upstream_count,
        ids.len(),
        "the front shows what the cluster holds"
    );
    // The views followed: `bbs.ids` has every post at offset id - 1 (the sequencer that
    // took over repaired what the dead one had not written yet).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = rows(&survivor.addr, "bbs.ids");
        let want: Vec<String> = (0..ids.len()).map(|o| format!("{o} {}", o + 1)).collect();
        if got == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "bbs.ids is not every post in id order: {} rows, want {}; first difference at {:?}",
            got.len(),
            want.len(),
            got.iter().zip(&want).position(|(g, w)| g != w)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // The other front took the order over when the sequencer died.
    let after_kill = survivor.log_text();
    assert!(
        after_kill[survivor_log..].contains(fronts::SEQUENCER),
        "the surviving front never became the sequencer:\n{after_kill}"
    );
}

#[test]
fn forged_records_through_a_front_are_refused_and_the_victims_posts_stay() {
    let f = Fronts::start();
    let setup = steps(
        &f.a.addr,
        &[
            register("vic"),
            register("mal"),
            produce(
                "vic",
                "bbs.boards",
                Some("NP"),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "vic"),
                    ("bbs.topic", "board.NP"),
                ],
            ),
            produce(
                "vic",
                "board.NP",
                None,
                "the victim's words",
                &[
                    ("bbs.kind", "post"),
                    ("bbs.author", "vic"),
                    ("bbs.title", "mine"),
                ],
            ),
        ],
    );
    assert_eq!(
        setup,
        [
            "register: OK",
            "register: OK",
            "produce: ACCEPTED",
            "produce: ACCEPTED"
        ],
        "setup"
    );
    let before = steps(
        &f.a.addr,
        &[dump("vic", "board.NP"), dump("vic", "mail.vic")],
    );
    // The attacker works through the other front.
    let attacks = steps(
        &f.b.addr,
        &[
            // A post in the victim's name.
            produce(
                "mal",
                "board.NP",
                None,
                "forged",
                &[
                    ("bbs.kind", "post"),
                    ("bbs.author", "vic"),
                    ("bbs.title", "forged"),
                ],
            ),
            // An edit of the victim's post.
            produce(
                "mal",
                "board.NP",
                None,
                "defaced",
                &[
                    ("bbs.kind", "edit"),
                    ("bbs.author", "mal"),
                    ("bbs.post", "1"),
                    ("bbs.field", "content"),
                ],
            ),
            // A letter in the victim's own mailbox, signed by the victim.
            produce(
                "mal",
                "mail.vic",
                None,
                "from vic, honest",
                &[
                    ("bbs.kind", "mail"),
                    ("bbs.author", "vic"),
                    ("bbs.subject", "hi"),
                ],
            ),
            // The views are the server's.
            produce(
                "mal",
                "bbs.ids",
                Some("1"),
                "",
                &[("bbs.kind", "id"), ("bbs.board", "NP")],
            ),
            // Bytes that are no BBS record at all.
            produce("mal", "board.NP", None, "raw", &[]),
        ],
    );
    assert_eq!(attacks.len(), 5, "{attacks:?}");
    for (i, a) in attacks.iter().enumerate() {
        assert!(
            !a.ends_with("ACCEPTED"),
            "attack {i} was accepted: {attacks:?}"
        );
    }
    assert!(
        attacks[0].contains("is not the authenticated user"),
        "{}",
        attacks[0]
    );
    // Read back through the front the victim uses: the board is as it was.
    let after = steps(
        &f.a.addr,
        &[dump("vic", "board.NP"), dump("vic", "mail.vic")],
    );
    assert_eq!(before, after, "the victim's board or mailbox changed");
    // An honest post of the attacker's own gets the next id the server gives, whatever
    // id and time it claims.
    let own = steps(
        &f.b.addr,
        &[produce(
            "mal",
            "board.NP",
            None,
            "my own",
            &[
                ("bbs.kind", "post"),
                ("bbs.author", "mal"),
                ("bbs.title", "own"),
                ("bbs.id", "999"),
                ("bbs.time", "1"),
            ],
        )],
    );
    assert_eq!(own, ["produce: ACCEPTED"]);
    // The front the attacker used says who did what from where; refusals wrote nothing.
    let said = |l: &str, action: &str| {
        l.contains("user action")
            && l.contains("user=\"mal\"")
            && l.contains(&format!("action=\"{action}\""))
            && l.contains("peer=127.0.0.1:")
    };
    assert!(
        f.b.wait_for_log("post=? title=", Duration::from_secs(10)),
        "{}",
        f.b.log_text()
    );
    let log = f.b.log_text();
    assert_eq!(log.lines().filter(|l| said(l, "post")).count(), 1, "{log}");
    assert!(
        !log.lines().any(|l| said(l, "edit") || said(l, "mail")),
        "{log}"
    );
    let (by_title, _) = posts(&f.a.addr, "NP");
    assert_eq!(by_title.get("mine"), Some(&vec![1]));
    assert_eq!(by_title.get("own"), Some(&vec![2]));
    assert!(!by_title.contains_key("forged"));
}

#[test]
fn presence_read_marks_and_live_posts_cross_the_fronts() {
    let f = Fronts::start();
    links::links_scenario(
        &bbs::backend::kafka::KafkaBackend::new(&f.a.addr),
        &bbs::backend::kafka::KafkaBackend::new(&f.b.addr),
    );
}

/// `topic`'s records as `offset key` lines, read through `addr`.
fn rows(addr: &str, topic: &str) -> Vec<String> {
    ok(
        kcat(
            &[
                "-b",
                addr,
                "-C",
                "-t",
                topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%o %k\n",
            ],
            None,
            Duration::from_secs(60),
        ),
        "kcat",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn a_front_that_takes_the_order_over_repairs_the_views() {
    let mut f = Fronts::start();
    let mut setup = vec![
        register("rey"),
        produce(
            "rey",
            "bbs.boards",
            Some("FIX"),
            "",
            &[
                ("bbs.kind", "board"),
                ("bbs.author", "rey"),
                ("bbs.topic", "board.FIX"),
            ],
        ),
    ];
    for i in 1..=5 {
        setup.push(produce(
            "rey",
            "board.FIX",
            None,
            "body",
            &[
                ("bbs.kind", "post"),
                ("bbs.author", "rey"),
                ("bbs.title", &format!("t{i}")),
            ],
        ));
    }
    let out = steps(&f.a.addr, &setup);
    assert!(
        out.iter().skip(1).all(|l| l == "produce: ACCEPTED"),
        "{out:?}"
    );
    let ids: Vec<String> = (0..5).map(|o| format!("{o} {}", o + 1)).collect();
    assert_eq!(rows(&f.b.addr, "bbs.ids"), ids);
    // The views are lost upstream (as after an operator's mistake, or a sequencer that
    // died before writing them), then the sequencer dies.
    let leader_is_a = f.sequencer_is_a();
    for topic in ["bbs.ids", "index.FIX"] {
        f.upstream.tool(&["delete", topic], b"");
    }
    let (victim, survivor) = if leader_is_a {
        (&mut f.a, &f.b)
    } else {
        (&mut f.b, &f.a)
    };
    victim.kill9();
    assert!(
        survivor.wait_for_log("brought the views up to date", Duration::from_secs(60)),
        "the survivor did not repair the views:\n{}",
        survivor.log_text()
    );
    assert_eq!(rows(&survivor.addr, "bbs.ids"), ids);
    let index: Vec<String> = rows(&survivor.addr, "index.FIX")
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect();
    assert_eq!(index, ["1", "2", "3", "4", "5"]);
}

#[test]
fn one_name_registered_through_both_fronts_at_once_goes_to_one_of_them() {
    let f = Fronts::start();
    let admin =
        |addr: &str| client::Client::connect(client::ClientConfig::new(addr)).expect("connect");
    for i in 0..5 {
        let name = format!("race{i}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = [(&f.a.addr, "pw-through-a"), (&f.b.addr, "pw-through-b")]
            .into_iter()
            .map(|(addr, pw)| {
                let (c, barrier, name) = (admin(addr), barrier.clone(), name.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (pw, c.admin().set_scram_password(&name, pw))
                })
            })
            .collect();
        let results: Vec<_> = racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .collect();
        let won: Vec<&str> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(pw, _)| *pw)
            .collect();
        assert_eq!(won.len(), 1, "{name}: {results:?}");
        let lost = results.iter().find(|(_, r)| r.is_err()).expect("a loser");
        assert!(
            format!("{:?}", lost.1).contains("already exists"),
            "{name}: {results:?}"
        );
        // The winner's password works through both fronts, the loser's through neither.
        for front in [&f.a.addr, &f.b.addr] {
            let login = |pw: &str| {
                client::Client::connect(client::ClientConfig::new(front).sasl_scram(&name, pw))
                    .and_then(|c| c.refresh_metadata(&[]).map(|_| ()))
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while login(won[0]).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "{name}: the winner cannot log in"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(login(lost.0).is_err(), "{name}: the loser's password works");
        }
    }
}

#[test]
fn a_producer_id_through_a_front_is_its_owners_alone() {
    let f = Fronts::start();
    let reg = steps(&f.a.addr, &[register("alice"), register("bob")]);
    assert_eq!(reg, ["register: OK", "register: OK"]);
    let out = ok(
        python(
            "sec_idem.py",
            &[
                &f.a.addr,
                "alice",
                "pw-alice",
                raw_produce::TOPIC,
                "produce",
                "3",
                "alice",
            ],
            Duration::from_secs(90),
        ),
        "alice's idempotent producer through A",
    );
    let mut pe = out
        .lines()
        .find_map(|l| l.strip_prefix("PID "))
        .expect("PID line")
        .split_whitespace();
    let pid: i64 = pe.next().and_then(|v| v.parse().ok()).expect("pid");
    let epoch: i16 = pe.next().and_then(|v| v.parse().ok()).expect("epoch");
    let bob = raw_produce::connect(&f.a.addr, Some(("bob", "pw-bob")));
    let anon = raw_produce::connect(&f.a.addr, None);
    for (who, c) in [("bob", &bob), ("anonymous", &anon)] {
        let r = raw_produce::produce(c, pid, epoch, 3, &format!("{who}-next"));
        raw_produce::assert_refused(
            &r,
            &format!("{who} with alice's id"),
            "belongs to another client",
        );
        let b = raw_produce::bump(c, pid, epoch);
        assert_eq!(
            b.error_code,
            wire::ErrorCode::INVALID_PRODUCER_ID_MAPPING,
            "{who} bumping alice's epoch: {b:?}"
        );
        let r = raw_produce::produce(c, 4_242_424, 0, 0, &format!("{who}-forged"));
        raw_produce::assert_refused(
            &r,
            &format!("{who} with a forged id"),
            "not issued by this server",
        );
    }
    // Alice goes on where her producer stopped: not fenced, not taken for a duplicate.
    let alice = raw_produce::connect(&f.a.addr, Some(("alice", "pw-alice")));
    let r = raw_produce::produce(&alice, pid, epoch, 3, "alice-3");
    assert_eq!(
        (r.error_code, r.base_offset),
        (0, 3),
        "alice's next batch: {r:?}"
    );
    let got = ok(
        python(
            "sec_idem.py",
            &[&f.b.addr, "alice", "pw-alice", raw_produce::TOPIC, "read"],
            Duration::from_secs(90),
        ),
        "read as alice through B",
    );
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        ["alice-0", "alice-1", "alice-2", "alice-3"]
    );
}

#[test]
fn the_ledger_and_the_sequencer_group_are_closed_to_clients() {
    let f = Fronts::start();
    let reg = steps(&f.a.addr, &[register("eve")]);
    assert_eq!(reg, ["register: OK"]);
    let ledger_len = || f.upstream.count("bbs-front-ledger");
    let before = ledger_len();
    // Eve's name was claimed through the ledger: reading it upstream sees that entry.
    assert!(before > 0, "the ledger read upstream is empty");
    for (user, pw) in [("eve", "pw-eve"), ("-", "-")] {
        let out = ok(
            python(
                "front_ledger_attack.py",
                &[&f.b.addr, user, pw],
                Duration::from_secs(120),
            ),
            "front_ledger_attack.py",
        );
        for attack in ["forge=", "join="] {
            let line = out.lines().find(|l| l.starts_with(attack));
            assert!(
                line.is_some_and(|l| !l.contains("=OK")),
                "{user}: {attack} was not refused:\n{out}"
            );
        }
        // The ledger holds entries already (eve's name was claimed through it).
        let read = out.lines().find(|l| l.starts_with("read="));
        assert!(
            read.is_some_and(|l| l == "read=OK 0" || !l.contains("=OK")),
            "{user}: the ledger was read:\n{out}"
        );
        assert!(out.lines().any(|l| l == "groups=hidden"), "{user}:\n{out}");
    }
    assert_eq!(ledger_len(), before, "the ledger changed");
    // The sequencer still holds the ledger: a BBS write through either front is decided.
    let after = steps(
        &f.b.addr,
        &[produce(
            "eve",
            "bbs.boards",
            Some("STILL"),
            "",
            &[
                ("bbs.kind", "board"),
                ("bbs.author", "eve"),
                ("bbs.topic", "board.STILL"),
            ],
        )],
    );
    assert_eq!(after, ["produce: ACCEPTED"]);
}
