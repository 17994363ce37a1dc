//! The views the server keeps beside the boards (`docs/data-model.md`, "Views") against
//! the real `bbs-server`: after posts, comments, pushes, edits, deletes, a moderator's
//! removal, the operator's board delete and user disable, and after `kill -9` and a
//! restart, `bbs.stats`, `index.<board>`, `pages.<board>` and `bbs.ids` say exactly what
//! the boards say (folded here from the board topics with the BBS's own fold); post `n`'s
//! place is the record at offset `n - 1` of `bbs.ids`; a clean restart writes nothing (the
//! rebuild is idempotent) and a deleted `bbs.ids` comes back at the next start;
//! kafka-python reads them as documented; and no client, logged in or anonymous, may
//! write, create or reconfigure them.
mod common;
mod security_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bbs::backend::kafka::KafkaBackend;
use bbs::backend::{Backend, Link};
use bbs::codec::view::{BoardStats, IdRow, IndexRow, PageRow};
use bbs::codec::{self, BbsRecord, Entry, WireRecord};
use bbs::model::{Change, Push};
use bbs::names;
use bbs::state::views::{board_stats, id_row, index_row, page_count, page_row};
use bbs::state::{Position, State};
use client::{Client, ClientConfig, ConsumerConfig, ConsumerRecord, OffsetReset, TopicPartition};
use common::eventually::eventually;
use common::*;

const WAIT: Duration = Duration::from_secs(30);

/// Every record of partition 0 of `topic` below its end (empty when it does not exist).
fn read_topic(c: &Client, topic: &str) -> Vec<ConsumerRecord> {
    let tp = TopicPartition::new(topic, 0);
    let Ok(ends) = c.admin().end_offsets(std::slice::from_ref(&tp)) else {
        return Vec::new();
    };
    let end = ends.get(&tp).copied().unwrap_or(0);
    if end <= 0 {
        return Vec::new();
    }
    let mut consumer = c
        .consumer(
            ConsumerConfig::manual()
                .assign(std::slice::from_ref(&tp))
                .offset_reset(OffsetReset::Earliest),
        )
        .expect("consumer");
    let start = Instant::now();
    let mut out: Vec<ConsumerRecord> = Vec::new();
    while out.last().is_none_or(|r| r.offset + 1 < end) && start.elapsed() < WAIT {
        out.extend(consumer.poll(Duration::from_millis(200)).expect("poll"));
    }
    out
}

fn wire(r: &ConsumerRecord) -> WireRecord {
    WireRecord {
        key: r.key.clone(),
        value: r.value.clone(),
        headers: r.headers.clone(),
    }
}

/// The boards folded from their topics, as any reader of the history would.
fn fold(c: &Client, boards: &[&str]) -> State {
    let mut state = State::new();
    let mut topics = vec![
        names::BOARDS_TOPIC.to_string(),
        names::USERS_TOPIC.to_string(),
    ];
    topics.extend(boards.iter().map(|b| names::board_topic(b).expect("topic")));
    for topic in topics {
        for r in read_topic(c, &topic) {
            if let Ok(entry) = codec::decode(&topic, &wire(&r)) {
                let at = Position {
                    offset: r.offset,
                    timestamp: r.timestamp,
                };
                state.apply(at, &entry);
            }
        }
    }
    state
}

/// The last record per key of a compacted topic (a tombstone removes the key).
fn latest(c: &Client, topic: &str) -> BTreeMap<String, WireRecord> {
    let mut out = BTreeMap::new();
    for r in read_topic(c, topic) {
        let key = r.key_str().expect("view records have keys").to_string();
        if r.value.is_some() {
            out.insert(key, wire(&r));
        } else {
            out.remove(&key);
        }
    }
    out
}

/// What the views hold, decoded: stats by board, then per board its index rows by id and
/// its pages in offset order, then `bbs.ids` in offset order.
type Views = (
    BTreeMap<String, BoardStats>,
    BTreeMap<String, (BTreeMap<u64, IndexRow>, Vec<PageRow>)>,
    Vec<IdRow>,
);

/// `bbs.ids` record by record, in offset order.
fn ids_in_order(c: &Client) -> Vec<IdRow> {
    read_topic(c, names::IDS_TOPIC)
        .iter()
        .map(|r| IdRow::from_wire(&wire(r)).expect("ids record"))
        .collect()
}

