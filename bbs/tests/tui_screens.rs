//! Screen tests of the TUI: the real app (key map, update, worker thread, views) on
//! ratatui's TestBackend over an in-memory BBS with a pinned clock, driven by key events;
//! each screen is snapshotted (insta, committed under `tests/snapshots/`).

use std::sync::Arc;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::backend::{Backend, Link};
use bbs::session::Session;
use bbs::tui::app::Screen;
use bbs::tui::msg::Reply;
use bbs::tui::testing::Harness;
use bbs::tui::{config::Config, demo, local::LocalState};
use insta::assert_snapshot;

/// 2024-12-24 00:26:40 UTC, for every record.
const NOW: i64 = 1_735_000_000_000;

fn bbs() -> MemoryBackend {
    let b = MemoryBackend::with_clock(Arc::new(|| NOW));
    demo::seed(&b).expect("seed");
    b
}

fn as_user(b: &MemoryBackend, user: &str) -> Session {
    let mut s = Session::new(b.connect().expect("connect"));
    s.login(user, user).expect("login");
    s
}

fn logged_in(b: &MemoryBackend, w: u16, h: u16) -> Harness {
    let mut h = Harness::new(Arc::new(b.clone()), w, h);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Boards);
    h
}

#[test]
fn login_screen_and_its_errors() {
    let b = bbs();
    let mut h = Harness::new(Arc::new(b.clone()), 80, 24);
    assert_snapshot!("login_empty", h.screen());
    h.key("Enter");
    assert_eq!(h.app.login.focus, 1, "Enter on an empty field moves on");
    h.key("Enter");
    assert_eq!(h.app.login.error.as_deref(), Some("Type a username."));
    h.key("Shift-Tab");
    h.type_text("guest");
    h.key("Tab");
    h.type_text("wrong");
    h.key("Enter");
    assert_eq!(h.app.login.error.as_deref(), Some("Login failed."));
    assert_snapshot!("login_wrong_password", h.screen());
    // The cursor sits after the masked password.
    let c = h.cursor().expect("cursor on the password field");
    assert_eq!(h.app.login.focus, 1);
    assert!(c.x > 0);

    h.key("Ctrl-r");
    h.key("Shift-Tab");
    h.key("Ctrl-u");
    h.type_text("alice");
    h.key("Tab");
    h.type_text("pw");
    h.key("Tab");
    h.type_text("a@x");
    h.key("Enter");
    assert_eq!(
        h.app.login.error.as_deref(),
        Some("Username is already used.")
    );
    assert_snapshot!("register_name_taken", h.screen());

    h.key("Shift-Tab");
    h.key("Shift-Tab");
    h.key("Ctrl-u");
    h.type_text("dave");
    h.key("Enter");
    assert!(h
        .app
        .login
        .info
        .as_deref()
        .is_some_and(|i| i.contains("Registered dave")));
    assert!(!h.app.login.register);
}

/// A backend whose server never answers.
struct Down;
impl Backend for Down {
    fn connect(&self) -> bbs::Result<Box<dyn Link>> {
        Err(bbs::Error::Backend(
            "connection refused (127.0.0.1:1)".into(),
        ))
    }
}

#[test]
fn server_unreachable_is_said_on_the_login_screen() {
    let mut h = Harness::new(Arc::new(Down), 80, 24);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    let err = h.app.login.error.clone().unwrap_or_default();
    assert!(
        err.contains("Server unreachable") || err.contains("Not connected"),
        "{err}"
    );
    assert_snapshot!("login_server_unreachable", h.screen());
}

#[test]
fn board_list_filter_and_favourites() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    assert_snapshot!("boards", h.screen());
    h.key("/");
    h.type_text("S");
    assert_snapshot!("boards_filtered", h.screen());
    h.key("Enter");
    h.key("Ctrl-l");
    h.keys(&["G", "f"]);
    assert_eq!(
        h.app.boards.row_at(0).map(|r| r.name.clone()),
        Some("Rust".into())
    );
    // Favourites follow the user: a second client sees Rust pinned.
    let mut h2 = logged_in(&b, 80, 24);
    assert_eq!(
        h2.app.boards.row_at(0).map(|r| r.name.clone()),
        Some("Rust".into())
    );
    assert_snapshot!("boards_favourite_pinned", h2.screen());
}

#[test]
fn post_list_and_post_view_with_pushes_and_comments() {
    let b = bbs();
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter"]);
    assert_eq!(h.app.screen(), Screen::Posts);
    assert_snapshot!("posts", h.screen());
    h.keys(&["g", "Enter"]);
    assert_eq!(h.app.screen(), Screen::Reader);
    assert_snapshot!("post_view", h.screen());
    // Reading marked it read: the unread marker and the board's count went down.
    h.key("q");
    assert_snapshot!("posts_after_reading", h.screen());
    h.key("q");
    let csie = h
        .app
        .boards
        .position("NTU_CSIE")
        .and_then(|i| h.app.boards.row_at(i))
        .map(|r| r.unread);
    assert_eq!(csie, Some(1));
}

#[test]
fn search_by_title_and_author_and_next_unread() {
    let b = bbs();
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter", "/"]);
    h.type_text("Kafka");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 1);
    assert_snapshot!("posts_search_title", h.screen());
    h.keys(&["Ctrl-l", "a"]);
    h.type_text("alice");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 2);
    h.keys(&["Ctrl-l", "g", "Enter", "q", "n"]);
    assert_eq!(
        h.app.posts.selected().map(|r| r.title.as_str()),
        Some("[問題] Kafka consumer groups?")
    );
}

