//! A client reads a long board from its newest page (`docs/data-model.md`, "Views"),
//! against the real server: after login a reader holds only the newest part of a board of
//! 230 posts, yet its counts, `list-post`, `read <old id>` (with the comments written long
//! after the post) and scrolling back say exactly what a reader holding the whole board
//! says; reading a board again from an earlier start never notifies twice.

mod common;

use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::Duration;

use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::model::{PostEvent, PostId};
use bbs::session::Session;

const POSTS: usize = 230;

fn session(backend: &KafkaBackend, user: &str) -> Session {
    let mut s = Session::new(backend.connect().expect("connect"));
    s.login(user, &format!("pw-{user}")).expect("login");
    s
}

fn events(s: &mut Session) -> Receiver<PostEvent> {
    let (tx, rx) = channel();
    s.set_event_sink(Arc::new(move |ev: &PostEvent| {
        let _ = tx.send(ev.clone());
    }));
    rx
}

fn drain(rx: &Receiver<PostEvent>, wait: Duration) -> Vec<PostId> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.recv_timeout(wait) {
        out.push(ev.id);
    }
    out
}

/// Registers ana and bo, and ana writes `n` posts (`t1`, `t2`, ...) on board `big`:
/// ana's session (it saw the board created, so it holds the whole board) and the ids.
fn big_board(backend: &KafkaBackend, n: usize) -> (Session, Vec<PostId>) {
    let mut ana = Session::new(backend.connect().expect("connect"));
    for u in ["ana", "bo"] {
        ana.register(u, &format!("{u}@example.com"), &format!("pw-{u}"))
            .expect("register");
    }
    ana.login("ana", "pw-ana").expect("login");
    ana.create_board("big").expect("board");
    let ids = (1..=n)
        .map(|i| {
            ana.create_post("big", &format!("t{i}"), &format!("c{i}"))
                .expect("post")
        })
        .collect();
    (ana, ids)
}

/// A TUI on `backend`, logged in as bo (on the board list).
fn tui_as_bo(backend: KafkaBackend) -> bbs::tui::testing::Harness {
    let mut h = bbs::tui::testing::Harness::new(Arc::new(backend), 100, 30);
    h.type_text("bo");
    h.key("Tab");
    h.type_text("pw-bo");
    h.key("Enter");
    h
}

#[test]
fn a_long_board_is_read_from_its_newest_page_and_older_posts_when_asked() {
    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let (mut ana, ids) = big_board(&backend, POSTS);
    ana.create_board("small").expect("board");
    ana.create_post("small", "hello", "there").expect("post");
    ana.comment(&ids[0].to_string(), "old comment")
        .expect("comment");
    ana.comment(&ids[POSTS - 1].to_string(), "new comment")
        .expect("comment");
    ana.delete_post(&ids[5].to_string()).expect("delete");
    // Ana's link saw the board created, so it holds the whole board: the reference.
    assert_eq!(ana.view(|s| s.window("big")), None);
    let whole = ana.posts("big", None).expect("list");
    assert_eq!(whole.len(), POSTS - 1);

    let mut bo = session(&backend, "bo");
    // 230 posts: the newest 50 start in page (230-50)/50 = 3, i.e. ordinal 150.
    let w = bo
        .view(|s| s.window("big"))
        .expect("a long board is windowed");
    assert_eq!((w.ordinal, w.first_id), (150, ids[150]));
    assert_eq!(bo.view(|s| s.board_post_ids("big").len()), POSTS - 150);
    assert_eq!(
        bo.view(|s| s.window("small")),
        None,
        "a short board is read whole"
    );
    // What a list shows of the whole board.
    assert_eq!(
        bo.view(|s| s.summary("big")),
        ana.view(|s| s.summary("big"))
    );
    let unread = bo.view(|s| s.unread("big", "bo", None));
    assert_eq!((unread.count, unread.exact), (POSTS as u64 - 1, false));
    let newest = bo.read(&ids[POSTS - 1].to_string()).expect("read");
    assert_eq!(newest.comments[0].body, "new comment");

    // Scrolling back: one page more.
    bo.older_posts("big").expect("older");
    let w = bo.view(|s| s.window("big")).expect("still windowed");
    assert_eq!((w.ordinal, w.first_id), (100, ids[100]));
    assert_eq!(bo.view(|s| s.board_post_ids("big").len()), POSTS - 100);

    // A subscriber is told of a new post once, also after the board is read again.
    bo.subscribe(
        bbs::model::SubTarget {
            kind: bbs::model::SubKind::Board,
            name: "big".into(),
        },
        "t",
    )
    .expect("subscribe");
    let rx = events(&mut bo);
    let late = ana.create_post("big", "t-late", "x").expect("post");
    bo.sync();
    assert_eq!(drain(&rx, Duration::from_millis(500)), vec![late]);

    // `read` of a post older than the part held reads the board from its page on, with
    // the comment written long after it.
    let old = bo.read(&ids[0].to_string()).expect("read an old post");
    assert_eq!(old.title, "t1");
    assert_eq!(old.comments.len(), 1);
    assert_eq!(old.comments[0].body, "old comment");
    assert_eq!(
        bo.view(|s| s.window("big")),
        None,
        "page 0: the whole board"
    );
    assert_eq!(
        drain(&rx, Duration::from_millis(500)),
        Vec::<PostId>::new(),
        "reading the board again notified again"
    );
    let later = ana.create_post("big", "t-later", "x").expect("post");
    bo.sync();
    assert_eq!(drain(&rx, Duration::from_millis(500)), vec![later]);

    // `list-post` on a fresh link reads the whole board: the same rows as Ana's.
    let fresh = session(&backend, "bo");
    assert!(fresh.view(|s| s.window("big")).is_some());
    let all = fresh.posts("big", None).expect("list");
    let whole = ana.posts("big", None).expect("list");
    assert_eq!(all, whole);
    assert_eq!(fresh.view(|s| s.window("big")), None);
    // A post that does not exist is still "Post does not exist."
    assert!(fresh.read("99999").is_err());
}