/// Where post `id` lives, as a client finds it: the one record at offset `id - 1` of
/// `bbs.ids` (docs/data-model.md, "Views"), `None` when that record is another id's.
fn lookup(c: &Client, id: u64) -> Option<IdRow> {
    let tp = TopicPartition::new(names::IDS_TOPIC, 0);
    let mut consumer = c
        .consumer(ConsumerConfig::manual().assign(std::slice::from_ref(&tp)))
        .expect("consumer");
    consumer.seek(&tp, id as i64 - 1).expect("seek");
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if let Some(r) = consumer
            .poll(Duration::from_millis(200))
            .expect("poll")
            .first()
        {
            assert_eq!(
                r.offset,
                id as i64 - 1,
                "the fetch starts at the offset asked"
            );
            let row = IdRow::from_wire(&wire(r)).expect("ids record");
            return (row.id == id).then_some(row);
        }
    }
    panic!("no record at offset {} of bbs.ids", id - 1)
}

fn actual(c: &Client, boards: &[&str]) -> Views {
    let stats = latest(c, names::STATS_TOPIC)
        .into_iter()
        .map(|(k, w)| (k, BoardStats::from_wire(&w).expect("stats record")))
        .collect();
    let mut per_board = BTreeMap::new();
    for b in boards {
        let index = latest(c, &names::index_topic(b).expect("topic"))
            .into_values()
            .map(|w| IndexRow::from_wire(&w).expect("index record"))
            .map(|r| (r.id, r))
            .collect();
        let pages: Vec<PageRow> = read_topic(c, &names::pages_topic(b).expect("topic"))
            .iter()
            .map(|r| PageRow::from_wire(&wire(r)).expect("page record"))
            .collect();
        for (at, p) in pages.iter().enumerate() {
            assert_eq!(p.page, at as u64, "page k is at offset k");
        }
        per_board.insert(b.to_string(), (index, pages));
    }
    (stats, per_board, ids_in_order(c))
}

/// What the views must hold for `state`: listed boards' stats, and every post's row and
/// page of every board that is still listed (a deleted board's views are not kept).
fn expected(state: &State, boards: &[&str], before: &Views) -> Views {
    let stats = state
        .boards()
        .iter()
        .map(|b| (b.name.clone(), board_stats(state, &b.name)))
        .collect();
    let mut per_board = BTreeMap::new();
    for b in boards {
        if state.board(b).is_none() {
            // Not maintained any more: whatever it held stays.
            per_board.insert(b.to_string(), before.1[*b].clone());
            continue;
        }
        let ids = state.board_post_ids(b);
        let index = ids
            .iter()
            .filter_map(|id| index_row(state, *id))
            .map(|r| (r.id, r))
            .collect();
        let pages = (0..page_count(ids.len() as u64))
            .filter_map(|k| page_row(state, b, k))
            .collect();
        per_board.insert(b.to_string(), (index, pages));
    }
    // Every post ever accepted, once, in id order (deleted boards' posts too).
    let ids = state
        .all_posts()
        .filter_map(|p| id_row(state, p.id))
        .collect();
    (stats, per_board, ids)
}