/// Item 9: `[ui] timezone` decides the dates and times shown; records stay UTC. NOW is
/// 2024-12-24 00:26 UTC, still 12/23 16:26 in Los Angeles.
#[test]
fn times_follow_the_timezone_setting() {
    let b = bbs();
    let cfg = Config::parse("[ui]\ntimezone = \"America/Los_Angeles\"\n").expect("config");
    let mut h = Harness::with(Arc::new(b.clone()), &cfg, LocalState::default(), 100, 30);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    h.keys(&["j", "Enter"]);
    assert_eq!(h.app.screen(), Screen::Posts);
    let list = h.screen();
    assert!(
        list.contains(" 12/23 ") && !list.contains(" 12/24 "),
        "{list}"
    );
    h.keys(&["g", "Enter"]);
    assert_eq!(h.app.screen(), Screen::Reader);
    let view = h.screen();
    assert!(view.contains("2024-12-23 16:26"), "{view}");
    assert_snapshot!("post_view_los_angeles", view);
}

#[test]
fn search_ignores_case_and_width_and_says_no_match() {
    let b = bbs();
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter", "/"]);
    h.type_text("kafka");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 1);
    h.keys(&["Ctrl-l", "/"]);
    h.type_text("ＫＡＦＫＡ");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 1);
    h.keys(&["Ctrl-l", "a"]);
    h.type_text("ALICE");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 2);
    h.keys(&["Ctrl-l", "/"]);
    h.type_text("no such title");
    h.key("Enter");
    assert_eq!(h.app.posts.len(), 0);
    assert_snapshot!("posts_search_no_match", h.screen());
    h.key("Ctrl-l");
    assert_eq!(h.app.posts.len(), 2);
}

#[test]
fn composer_with_cjk_text_places_the_cursor_by_display_width() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["j", "j", "Enter", "p"]);
    h.type_text("中文標題");
    h.key("Enter"); // to the body
    h.type_text("第一行 abc");
    h.key("Ctrl-j");
    h.type_text("第二行，寬字元");
    assert_snapshot!("composer_cjk", h.screen());
    let c = h.cursor().expect("cursor in the body");
    // Box border (1) + "第二行，寬字元" = 7 wide characters = 14 columns.
    assert_eq!(c.x, 1 + 14);
    h.key("Left");
    h.key("Left");
    assert_eq!(h.cursor().map(|c| c.x), Some(1 + 10));
    h.key("Ctrl-s");
    assert!(h.app.composer.is_none(), "sent");
    let last = h
        .app
        .posts
        .row_at(h.app.posts.len() - 1)
        .map(|r| r.title.clone());
    assert_eq!(last.as_deref(), Some("中文標題"));
    assert_snapshot!("posts_after_sending", h.screen());
}

#[test]
fn push_comment_edit_and_refused_delete() {
    let b = bbs();
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter", "g", "Enter", "+"]);
    h.type_text("讚");
    h.key("Enter");
    h.key("c");
    h.type_text("謝謝\n");
    let p = h.app.reader.post.clone().expect("post");
    assert_eq!(p.score, 3);
    assert_eq!(p.comments.last().map(|c| c.body.as_str()), Some("謝謝"));
    assert_snapshot!("post_view_after_push_and_comment", h.screen());
    // Not guest's post: the server refuses the delete and the refusal is shown.
    h.keys(&["d", "y"]);
    assert!(h.app.toasts.iter().any(|t| t.text == "Not the post owner."));
    assert_snapshot!("delete_refused", h.screen());
    h.key("e");
    assert!(h.app.composer.is_none(), "only own posts are edited");
}

#[test]
fn edit_and_delete_own_post() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["G", "Enter", "p"]);
    h.type_text("mine");
    h.key("Tab");
    h.type_text("body");
    h.key("Enter");
    h.keys(&["G", "Enter", "e"]);
    h.key("Ctrl-u");
    h.type_text("new body");
    h.key("Ctrl-s");
    assert_eq!(
        h.app.reader.post.as_ref().map(|p| p.body.as_str()),
        Some("new body")
    );
    assert!(h
        .app
        .reader
        .post
        .as_ref()
        .is_some_and(|p| p.edited.is_some()));
    h.keys(&["d", "y"]);
    assert_eq!(h.app.screen(), Screen::Posts);
    assert!(h
        .app
        .posts
        .row_at(h.app.posts.len() - 1)
        .is_some_and(|r| r.title != "mine"));
}

#[test]
fn mail_inbox_read_compose_delete() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.key("m");
    assert_snapshot!("mailbox", h.screen());
    h.key("Enter");
    assert_snapshot!("mail_read", h.screen());
    h.key("r");
    assert_eq!(
        h.app.composer.as_ref().map(|c| c.texts()[1].clone()),
        Some("Re: Welcome!".into())
    );
    h.type_text("thanks!");
    h.key("Enter");
    assert!(h.app.composer.is_none());
    assert_eq!(as_user(&b, "alice").mails().expect("mails").len(), 1);
    h.keys(&["d", "y"]);
    assert_eq!(h.app.screen(), Screen::Mail);
    assert!(h.app.mail.rows.is_empty());
    // Mail to nobody: the refusal stays in the composer with the text.
    h.key("p");
    h.type_text("nobody\nhi\nhello");
    h.key("Enter");
    let c = h.app.composer.as_ref().expect("composer kept");
    assert_eq!(c.error.as_deref(), Some("nobody does not exist."));
    assert_snapshot!("mail_compose_refused", h.screen());
}

