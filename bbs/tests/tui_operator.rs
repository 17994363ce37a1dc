//! Screen tests of the operator's moderation as a TUI user sees it (issue 11, item 4):
//! a board the operator deletes leaves the board list at once, and a disabled user's
//! login says so (not "Login failed.").

use std::sync::Arc;
use std::time::Duration;

use bbs::backend::memory::MemoryBackend;
use bbs::codec::{self, BbsRecord, Entry, OPERATOR};
use bbs::policy::Principal;
use bbs::tui::app::Screen;
use bbs::tui::demo;
use bbs::tui::msg::Reply;
use bbs::tui::testing::Harness;
use insta::assert_snapshot;

/// 2024-12-24 00:26:40 UTC, for every record.
const NOW: i64 = 1_735_000_000_000;

fn bbs() -> MemoryBackend {
    let b = MemoryBackend::with_clock(Arc::new(|| NOW));
    demo::seed(&b).expect("seed");
    b
}

/// Writes `record` as the operator (the server's principal), as `bbs-server admin` does.
fn as_operator(b: &MemoryBackend, record: BbsRecord) {
    let (topic, wire) = codec::encode(&Entry::new(record)).expect("encode");
    b.produce(Principal::Server, &topic, &[wire])
        .expect("the operator's record is accepted");
}

fn login(b: &MemoryBackend, user: &str, password: &str) -> Harness {
    let mut h = Harness::new(Arc::new(b.clone()), 80, 24);
    h.type_text(user);
    h.key("Tab");
    h.type_text(password);
    h.key("Enter");
    h
}

#[test]
fn a_deleted_board_leaves_the_board_list_at_once() {
    let b = bbs();
    let mut h = login(&b, "guest", "guest");
    assert_eq!(h.app.screen(), Screen::Boards);
    assert!(h.app.boards.position("Rust").is_some());
    as_operator(
        &b,
        BbsRecord::BoardDelete {
            name: "Rust".into(),
            author: OPERATOR.into(),
        },
    );
    assert!(h.wait_for(Duration::from_secs(5), |r| matches!(
        r,
        Reply::Boards(rows) if !rows.iter().any(|x| x.name == "Rust")
    )));
    assert!(h.app.boards.position("Rust").is_none());
    assert_snapshot!("operator_board_deleted", h.screen());
}

#[test]
fn a_disabled_user_is_told_so_at_login_and_a_wrong_password_is_not() {
    let b = bbs();
    as_operator(
        &b,
        BbsRecord::UserStatus {
            name: "alice".into(),
            disabled: true,
            author: OPERATOR.into(),
        },
    );
    let h = login(&b, "alice", "wrong");
    assert_eq!(h.app.login.error.as_deref(), Some("Login failed."));
    let mut h = login(&b, "alice", "alice");
    assert_eq!(h.app.screen(), Screen::Login);
    assert_eq!(
        h.app.login.error.as_deref(),
        Some("The account alice is disabled by the operator.")
    );
    assert_snapshot!("operator_disabled_login", h.screen());
}