/// Waits until the views say what the boards say.
fn assert_consistent(s: &TestServer, boards: &[&str]) -> Views {
    let c = Client::connect(ClientConfig::new(&s.addr)).expect("connect");
    let start = Instant::now();
    loop {
        let state = fold(&c, boards);
        let got = actual(&c, boards);
        let want = expected(&state, boards, &got);
        if got == want {
            return got;
        }
        assert!(
            start.elapsed() < WAIT,
            "views differ from the boards:\n got {got:#?}\nwant {want:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn post(board: &str, author: &str, title: &str) -> Entry {
    Entry::new(BbsRecord::Post {
        board: board.into(),
        id: None,
        author: author.into(),
        title: title.into(),
        body: "body".into(),
    })
}

/// A record on post `post` of `board` by `author`.
fn on(
    post: u64,
    board: &str,
    author: &str,
    r: impl FnOnce(String, u64, String) -> BbsRecord,
) -> Entry {
    Entry::new(r(board.into(), post, author.into()))
}

fn login(backend: &KafkaBackend, name: &str, register: bool) -> Box<dyn Link> {
    let mut link = backend.connect().expect("connect");
    if register {
        link.register(name, &format!("{name}@example.com"), &format!("pw-{name}"))
            .expect("register");
    }
    link.login(name, &format!("pw-{name}")).expect("login");
    link
}

#[test]
fn views_follow_every_change_and_survive_kill_9() {
    let mut server = TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let mut ana = login(&backend, "ana", true);
    let mut bo = login(&backend, "bo", true);
    for name in ["NP", "Old"] {
        ana.append(Entry::new(BbsRecord::Board {
            name: name.into(),
            creator: "ana".into(),
        }))
        .expect("board");
    }
    // 60 posts: two pages on NP.
    for i in 0..60 {
        let (link, who) = if i % 3 == 0 {
            (&mut bo, "bo")
        } else {
            (&mut ana, "ana")
        };
        link.append(post("NP", who, &format!("post {i}")))
            .expect("post");
    }
    ana.append(post("Old", "ana", "old news")).expect("post");
    let boards = ["NP", "Old"];
    let views = assert_consistent(&server, &boards);
    assert_eq!(views.1["NP"].1.len(), 2, "two pages of 50");
    assert_eq!(
        (views.0["NP"].posts, views.0["NP"].live, views.0["NP"].last),
        (60, 60, 60)
    );
    // Post n's place is the record at offset n - 1 of bbs.ids.
    let ids: Vec<u64> = views.2.iter().map(|r| r.id).collect();
    assert_eq!(ids, (1..=61).collect::<Vec<u64>>());
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    for id in [1, 30, 60] {
        let row = lookup(&c, id).expect("found at offset id - 1");
        let index = &views.1["NP"].0[&id];
        assert_eq!(
            (row.board.as_str(), row.offset, row.ordinal),
            ("NP", index.offset, index.ordinal)
        );
    }
    let old = lookup(&c, 61).expect("found at offset id - 1");
    assert_eq!((old.board.as_str(), old.ordinal), ("Old", 0));
    drop(c);

    // Comments, pushes, edits, a delete and a moderator's removal.
    bo.append(on(2, "NP", "bo", |board, post, author| {
        BbsRecord::Comment {
            board,
            post,
            author,
            body: "first!".into(),
        }
    }))
    .expect("comment");
    bo.append(on(2, "NP", "bo", |board, post, author| BbsRecord::Push {
        board,
        post,
        author,
        push: Push::Up,
        body: "good".into(),
    }))
    .expect("push");
    ana.append(on(3, "NP", "ana", |board, post, author| BbsRecord::Edit {
        board,
        post,
        author,
        change: Change::Title("post 3, edited".into()),
    }))
    .expect("edit");
    ana.append(on(60, "NP", "ana", |board, post, author| {
        BbsRecord::Delete {
            board,
            post,
            author,
        }
    }))
    .expect("delete");
    ana.append(on(1, "NP", "ana", |board, post, author| {
        BbsRecord::Remove {
            board,
            post,
            comment: None,
            author,
        }
    }))
    .expect("remove");
    let views = assert_consistent(&server, &boards);
    let np = &views.1["NP"].0;
    assert_eq!((np[&2].comments, np[&2].score), (1, 1));
    assert_eq!(np[&3].title, "post 3, edited");
    assert_eq!(np[&60].state.word(), "deleted");
    assert_eq!(np[&1].state.word(), "removed");
    assert_eq!((views.0["NP"].live, views.0["NP"].last), (59, 59));

    // The operator deletes a board and disables a user.
    ok(
        server_cmd(&["admin", "delete-board", "Old"], &server.data),
        "admin delete-board",
    );
    ok(
        server_cmd(&["admin", "disable-user", "bo"], &server.data),
        "admin disable-user",
    );
    let views = assert_consistent(&server, &boards);
    assert!(!views.0.contains_key("Old"), "a deleted board has no stats");
    let np = &views.1["NP"].0;
    assert_eq!(np[&1].state.word(), "hidden", "bo's post 1 is hidden");
    assert_eq!(
        (np[&2].comments, np[&2].score),
        (0, 0),
        "bo's comment and push"
    );
    assert_eq!(views.0["NP"].live, 39);

    // The views still match after kill -9 and a restart, and a clean restart writes
    // nothing (rebuilding is idempotent).
    server.kill9();
    server.restart_after_kill();
    assert_consistent(&server, &boards);
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    let ends = |c: &Client| {
        let tps: Vec<TopicPartition> = [
            names::STATS_TOPIC.to_string(),
            names::index_topic("NP").expect("topic"),
            names::pages_topic("NP").expect("topic"),
            names::IDS_TOPIC.to_string(),
        ]
        .iter()
        .map(|t| TopicPartition::new(t, 0))
        .collect();
        let ends = c.admin().end_offsets(&tps).expect("ends");
        tps.iter().map(|tp| ends[tp]).collect::<Vec<i64>>()
    };
    let before = ends(&c);
    drop(c);
    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    eventually("the server answers", WAIT, || {
        c.admin()
            .end_offsets(&[TopicPartition::new(names::STATS_TOPIC, 0)])
            .is_ok()
    });
    assert_eq!(ends(&c), before, "a clean restart rewrites no view record");
    assert_consistent(&server, &boards);
    drop(c);

    // The operator deletes bbs.ids: the next start writes it again, in id order, and a
    // post accepted after that takes the next offset.
    let op = operator(&server);
    op.admin()
        .delete_topics(&[names::IDS_TOPIC])
        .expect("the operator deletes bbs.ids");
    eventually("bbs.ids is gone", WAIT, || {
        !op.admin()
            .list_topics()
            .expect("topics")
            .contains(&names::IDS_TOPIC.to_string())
    });
    drop(op);
    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    let views = assert_consistent(&server, &boards);
    assert_eq!(views.2.len(), 61);
    let backend = KafkaBackend::new(&server.addr);
    let mut ana = login(&backend, "ana", false);
    ana.append(post("NP", "ana", "after the rebuild"))
        .expect("post");
    let views = assert_consistent(&server, &boards);
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    let row = lookup(&c, 62).expect("found at offset 61");
    assert_eq!(
        (row.board.as_str(), row.offset),
        ("NP", views.1["NP"].0[&62].offset)
    );
}

/// Logs in as the operator of `server` (the secret it wrote to its data directory).
fn operator(server: &TestServer) -> Client {
    let (secret, addr) = broker::auth::operator::read_secret(&server.data).expect("secret");
    Client::connect(ClientConfig::new(&addr).sasl_scram(codec::OPERATOR, &secret))
        .expect("operator")
}

#[test]
fn ids_stay_in_order_when_posts_leave_the_board_topics() {
    let mut server = TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let mut ana = login(&backend, "ana", true);
    for name in ["NP", "Gone"] {
        ana.append(Entry::new(BbsRecord::Board {
            name: name.into(),
            creator: "ana".into(),
        }))
        .expect("board");
    }
    for board in ["NP", "Gone", "NP", "Gone"] {
        ana.append(post(board, "ana", "p")).expect("post");
    }
    let boards = ["NP", "Gone"];
    let views = assert_consistent(&server, &boards);
    let ids: Vec<u64> = views.2.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    drop(ana);

    // The operator deletes Gone's topic: posts 2 and 4 are no longer in any board topic,
    // so bbs.ids holds places the boards do not say. The next start writes it again, in
    // id order, and says so.
    let op = operator(&server);
    let gone = names::board_topic("Gone").expect("topic");
    op.admin()
        .delete_topics(&[gone.as_str()])
        .expect("the operator deletes a board's topic");
    drop(op);
    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    // Gone's index and pages keep the rows of posts that are no longer anywhere (views
    // append, they do not forget): only NP's views and bbs.ids are compared from here.
    let views = assert_consistent(&server, &["NP"]);
    let ids: Vec<u64> = views.2.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 3], "only what the boards say, in id order");
    assert!(
        server.wait_for_log("writing it again from the boards", WAIT),
        "the rewrite is logged"
    );
    // The next post takes the next id (after the largest one left) at the next offset.
    let backend = KafkaBackend::new(&server.addr);
    let mut ana = login(&backend, "ana", false);
    ana.append(post("NP", "ana", "after")).expect("post");
    let views = assert_consistent(&server, &["NP"]);
    let ids: Vec<u64> = views.2.iter().map(|r| r.id).collect();
    assert_eq!(ids, [1, 3, 4]);
    assert_eq!(views.2[2].board, "NP");
}