#[test]
fn the_tui_opens_a_long_board_at_its_newest_posts_and_reads_older_ones_on_scroll() {
    use bbs::tui::app::Screen;

    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let (_ana, ids) = big_board(&backend, 120);

    let mut h = tui_as_bo(backend);
    assert_eq!(h.app.screen(), Screen::Boards);
    // 120 posts, all unread; the 50 oldest are not held, so the count is a bound.
    let big = h.app.boards.selected().cloned().expect("a board");
    assert_eq!(
        (big.name.as_str(), big.posts, big.unread),
        ("big", 120, 120)
    );
    assert!(!big.unread_exact);
    assert!(h.screen().contains("120+"), "{}", h.screen());

    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Posts);
    // (120 - 50) / 50 = page 1: ordinals 50.. are held.
    assert_eq!(h.app.posts.total(), 70);
    assert!(h.app.posts.older);
    // Up to the oldest row held: the older page is asked for and arrives, and the
    // selection stays on the post it was on.
    h.key("g");
    assert_eq!(h.app.posts.total(), 120);
    assert!(!h.app.posts.older, "page 0: the whole board");
    assert_eq!(h.app.posts.selected().map(|r| r.id), Some(ids[50]));
    h.key("g");
    assert_eq!(h.app.posts.selected().map(|r| r.id), Some(ids[0]));
}

/// The last record of `bbs.stats`: the snapshot offset it carries, and the topic's end.
fn stats_tail(addr: &str) -> (i64, i64) {
    use bbs::codec::view::BoardStats;
    use bbs::codec::WireRecord;
    use client::{Client, ClientConfig, TopicPartition};
    let c = Client::connect(ClientConfig::new(addr)).expect("connect");
    let tp = TopicPartition::new(bbs::names::STATS_TOPIC, 0);
    let end = c
        .admin()
        .end_offsets(std::slice::from_ref(&tp))
        .expect("end")[&tp];
    let last = c.admin().read_to_end(&tp, end - 1).expect("read");
    let r = last.last().expect("a last record");
    let w = WireRecord {
        key: r.key.clone(),
        value: r.value.clone(),
        headers: r.headers.clone(),
    };
    (
        BoardStats::since(&w).expect("the last record carries bbs.since"),
        end,
    )
}

#[test]
fn the_statistics_are_read_from_their_newest_snapshot_whatever_the_history() {
    let mut server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    // 1100 posts: one statistics record each, so more than one snapshot's worth.
    let (mut ana, _) = big_board(&backend, 1100);
    for b in ["quiet", "other"] {
        ana.create_board(b).expect("board");
    }
    let (since, end) = stats_tail(&server.addr);
    assert!(
        since >= 1000,
        "no snapshot after 1100 records: since {since}"
    );
    // From the snapshot on: at most one snapshot interval plus the boards.
    assert!(end - since <= 1000 + 3, "{since}..{end}");
    let want = ana.view(|s| s.summary("big"));
    let bo = session(&backend, "bo");
    assert_eq!(bo.view(|s| s.summary("big")), want);
    assert_eq!(bo.view(|s| s.stats("quiet").map(|s| s.posts)), Some(0));

    // A clean restart writes no statistics; after kill -9 the stamp is still usable.
    drop(ana);
    drop(bo);
    let port = server.port();
    server.terminate();
    server.spawn(Some(port));
    assert_eq!(stats_tail(&server.addr), (since, end));
    server.restart_after_kill();
    let (since2, end2) = stats_tail(&server.addr);
    assert!(since2 >= since && end2 - since2 <= 1000 + 3);
    let bo = session(&KafkaBackend::new(&server.addr), "bo");
    assert_eq!(bo.view(|s| s.summary("big")), want);
}

#[test]
fn a_tui_search_on_a_long_board_covers_the_posts_not_held_yet() {
    use bbs::tui::app::Screen;

    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let (_ana, ids) = big_board(&backend, 120);
    let mut h = tui_as_bo(backend);
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Posts);
    assert_eq!(h.app.posts.total(), 70);
    // `t7` is among the 50 oldest posts, which are not held yet.
    h.key("/");
    h.type_text("t7");
    h.settle();
    assert_eq!(h.app.posts.total(), 120, "the whole board was read");
    let found: Vec<PostId> = (0..h.app.posts.len())
        .filter_map(|i| h.app.posts.row_at(i).map(|r| r.id))
        .collect();
    // t7, t70..t79 (t7x are held already).
    assert_eq!(found.first(), Some(&ids[6]));
    assert_eq!(found.len(), 11, "{found:?}");
}