#[test]
fn online_users_and_help() {
    let b = bbs();
    let _alice = as_user(&b, "alice");
    let mut h = logged_in(&b, 80, 24);
    h.key("w");
    assert_eq!(
        h.app.online.rows,
        vec!["alice".to_string(), "guest".to_string()]
    );
    assert_snapshot!("online", h.screen());
    h.key("?");
    assert_snapshot!("help", h.screen());
    h.key("PageDown");
    h.key("x");
    assert!(h.app.help.is_none());
}

#[test]
fn live_post_appears_without_a_key_press() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["G", "Enter"]);
    assert_eq!(h.app.posts.len(), 1);
    let mut alice = as_user(&b, "alice");
    let t = std::thread::spawn(move || {
        alice
            .create_post("Rust", "live from alice", "hi")
            .expect("post")
    });
    let id = t.join().expect("thread");
    assert!(h.wait_for(
        Duration::from_secs(5),
        |r| matches!(r, Reply::NewPost { row, .. } if row.id == id)
    ));
    assert_eq!(h.app.posts.len(), 2);
    assert_snapshot!("posts_live_arrival", h.screen());
    // The board list's unread count followed too.
    h.key("q");
    let rust = h
        .app
        .boards
        .position("Rust")
        .and_then(|i| h.app.boards.row_at(i))
        .map(|r| r.unread);
    assert_eq!(rust, Some(2), "carol's unread post and alice's new one");
}

#[test]
fn subscription_notifications_toast_and_log() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.key("S");
    assert_snapshot!("subs", h.screen());
    h.key("a");
    h.type_text("author carol ratatui");
    h.key("Enter");
    assert_eq!(h.app.subs.rows.len(), 2);
    let mut carol = as_user(&b, "carol");
    carol
        .create_post("Rust", "ratatui tips", "x")
        .expect("post");
    let mut bob = as_user(&b, "bob");
    bob.create_post("閒聊", "[問卦] 考試", "y").expect("post");
    assert!(h.wait_for(
        Duration::from_secs(5),
        |r| matches!(r, Reply::Notify(e) if e.author == "bob")
    ));
    h.settle();
    assert_eq!(h.app.notes.rows.len(), 2);
    assert_eq!(h.app.unseen_notes, 2);
    h.key("!");
    assert_snapshot!("notifications", h.screen());
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Reader);
    assert_eq!(
        h.app.reader.post.as_ref().map(|p| p.author.as_str()),
        Some("bob")
    );
}

#[test]
fn narrow_terminal_and_resizes_never_panic() {
    let b = bbs();
    let mut h = logged_in(&b, 40, 12);
    assert_snapshot!("narrow_boards", h.screen());
    h.keys(&["j", "Enter"]);
    assert_snapshot!("narrow_posts", h.screen());
    h.key("Enter");
    assert_snapshot!("narrow_post_view", h.screen());
    h.key("c");
    h.type_text("很長的留言需要換行才能放得下這麼多字");
    assert_snapshot!("narrow_composer", h.screen());
    assert!(h.cursor().is_some());
    h.key("Esc");
    for (w, hh) in [
        (1, 1),
        (3, 2),
        (10, 3),
        (40, 12),
        (200, 60),
        (12, 40),
        (0, 0),
        (80, 24),
    ] {
        h.resize(w, hh);
        h.screen();
        h.key("?");
        h.screen();
        h.key("x");
        h.key("p");
        h.screen();
        h.key("Esc");
    }
}

#[test]
fn drafts_survive_closing_the_composer_and_the_client() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["G", "Enter", "p"]);
    h.type_text("draft title");
    h.key("Esc");
    assert!(h.app.composer.is_none());
    h.key("p");
    assert_eq!(
        h.app.composer.as_ref().map(|c| c.texts()[0].clone()),
        Some("draft title".into())
    );
    h.key("Esc");
    h.key("Q");
    assert!(h.quit);
    // A new client with the saved local state gets the draft back.
    let local: LocalState = h.app.local.clone();
    assert_eq!(
        local.drafts.get("post:Rust").map(|d| d[0].as_str()),
        Some("draft title")
    );
    let mut h2 = Harness::with(Arc::new(b.clone()), &Config::default(), local, 80, 24);
    // The last user is filled in; the focus is on the password.
    assert_eq!(
        (h2.app.login.user.text().as_str(), h2.app.login.focus),
        ("guest", 1)
    );
    h2.type_text("guest");
    h2.key("Enter");
    h2.keys(&["G", "Enter", "p"]);
    assert_eq!(
        h2.app.composer.as_ref().map(|c| c.texts()[0].clone()),
        Some("draft title".into())
    );
}

#[test]
fn unread_state_follows_the_user_to_a_new_client() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["j", "Enter", "g", "Enter", "q", "q"]);
    let unread = |h: &Harness| {
        (0..h.app.boards.len())
            .filter_map(|i| h.app.boards.row_at(i))
            .map(|r| (r.name.clone(), r.unread))
            .collect::<Vec<_>>()
    };
    let before = unread(&h);
    h.key("Q");
    let h2 = logged_in(&b, 80, 24);
    assert_eq!(unread(&h2), before);
    assert_eq!(
        before.iter().find(|(n, _)| n == "NTU_CSIE").map(|x| x.1),
        Some(1)
    );
}