/// What view_attacks.py printed as `user` (`-`: anonymous): attempt → (Kafka error code,
/// message).
fn attacks(
    s: &TestServer,
    user: &str,
    password: &str,
    board: &str,
) -> BTreeMap<String, (String, String)> {
    let out = ok(
        python(
            "view_attacks.py",
            &[&s.addr, user, password, board],
            Duration::from_secs(120),
        ),
        "view_attacks.py",
    );
    out.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '\t');
            Some((
                f.next()?.to_string(),
                (f.next()?.to_string(), f.next().unwrap_or("").to_string()),
            ))
        })
        .collect()
}

#[test]
fn no_client_writes_creates_or_deletes_a_view() {
    let server = TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let mut ana = login(&backend, "ana", true);
    let _eve = login(&backend, "eve", true);
    ana.append(Entry::new(BbsRecord::Board {
        name: "NP".into(),
        creator: "ana".into(),
    }))
    .expect("board");
    ana.append(post("NP", "ana", "real")).expect("post");
    let before = assert_consistent(&server, &["NP"]);

    // A logged-in student, then an anonymous client.
    for (user, password) in [("eve", "pw-eve"), ("-", "-")] {
        let got = attacks(&server, user, password, "NP");
        eprintln!("{user}: {got:#?}");
        let view = "is a view the server maintains";
        for key in [
            "produce index.NP",
            "produce bbs.stats",
            "produce pages.NP",
            "produce bbs.ids",
            "create pages.Evil",
            "alter index.NP",
            "alter bbs.ids",
            "records index.NP",
            "records bbs.ids",
            "delete index.NP",
            "delete bbs.ids",
        ] {
            let (code, msg) = got
                .get(key)
                .unwrap_or_else(|| panic!("{user}: no {key} in {got:#?}"));
            assert_eq!(
                code, "29",
                "{user}: {key} must be TOPIC_AUTHORIZATION_FAILED: {msg}"
            );
        }
        for key in [
            "create pages.Evil",
            "alter index.NP",
            "alter bbs.ids",
            "delete index.NP",
            "delete bbs.ids",
        ] {
            assert!(got[key].1.contains(view), "{user}: {key}: {:?}", got[key]);
        }
    }

    // Read back: the views are exactly what they were, and still match the board.
    let after = assert_consistent(&server, &["NP"]);
    assert_eq!(after, before);
    assert_eq!(after.1["NP"].0[&1].title, "real");
    assert_eq!(after.2.len(), 1);
    assert_eq!(after.2[0].board, "NP", "bbs.ids still says where post 1 is");
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    assert!(
        !c.admin()
            .list_topics()
            .expect("topics")
            .contains(&"pages.Evil".to_string()),
        "no client creates a view topic"
    );
}