#[test]
fn light_and_mono_themes_draw_the_same_text() {
    let b = bbs();
    let mut dark = logged_in(&b, 80, 24);
    let text = dark.screen();
    for theme in ["light", "mono"] {
        let cfg = Config::parse(&format!("[ui]\ntheme = \"{theme}\"")).expect("config");
        let mut h = Harness::with(Arc::new(b.clone()), &cfg, LocalState::default(), 80, 24);
        assert_eq!(h.app.theme.name, theme);
        h.type_text("guest");
        h.key("Tab");
        h.type_text("guest");
        h.key("Enter");
        assert_eq!(h.screen(), text);
    }
}

/// A backend whose server can be "down": appends and new connections fail while it is.
struct Flaky {
    inner: MemoryBackend,
    down: Arc<std::sync::atomic::AtomicBool>,
}

struct FlakyLink {
    inner: Box<dyn Link>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

fn is_down(d: &std::sync::atomic::AtomicBool) -> bool {
    d.load(std::sync::atomic::Ordering::SeqCst)
}

impl Backend for Flaky {
    fn connect(&self) -> bbs::Result<Box<dyn Link>> {
        if is_down(&self.down) {
            return Err(bbs::Error::Backend("connection refused".into()));
        }
        Ok(Box::new(FlakyLink {
            inner: self.inner.connect()?,
            down: self.down.clone(),
        }))
    }
}

impl Link for FlakyLink {
    fn register(&mut self, u: &str, e: &str, p: &str) -> bbs::Result<()> {
        self.inner.register(u, e, p)
    }
    fn login(&mut self, u: &str, p: &str) -> bbs::Result<()> {
        self.inner.login(u, p)
    }
    fn logout(&mut self) -> bbs::Result<()> {
        self.inner.logout()
    }
    fn append(&mut self, e: bbs::codec::Entry) -> bbs::Result<bbs::backend::Appended> {
        if is_down(&self.down) {
            return Err(bbs::Error::Backend("connection reset by peer".into()));
        }
        self.inner.append(e)
    }
    fn with_view(&self, f: &mut dyn FnMut(&bbs::state::State)) {
        self.inner.with_view(f)
    }
    fn sync(&self) -> bbs::Result<()> {
        if is_down(&self.down) {
            return Err(bbs::Error::Backend("connection refused".into()));
        }
        self.inner.sync()
    }
    fn set_event_sink(&mut self, s: bbs::backend::EventSink) {
        self.inner.set_event_sink(s)
    }
    fn set_record_sink(&mut self, s: bbs::backend::RecordSink) {
        self.inner.set_record_sink(s)
    }
    fn prefs(&self) -> bbs::Result<bbs::prefs::UserPrefs> {
        self.inner.prefs()
    }
    fn put_read_mark(&mut self, b: &str, m: &bbs::prefs::ReadMark) -> bbs::Result<()> {
        self.inner.put_read_mark(b, m)
    }
    fn put_favourites(&mut self, b: &[String]) -> bbs::Result<()> {
        self.inner.put_favourites(b)
    }
    fn online(&self) -> bbs::Result<Vec<String>> {
        self.inner.online()
    }
}

#[test]
fn a_lost_connection_keeps_the_text_and_reconnects() {
    let b = bbs();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flaky = Flaky {
        inner: b.clone(),
        down: down.clone(),
    };
    let mut h = Harness::new(Arc::new(flaky), 80, 24);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    h.keys(&["G", "Enter", "p"]);
    h.type_text("survives\nan outage");
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    h.key("Enter");
    let c = h.app.composer.as_ref().expect("the composer stays open");
    assert_eq!(
        c.texts(),
        vec!["survives".to_string(), "an outage".to_string()]
    );
    assert!(
        c.error
            .as_deref()
            .is_some_and(|e| e.contains("connection reset")),
        "{:?}",
        c.error
    );
    assert!(matches!(
        h.app.conn,
        bbs::tui::msg::ConnState::Reconnecting(..)
    ));
    assert_snapshot!("send_failed_reconnecting", h.screen());
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(h.wait_for(Duration::from_secs(10), |r| matches!(
        r,
        Reply::Conn(bbs::tui::msg::ConnState::Online)
    )));
    h.settle();
    assert!(h.app.toasts.iter().any(|t| t.text.contains("Reconnected")));
    h.key("Ctrl-s");
    assert!(h.app.composer.is_none(), "sent after the reconnect");
    assert!(h
        .app
        .posts
        .row_at(h.app.posts.len() - 1)
        .is_some_and(|r| r.title == "survives"));
}

#[test]
fn newest_first_list_does_not_jump_when_posts_arrive_above() {
    let b = bbs();
    let mut alice = as_user(&b, "alice");
    for i in 0..40 {
        alice
            .create_post("Rust", &format!("old {i}"), "x")
            .expect("post");
    }
    let cfg = Config::parse("[ui]\norder = \"newest-first\"").expect("config");
    let mut h = Harness::with(Arc::new(b.clone()), &cfg, LocalState::default(), 80, 12);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    h.keys(&["G", "Enter", "v", "G", "k", "k"]);
    let before = h.screen();
    let sel = h.app.posts.selected().map(|r| r.id);
    for i in 0..3 {
        alice
            .create_post("Rust", &format!("new {i}"), "x")
            .expect("post");
    }
    for _ in 0..3 {
        assert!(h.wait_for(Duration::from_secs(5), |r| matches!(
            r,
            Reply::NewPost { .. }
        )));
    }
    assert_eq!(h.app.posts.selected().map(|r| r.id), sel);
    // The rows on screen are the same rows (only the new posts' unread markers elsewhere).
    let body = |s: &str| {
        s.lines()
            .skip(2)
            .take(8)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(body(&h.screen()), body(&before));
    h.key("g");
    assert_snapshot!("newest_first_after_arrivals", h.screen());
}

#[test]
fn external_editor_replaces_the_focused_field() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["G", "Enter", "p", "Tab"]);
    h.editor_result = Some("寫在編輯器裡\nsecond line\n".into());
    h.key("Ctrl-e");
    let c = h.app.composer.as_ref().expect("composer");
    assert_eq!(c.texts()[1], "寫在編輯器裡\nsecond line");
    h.editor_result = None;
    h.key("Ctrl-e");
    let c = h.app.composer.as_ref().expect("composer");
    assert_eq!(
        c.texts()[1],
        "寫在編輯器裡\nsecond line",
        "a failed editor changes nothing"
    );
    assert!(c.error.is_some());
}