/// The session groups ListGroups shows (any state).
fn session_groups(c: &Client) -> Vec<String> {
    c.admin()
        .list_groups()
        .expect("list groups")
        .into_iter()
        .map(|g| g.group_id)
        .filter(|g| g.starts_with(names::SESSION_GROUP_PREFIX))
        .collect()
}

#[test]
fn finished_sessions_leave_no_groups_behind() {
    // Maintenance never runs during the test: whatever goes, goes when the session ends.
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("server.toml");
    std::fs::write(&cfg, "[broker]\nmaintenance_interval_ms = 3600000\n").expect("config");
    let mut server = TestServer::start(&["--config", cfg.to_str().expect("utf8")]);
    let backend = KafkaBackend::new(&server.addr);
    let stays = login(&backend, "ana", true);
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    let live = session_groups(&c);
    assert_eq!(live.len(), 1, "{live:?}");
    for i in 0..30 {
        let link = if i % 3 == 0 {
            backend.connect().expect("connect")
        } else {
            login(&backend, "ana", false)
        };
        drop(link);
    }
    // Only the session still logged in is listed, and it is still online.
    eventually("finished sessions' groups are gone", WAIT, || {
        session_groups(&c) == live
    });
    assert_eq!(stays.online().expect("online"), vec!["ana".to_string()]);
    drop(stays);
    eventually("the last session's group is gone", WAIT, || {
        session_groups(&c).is_empty()
    });
    drop(c);
    // A restart replays none of them.
    assert_eq!(server.terminate(), Some(0));
    server.spawn(None);
    assert_eq!(server.log_value("groups"), "0", "groups the restart loaded");
    let c = Client::connect(ClientConfig::new(&server.addr)).expect("connect");
    assert!(session_groups(&c).is_empty());
}