#[test]
fn narrow_login_form_is_usable() {
    let b = bbs();
    let mut h = Harness::new(Arc::new(b.clone()), 40, 12);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("nope");
    h.key("Enter");
    assert_snapshot!("narrow_login", h.screen());
    assert!(h.cursor().is_some());
}

#[test]
fn an_idle_client_notices_the_server_going_away_and_coming_back() {
    let b = bbs();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flaky = Flaky {
        inner: b.clone(),
        down: down.clone(),
    };
    let mut h = Harness::new(Arc::new(flaky), 80, 24);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    h.settle();
    assert!(matches!(h.app.conn, bbs::tui::msg::ConnState::Online));
    // No key is pressed: the worker's idle check must notice.
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(h.wait_for(Duration::from_secs(10), |r| matches!(
        r,
        Reply::Conn(bbs::tui::msg::ConnState::Reconnecting(..))
    )));
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(h.wait_for(Duration::from_secs(15), |r| matches!(
        r,
        Reply::Conn(bbs::tui::msg::ConnState::Online)
    )));
}

// ---- Issue 11: the rough edges users hit (items 7, 8, 10, 13-17) ----

fn unread_of(h: &Harness, board: &str) -> Option<usize> {
    h.app
        .boards
        .position(board)
        .and_then(|i| h.app.boards.row_at(i))
        .map(|r| r.unread)
}

fn all_unread(h: &Harness) -> Vec<(String, usize)> {
    (0..h.app.boards.len())
        .filter_map(|i| h.app.boards.row_at(i))
        .map(|r| (r.name.clone(), r.unread))
        .collect()
}

#[test]
fn unread_counts_are_exact_on_the_board_list_and_across_sessions() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    let before = unread_of(&h, "Rust");
    // A post created and deleted while the user is on the board list leaves no unread.
    let mut alice = as_user(&b, "alice");
    let id = alice
        .create_post("Rust", "here and gone", "x")
        .expect("post");
    assert!(h.wait_for(Duration::from_secs(10), |r| matches!(
        r,
        Reply::NewPost { .. }
    )));
    alice.delete_post(&id.to_string()).expect("delete");
    assert!(h.wait_for(Duration::from_secs(10), |r| matches!(
        r,
        Reply::PostChanged { row: None, .. }
    )));
    h.settle();
    assert_eq!(h.app.screen(), Screen::Boards);
    assert_eq!(unread_of(&h, "Rust"), before);
    // Two sessions of the same user: one reads, the other's board list agrees.
    let mut h2 = logged_in(&b, 80, 24);
    h.keys(&["j", "Enter", "g", "Enter", "q", "q"]);
    h2.keys(&["Enter", "q"]);
    assert_eq!(h2.app.screen(), Screen::Boards);
    assert_eq!(all_unread(&h2), all_unread(&h));
    assert_eq!(unread_of(&h2, "NTU_CSIE"), Some(1));
}

#[test]
fn reply_by_mail_opens_a_fresh_composer_and_keeps_other_drafts() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["m", "p"]);
    h.type_text("bob\nplans\nhalf-written");
    h.key("Esc");
    assert!(h.app.composer.is_none());
    h.keys(&["q", "j", "Enter", "g", "Enter"]);
    let post = h.app.reader.post.clone().expect("post");
    h.key("r");
    let c = h.app.composer.as_ref().expect("reply composer");
    assert_eq!(
        c.texts(),
        vec![
            post.author.clone(),
            format!("Re: {}", post.title),
            String::new()
        ]
    );
    assert_snapshot!("reply_by_mail_fresh", h.screen());
    h.type_text("see you");
    h.key("Esc");
    // The draft for bob is still a draft, untouched.
    h.keys(&["q", "q", "m", "p"]);
    let c = h.app.composer.as_ref().expect("mail composer");
    assert_eq!(
        c.texts(),
        vec!["bob".to_string(), "plans".into(), "half-written".into()]
    );
    // And replying again brings back the reply's own text.
    h.keys(&["Esc", "q", "Enter", "g", "Enter", "r"]);
    let c = h.app.composer.as_ref().expect("reply composer");
    assert_eq!(c.texts()[2], "see you");
}

#[test]
fn an_outage_while_typing_shows_reconnecting_keeps_a_draft_and_clears_stale_errors() {
    let b = bbs();
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flaky = Flaky {
        inner: b.clone(),
        down: down.clone(),
    };
    let mut h = Harness::new(Arc::new(flaky), 80, 24);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("guest");
    h.key("Enter");
    h.keys(&["G", "Enter", "p"]);
    h.type_text("typed\nwhile the server left");
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    // Typing, no request: the worker's own link check notices.
    assert!(h.wait_for(Duration::from_secs(10), |r| matches!(
        r,
        Reply::Conn(bbs::tui::msg::ConnState::Reconnecting(..))
    )));
    assert!(h.screen().contains("reconnecting"));
    h.key("Ctrl-s");
    let c = h.app.composer.as_ref().expect("the composer stays open");
    let err = c.error.clone().unwrap_or_default();
    assert!(
        err.starts_with("Not sent (") && err.ends_with("; kept as a draft."),
        "{err}"
    );
    assert_eq!(
        h.app.local.drafts.get("post:Rust"),
        Some(&vec![
            "typed".to_string(),
            "while the server left".to_string()
        ])
    );
    assert_snapshot!("send_during_outage", h.screen());
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(h.wait_for(Duration::from_secs(15), |r| matches!(
        r,
        Reply::Conn(bbs::tui::msg::ConnState::Online)
    )));
    h.settle();
    let c = h.app.composer.as_ref().expect("composer");
    assert_eq!(c.error, None, "the outage error is stale once online");
    assert!(!h.screen().contains("unreachable"));
}

#[test]
fn leaving_the_top_screen_needs_a_second_press_and_ctrl_c_quits_at_once() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.key("q");
    assert!(!h.quit, "one q does not quit");
    assert!(h
        .app
        .toasts
        .iter()
        .any(|t| t.text.contains("again to quit")));
    assert_snapshot!("quit_asks_again", h.screen());
    // Too late: the first press has expired and this one asks again.
    h.app.quit_armed = std::time::Instant::now().checked_sub(Duration::from_secs(3));
    h.key("Esc");
    assert!(!h.quit);
    h.key("Esc");
    assert!(h.quit, "a second press within 2 s quits");
    let mut h = logged_in(&b, 80, 24);
    h.key("Ctrl-c");
    assert!(h.quit, "Ctrl-c quits at once");
    let mut h = Harness::new(Arc::new(b.clone()), 80, 24);
    h.key("Esc");
    assert!(!h.quit, "Esc on the login screen asks too");
    h.key("Esc");
    assert!(h.quit);
}

#[test]
fn failed_login_clears_the_password_and_foreign_posts_are_refused_at_once() {
    let b = bbs();
    let mut h = Harness::new(Arc::new(b.clone()), 80, 24);
    h.type_text("guest");
    h.key("Tab");
    h.type_text("wrong");
    h.key("Enter");
    assert_eq!(h.app.login.error.as_deref(), Some("Login failed."));
    assert_eq!(h.app.login.password.text(), "");
    assert_eq!(h.app.login.focus, 1);
    h.type_text("guest");
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Boards);
    // Another user's post: delete is refused like edit, before any question.
    h.keys(&["j", "Enter", "g"]);
    h.key("d");
    assert!(
        h.app.prompt.is_none(),
        "no confirmation for a refused delete"
    );
    assert!(h.app.toasts.iter().any(|t| t.text == "Not the post owner."));
    h.keys(&["Enter", "d"]);
    assert!(h.app.prompt.is_none());
    assert_snapshot!("delete_refused_at_once", h.screen());
    assert_eq!(h.app.posts.len(), 2, "nothing was deleted");
}

#[test]
fn small_terminal_toasts_help_and_long_titles() {
    let b = bbs();
    let mut alice = as_user(&b, "alice");
    alice
        .create_post(
            "Rust",
            "A very long title that cannot possibly fit in forty columns",
            "body",
        )
        .expect("post");
    let mut h = logged_in(&b, 40, 12);
    h.keys(&["G", "Enter", "G"]);
    let quiet = h.screen();
    assert!(quiet.contains('…'), "{quiet}");
    h.key("f"); // a toast
    assert!(!h.app.toasts.is_empty());
    let loud = h.screen();
    let body = |s: &str| s.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(body(&loud), body(&quiet), "the toast covers no content");
    assert_snapshot!("small_toast", loud);
    h.app.toasts.clear();
    h.key("Enter");
    let post = h.screen();
    assert!(post.lines().next().is_some_and(|l| l.ends_with('…')));
    assert_snapshot!("small_post_long_title", post);
    h.key("?");
    assert_snapshot!("small_help", h.screen());
    for _ in 0..100 {
        h.key("PageDown");
    }
    let end = h.app.help.expect("help open");
    assert!(h.screen().contains("Any other key closes this help."));
    h.key("k");
    assert_eq!(h.app.help, Some(end - 1), "Up moves at once after the end");
    assert!(h.screen().lines().all(|l| l.chars().count() <= 40));
}

#[test]
fn client_config_mistakes_are_reported_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("bbs-t11-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cases = [
        (
            "unknown.toml",
            "[ui]\nbell = true\ncolour = \"x\"\n",
            ":3:",
            "colour",
        ),
        ("theme.toml", "[ui]\ntheme = \"neon\"\n", ":2:", "neon"),
        (
            "shadow.toml",
            "[ui]\nbell = true\n\n[keys.nav]\ndown = [\"q\"]\n",
            ":5:",
            "shadow",
        ),
    ];
    for (name, text, line, what) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        let err = Config::load(Some(&path)).expect_err(name);
        let want = format!("{}{line}", path.display());
        assert!(err.starts_with(&want) && err.contains(what), "{err}");
    }
    let ok = dir.join("ok.toml");
    std::fs::write(
        &ok,
        "[ui]\ntheme = \"light\"\n[keys.nav]\ndown = [\"j\", \"Down\"]\n",
    )
    .expect("write");
    assert!(Config::load(Some(&ok)).is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn multi_line_comments_are_refused_in_the_composer() {
    let b = bbs();
    let mut h = logged_in(&b, 80, 24);
    h.keys(&["j", "Enter", "g", "Enter"]);
    let comments = h.app.reader.post.as_ref().map(|p| p.comments.len());
    h.key("c");
    h.type_text("first line");
    h.key("Ctrl-j");
    let c = h.app.composer.as_ref().expect("composer");
    assert_eq!(
        c.error.as_deref(),
        Some(bbs::tui::compose::ONE_LINE_COMMENT)
    );
    assert_eq!(c.texts(), vec!["first line".to_string()]);
    assert_snapshot!("comment_one_line", h.screen());
    // Pasted line breaks are refused at send, and the text stays.
    h.app.on_paste("\nsecond line");
    h.key("Enter");
    let c = h.app.composer.as_ref().expect("composer kept");
    assert_eq!(
        c.error.as_deref(),
        Some(bbs::tui::compose::ONE_LINE_COMMENT)
    );
    assert_eq!(
        h.app.reader.post.as_ref().map(|p| p.comments.len()),
        comments
    );
}

#[test]
fn moderator_removes_a_post_with_x_and_others_are_refused() {
    let b = bbs();
    // guest does not moderate NTU_CSIE (alice created it): refused, nothing changes.
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter", "g", "Enter"]);
    let post = h.app.reader.post.clone().expect("post");
    h.keys(&["X", "y"]);
    assert!(h
        .app
        .toasts
        .iter()
        .any(|t| t.text == "Not the board moderator."));
    let alice = as_user(&b, "alice");
    assert_eq!(
        alice.read(&post.id.to_string()).expect("read").body,
        post.body
    );
    // alice, the moderator, removes it (after confirming).
    let mut h = Harness::new(Arc::new(b.clone()), 100, 30);
    h.type_text("alice");
    h.key("Tab");
    h.type_text("alice");
    h.key("Enter");
    h.keys(&["j", "Enter", "g", "Enter", "X"]);
    assert_snapshot!("remove_confirm", h.screen());
    h.key("y");
    // Like a delete, the removal returns to the list, where the post keeps its place.
    assert_eq!(h.app.screen(), Screen::Posts);
    assert!(h.app.toasts.iter().any(|t| t.text.ends_with("removed.")));
    assert_snapshot!("posts_with_a_removed_post", h.screen());
    h.key("Enter");
    assert_eq!(h.app.screen(), Screen::Reader);
    let shown = h.screen();
    assert!(
        shown.contains("removed by the moderator (alice)"),
        "{shown}"
    );
    let first_line = post
        .body
        .lines()
        .find(|l| l.trim().len() > 3)
        .unwrap_or("-");
    assert!(!shown.contains(first_line), "{shown}");
    assert_snapshot!("removed_post_view", shown);
}

#[test]
fn moderator_picks_and_removes_a_comment_and_others_are_refused_at_once() {
    let b = bbs();
    // guest does not moderate NTU_CSIE (alice created it): refused before any pick or
    // question, with the server's words.
    let mut h = logged_in(&b, 100, 30);
    h.keys(&["j", "Enter", "g", "Enter"]);
    let post = h.app.reader.post.clone().expect("post");
    assert_eq!(post.comments.len(), 2);
    h.key("x");
    assert!(h.app.reader.pick.is_none(), "no pick for a non-moderator");
    assert!(h.app.prompt.is_none(), "no question for a non-moderator");
    assert!(h
        .app
        .toasts
        .iter()
        .any(|t| t.text == "Not the board moderator."));
    // The post's X is refused the same way, at once.
    h.key("X");
    assert!(h.app.prompt.is_none(), "no question for a refused removal");
    // alice, the moderator, picks the first comment, moves, comes back, confirms.
    let mut h = Harness::new(Arc::new(b.clone()), 100, 30);
    h.type_text("alice");
    h.key("Tab");
    h.type_text("alice");
    h.key("Enter");
    h.keys(&["j", "Enter", "g", "Enter", "x"]);
    assert_eq!(h.app.reader.pick, Some(0));
    assert_snapshot!("remove_comment_pick", h.screen());
    h.key("j");
    assert_eq!(h.app.reader.pick, Some(1));
    h.keys(&["j", "k"]);
    assert_eq!(h.app.reader.pick, Some(0), "the pick stays on the comments");
    h.key("Enter");
    assert!(h.app.prompt.is_some());
    assert_snapshot!("remove_comment_confirm", h.screen());
    h.key("y");
    assert!(h.app.reader.pick.is_none());
    assert_eq!(
        h.app.screen(),
        Screen::Reader,
        "a comment removal stays on the post"
    );
    assert!(h.app.toasts.iter().any(|t| t.text == "Comment 1 removed."));
    let shown = h.screen();
    assert!(shown.contains("[removed by the moderator]"), "{shown}");
    assert!(!shown.contains(&post.comments[0].body), "{shown}");
    assert!(shown.contains(&post.comments[1].body), "{shown}");
    assert_snapshot!("remove_comment_result", shown);
    // The record reached the backend: another user's session reads the removal.
    let bob = as_user(&b, "bob");
    let read = bob.read(&post.id.to_string()).expect("read");
    assert_eq!(read.comments[0].body, "[removed by the moderator]");
    assert_eq!(read.comments[1].body, post.comments[1].body);
    // Esc leaves a pick without removing anything.
    h.keys(&["x", "j", "Esc"]);
    assert!(h.app.reader.pick.is_none());
    assert!(h.app.prompt.is_none());
    assert_eq!(h.app.screen(), Screen::Reader);
    let read = bob.read(&post.id.to_string()).expect("read");
    assert_eq!(read.comments[1].body, post.comments[1].body);
}

#[test]
fn board_filter_ignores_case_and_width_and_says_no_match() {
    let b = bbs();
    as_user(&b, "bob").create_board("NP_HW").expect("board");
    let mut h = logged_in(&b, 80, 24);
    h.key("/");
    h.type_text("np");
    h.key("Enter");
    let names = |h: &Harness| {
        (0..h.app.boards.len())
            .filter_map(|i| h.app.boards.row_at(i).map(|r| r.name.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&h), ["NP_HW"]);
    assert_snapshot!("boards_filter_ignores_case", h.screen());
    h.keys(&["Ctrl-l", "/"]);
    h.type_text("ＮＰ＿ｈｗ");
    h.key("Enter");
    assert_eq!(names(&h), ["NP_HW"]);
    h.keys(&["Ctrl-l", "/"]);
    h.type_text("zz");
    h.key("Enter");
    assert!(names(&h).is_empty());
    let shown = h.screen();
    assert!(
        shown.contains("No match. Press Ctrl-l to clear the filter."),
        "{shown}"
    );
    assert_snapshot!("boards_filter_no_match", shown);
    h.key("Ctrl-l");
    assert_eq!(h.app.boards.len(), 5);
}

/// A backend whose account calls answer the way the real server's refusals arrive
/// through the Kafka backend (`bbs::backend::kafka` maps them to these failures).
struct Refusing(MemoryBackend);
struct RefusingLink(Box<dyn Link>);

impl Backend for Refusing {
    fn connect(&self) -> bbs::Result<Box<dyn Link>> {
        Ok(Box::new(RefusingLink(self.0.connect()?)))
    }
}

const LIMITED_REGISTRATION: &str = "too many registrations from this address; try again later";
const LIMITED_LOGIN: &str = "too many failed logins from this address; try again in 27 s";

impl Link for RefusingLink {
    fn register(&mut self, u: &str, e: &str, p: &str) -> bbs::Result<()> {
        use bbs::error::Failure;
        match u {
            "flood" => Err(Failure::Policy(LIMITED_REGISTRATION.into()).into()),
            "__admin" => Err(Failure::BadName("'__admin' is reserved".into()).into()),
            _ => self.0.register(u, e, p),
        }
    }
    fn login(&mut self, u: &str, p: &str) -> bbs::Result<()> {
        match u {
            "slowed" => Err(bbs::error::Failure::Policy(LIMITED_LOGIN.into()).into()),
            _ => self.0.login(u, p),
        }
    }
    fn logout(&mut self) -> bbs::Result<()> {
        self.0.logout()
    }
    fn append(&mut self, e: bbs::codec::Entry) -> bbs::Result<bbs::backend::Appended> {
        self.0.append(e)
    }
    fn with_view(&self, f: &mut dyn FnMut(&bbs::state::State)) {
        self.0.with_view(f)
    }
    fn sync(&self) -> bbs::Result<()> {
        self.0.sync()
    }
    fn set_event_sink(&mut self, s: bbs::backend::EventSink) {
        self.0.set_event_sink(s)
    }
    fn set_record_sink(&mut self, s: bbs::backend::RecordSink) {
        self.0.set_record_sink(s)
    }
    fn prefs(&self) -> bbs::Result<bbs::prefs::UserPrefs> {
        self.0.prefs()
    }
}

fn register(h: &mut Harness, user: &str) -> String {
    if !h.app.login.register {
        h.key("Ctrl-r");
    }
    while h.app.login.focus != 0 {
        h.key("Shift-Tab");
    }
    // Empty the three fields (user, password, email).
    for _ in 0..3 {
        h.key("Ctrl-u");
        h.key("Tab");
    }
    while h.app.login.focus != 0 {
        h.key("Shift-Tab");
    }
    h.type_text(user);
    h.key("Tab");
    h.type_text("pw");
    h.key("Tab");
    h.type_text("x@y");
    h.key("Enter");
    h.app.login.error.clone().unwrap_or_default()
}

#[test]
fn registration_and_login_refusals_say_what_happened() {
    let b = bbs();
    let mut h = Harness::new(Arc::new(Refusing(b.clone())), 80, 24);
    let limited = register(&mut h, "flood");
    assert_eq!(limited, LIMITED_REGISTRATION);
    assert_snapshot!("register_rate_limited", h.screen());
    let invalid = register(&mut h, "__admin");
    assert_eq!(invalid, "Invalid name: '__admin' is reserved.");
    assert_snapshot!("register_invalid_name", h.screen());
    let taken = register(&mut h, "alice");
    assert_eq!(taken, "Username is already used.");
    // Three refusals, three messages.
    assert!(limited != invalid && invalid != taken && limited != taken);

    // Login: slowed down for too many failures is not a wrong password.
    h.key("Ctrl-r");
    assert!(!h.app.login.register);
    while h.app.login.focus != 0 {
        h.key("Shift-Tab");
    }
    h.key("Ctrl-u");
    h.type_text("slowed");
    h.key("Tab");
    h.type_text("pw");
    h.key("Enter");
    let slowed = h.app.login.error.clone().unwrap_or_default();
    assert_eq!(slowed, LIMITED_LOGIN);
    assert_snapshot!("login_slowed_down", h.screen());
    h.key("Shift-Tab");
    h.key("Ctrl-u");
    h.type_text("guest");
    h.key("Tab");
    h.type_text("wrong");
    h.key("Enter");
    assert_eq!(h.app.login.error.as_deref(), Some("Login failed."));
    assert_ne!(slowed, "Login failed.");
}
