//! Policy tests: a tiny "server" that checks, then applies what was accepted.

use super::*;
use crate::model::Change;
use crate::state::Position;

/// Applies the policy like the server does and keeps the log of accepted records.
#[derive(Default)]
struct Server {
    state: State,
    log: Vec<(String, WireRecord)>,
}

impl Server {
    fn produce(&mut self, who: Principal<'_>, records: &[BbsRecord]) -> Verdict {
        let encoded: Vec<(String, WireRecord)> = records
            .iter()
            .map(|r| codec::encode(&Entry::new(r.clone())).expect("encode"))
            .collect();
        let topic = encoded[0].0.clone();
        let wires: Vec<WireRecord> = encoded.into_iter().map(|(_, w)| w).collect();
        let verdict = check(who, &topic, &wires, &self.state, 42_000);
        if let Verdict::Replace(stamped) = &verdict {
            for w in stamped {
                self.append(&topic, w.clone());
            }
        }
        verdict
    }
    fn append(&mut self, topic: &str, w: WireRecord) {
        let offset = self.log.iter().filter(|(t, _)| t == topic).count() as i64;
        let entry = codec::decode(topic, &w).expect("stamped records decode");
        self.state.apply(
            Position {
                offset,
                timestamp: 0,
            },
            &entry,
        );
        self.log.push((topic.to_string(), w));
    }
    /// A new server that recovers its state from the log (a restart).
    fn restart(&self) -> Server {
        let mut s = Server::default();
        for (t, w) in &self.log {
            s.append(t, w.clone());
        }
        s
    }
}

fn ok(v: Verdict) -> Vec<Entry> {
    match v {
        Verdict::Replace(ws) => ws
            .iter()
            .map(|w| {
                // The topic does not matter for the fields we look at here, but decode
                // needs the right namespace; re-derive it from the kind header.
                let kind = w.header(codec::H_KIND).expect("utf8").expect("kind");
                let topic = match kind {
                    "board" | "board-delete" => "bbs.boards",
                    "user" | "disable" | "enable" => "bbs.users",
                    "mail" | "mail-delete" => "mail.bob",
                    "subscribe" | "unsubscribe" => "subs.bob",
                    _ => "board.NP",
                };
                codec::decode(topic, w).expect("decode")
            })
            .collect(),
        other => panic!("expected Replace, got {other:?}"),
    }
}

const A: Principal<'static> = Principal::User("amy");
const B: Principal<'static> = Principal::User("bob");

fn user(name: &str) -> BbsRecord {
    BbsRecord::User {
        name: name.into(),
        email: format!("{name}@x"),
    }
}
fn board(name: &str, creator: &str) -> BbsRecord {
    BbsRecord::Board {
        name: name.into(),
        creator: creator.into(),
    }
}
fn post(author: &str, title: &str) -> BbsRecord {
    BbsRecord::Post {
        board: "NP".into(),
        id: Some(999),
        author: author.into(),
        title: title.into(),
        body: "b".into(),
    }
}
fn comment(author: &str, id: PostId) -> BbsRecord {
    BbsRecord::Comment {
        board: "NP".into(),
        post: id,
        author: author.into(),
        body: "c".into(),
    }
}
fn edit(author: &str, id: PostId) -> BbsRecord {
    BbsRecord::Edit {
        board: "NP".into(),
        post: id,
        author: author.into(),
        change: Change::Title("x".into()),
    }
}
fn delete(author: &str, id: PostId) -> BbsRecord {
    BbsRecord::Delete {
        board: "NP".into(),
        post: id,
        author: author.into(),
    }
}

fn setup() -> Server {
    let mut s = Server::default();
    ok(s.produce(Principal::Server, &[user("amy")]));
    ok(s.produce(Principal::Server, &[user("bob")]));
    ok(s.produce(A, &[board("NP", "amy")]));
    s
}

#[test]
fn ids_are_stamped_in_order_and_survive_restart() {
    let mut s = setup();
    let first = ok(s.produce(A, &[post("amy", "one"), post("amy", "two")]));
    let ids: Vec<_> = first
        .iter()
        .map(|e| match &e.record {
            BbsRecord::Post { id, .. } => *id,
            _ => None,
        })
        .collect();
    assert_eq!(
        ids,
        vec![Some(1), Some(2)],
        "client-sent id 999 is overwritten"
    );
    assert!(first.iter().all(|e| e.time == Some(42_000)));
    ok(s.produce(A, &[delete("amy", 2)]));
    let mut s = s.restart();
    let third = ok(s.produce(B, &[post("bob", "three")]));
    assert!(matches!(
        third[0].record,
        BbsRecord::Post { id: Some(3), .. }
    ));
}

#[test]
fn impersonation_is_rejected_and_writes_nothing() {
    let mut s = setup();
    ok(s.produce(A, &[post("amy", "mine")]));
    let before = s.log.len();
    assert!(
        matches!(s.produce(B, &[post("amy", "forged")]), Verdict::Reject(Failure::Policy(m)) if m.contains("bbs.author"))
    );
    assert!(matches!(
        s.produce(B, &[edit("amy", 1)]),
        Verdict::Reject(Failure::Policy(_))
    ));
    assert_eq!(
        s.produce(B, &[edit("bob", 1)]),
        Verdict::Reject(Failure::NotOwner)
    );
    assert_eq!(
        s.produce(B, &[delete("bob", 1)]),
        Verdict::Reject(Failure::NotOwner)
    );
    assert_eq!(s.log.len(), before);
    assert_eq!(
        s.produce(Principal::Anonymous, &[post("amy", "anon")]),
        Verdict::Reject(Failure::NotLoggedIn)
    );
}

#[test]
fn references_must_be_live_posts_on_the_same_board() {
    let mut s = setup();
    assert_eq!(
        s.produce(B, &[comment("bob", 1)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    ok(s.produce(A, &[post("amy", "p")]));
    ok(s.produce(B, &[comment("bob", 1)]));
    ok(s.produce(A, &[board("OS", "amy")]));
    let other_board = BbsRecord::Comment {
        board: "OS".into(),
        post: 1,
        author: "bob".into(),
        body: "c".into(),
    };
    assert_eq!(
        s.produce(B, &[other_board]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    ok(s.produce(A, &[delete("amy", 1)]));
    assert_eq!(
        s.produce(B, &[comment("bob", 1)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    assert_eq!(
        s.produce(A, &[edit("amy", 1)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    let to_missing_board = BbsRecord::Post {
        board: "nope".into(),
        id: None,
        author: "amy".into(),
        title: "t".into(),
        body: String::new(),
    };
    assert_eq!(
        s.produce(A, &[to_missing_board]),
        Verdict::Reject(Failure::NoSuchBoard)
    );
}

#[test]
fn batches_are_all_or_nothing_and_see_their_own_records() {
    let mut s = setup();
    let before = s.log.len();
    assert_eq!(
        s.produce(A, &[post("amy", "ok"), comment("amy", 77)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    assert_eq!(s.log.len(), before);
    ok(s.produce(A, &[post("amy", "p"), comment("amy", 1), edit("amy", 1)]));
    assert_eq!(
        s.produce(A, &[delete("amy", 1), comment("amy", 1)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    assert_eq!(
        s.produce(A, &[board("X", "amy"), board("X", "amy")]),
        Verdict::Reject(Failure::BoardExists)
    );
}

#[test]
fn boards_users_mail_and_subscriptions() {
    let mut s = setup();
    assert_eq!(
        s.produce(B, &[board("NP", "bob")]),
        Verdict::Reject(Failure::BoardExists)
    );
    assert_eq!(
        s.produce(Principal::Server, &[user("amy")]),
        Verdict::Reject(Failure::UsernameTaken)
    );
    let mail = |to: &str| BbsRecord::Mail {
        to: to.into(),
        from: "amy".into(),
        subject: "s".into(),
        body: "b".into(),
    };
    assert_eq!(
        s.produce(A, &[mail("zed")]),
        Verdict::Reject(Failure::NoSuchUser("zed".into()))
    );
    ok(s.produce(A, &[mail("bob")]));
    let del = |owner: &str, mail: i64| BbsRecord::MailDelete {
        owner: owner.into(),
        mail,
    };
    assert!(matches!(
        s.produce(A, &[del("bob", 0)]),
        Verdict::Reject(Failure::Policy(_))
    ));
    assert_eq!(
        s.produce(B, &[del("bob", 5)]),
        Verdict::Reject(Failure::NoSuchMail)
    );
    ok(s.produce(B, &[del("bob", 0)]));
    assert_eq!(
        s.produce(B, &[del("bob", 0)]),
        Verdict::Reject(Failure::NoSuchMail)
    );

    let sub = |kw: &str| BbsRecord::Subscribe {
        owner: "bob".into(),
        target: SubTarget::board("NP"),
        keyword: kw.into(),
    };
    let unsub = BbsRecord::Unsubscribe {
        owner: "bob".into(),
        target: SubTarget::board("NP"),
    };
    assert_eq!(
        s.produce(B, std::slice::from_ref(&unsub)),
        Verdict::Reject(Failure::NotSubscribed("NP".into()))
    );
    ok(s.produce(B, &[sub("hw")]));
    assert_eq!(
        s.produce(B, &[sub("hw")]),
        Verdict::Reject(Failure::AlreadySubscribed)
    );
    assert!(matches!(
        s.produce(A, &[sub("x")]),
        Verdict::Reject(Failure::Policy(_))
    ));
    ok(s.produce(B, &[unsub.clone(), sub("hw")]));
    ok(s.produce(B, &[unsub]));
}

#[test]
fn ordinary_topics_pass_and_malformed_bbs_topics_do_not() {
    let s = setup();
    let w = WireRecord {
        value: Some(bytes::Bytes::from_static(b"hello")),
        ..Default::default()
    };
    assert_eq!(
        check(
            Principal::Anonymous,
            "homework",
            std::slice::from_ref(&w),
            &s.state,
            0
        ),
        Verdict::Accept
    );
    assert!(matches!(
        check(A, "board.NP", std::slice::from_ref(&w), &s.state, 0),
        Verdict::Reject(Failure::Policy(_))
    ));
    assert!(matches!(
        check(A, "board._41", &[w], &s.state, 0),
        Verdict::Reject(Failure::Policy(_))
    ));
}

fn refusal(v: Verdict) -> String {
    match v {
        Verdict::Reject(f) => f.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn control_characters_and_oversized_fields_are_refused() {
    let mut s = setup();
    let e = refusal(s.produce(A, &[post("amy", "x\x1b[2J")]));
    assert!(e.starts_with("the title contains \\u{1b}"), "{e}");
    let e = refusal(s.produce(A, &[post("amy", &"t".repeat(201))]));
    assert!(e.contains("at most 200"), "{e}");
    let e = refusal(s.produce(A, &[board("a\u{202e}b", "amy")]));
    assert!(e.contains("board name contains \\u{202e}"), "{e}");
    let mut c = comment("amy", 1);
    if let BbsRecord::Comment { body, .. } = &mut c {
        *body = "two\nlines".into();
    }
    ok(s.produce(A, &[post("amy", "fine")]));
    let e = refusal(s.produce(A, &[c]));
    assert!(e.contains("comment contains \\u{a}"), "{e}");
    // Content keeps newlines and tabs.
    let multi = BbsRecord::Post {
        board: "NP".into(),
        id: None,
        author: "amy".into(),
        title: "t".into(),
        body: "a\n\tb".into(),
    };
    ok(s.produce(A, &[multi]));
}

#[test]
fn look_alike_boards_are_refused_also_within_one_batch() {
    let mut s = setup();
    for name in ["np", "\u{39d}\u{3a1}", "\u{ff2e}\u{ff30}"] {
        let e = refusal(s.produce(B, &[board(name, "bob")]));
        assert!(
            e.contains("looks like the existing board NP"),
            "{name}: {e}"
        );
    }
    let e = refusal(s.produce(B, &[board("Rust", "bob"), board("rust", "bob")]));
    assert!(e.contains("looks like the existing board Rust"), "{e}");
    assert!(
        s.state.board("Rust").is_none(),
        "the whole batch is refused"
    );
    ok(s.produce(B, &[board("小明", "bob"), board("測試", "bob")]));
}

fn remove(author: &str, id: PostId, comment: Option<u32>) -> BbsRecord {
    BbsRecord::Remove {
        board: "NP".into(),
        post: id,
        comment,
        author: author.into(),
    }
}

#[test]
fn only_the_moderator_or_the_operator_removes_and_removals_survive_restart() {
    let mut s = setup();
    ok(s.produce(B, &[post("bob", "secret plan")]));
    ok(s.produce(B, &[comment("bob", 1)]));
    // bob wrote the post but does not moderate NP (amy created it).
    assert_eq!(
        s.produce(B, &[remove("bob", 1, None)]),
        Verdict::Reject(Failure::NotModerator)
    );
    assert_eq!(
        s.produce(B, &[remove("bob", 1, Some(1))]),
        Verdict::Reject(Failure::NotModerator)
    );
    assert_eq!(
        s.state.live_post(1).map(|p| p.title.as_str()),
        Some("secret plan")
    );
    // Comment numbers are checked.
    assert_eq!(
        s.produce(A, &[remove("amy", 1, Some(2))]),
        Verdict::Reject(Failure::NoSuchComment)
    );
    ok(s.produce(A, &[remove("amy", 1, Some(1))]));
    assert_eq!(
        s.state.live_post(1).map(|p| p.comments[0].body.as_str()),
        Some(crate::state::REMOVED_COMMENT)
    );
    ok(s.produce(A, &[remove("amy", 1, None)]));
    let check = |s: &Server| {
        let p = s.state.live_post(1).expect("a removed post stays listed");
        assert_eq!(p.title, crate::state::REMOVED_TITLE);
        assert!(
            !p.body.contains('b') || p.body.contains("amy"),
            "{}",
            p.body
        );
        assert_eq!(p.removed_by.as_deref(), Some("amy"));
    };
    check(&s);
    // The author can no longer edit the removed post back.
    assert!(matches!(
        s.produce(B, &[edit("bob", 1)]),
        Verdict::Reject(_)
    ));
    check(&s.restart());
    // The operator moderates every board.
    ok(s.produce(B, &[post("bob", "another")]));
    ok(s.produce(Principal::Server, &[remove(codec::OPERATOR, 2, None)]));
    assert_eq!(
        s.state
            .live_post(2)
            .and_then(|p| p.removed_by.clone())
            .as_deref(),
        Some(codec::OPERATOR)
    );
}

fn board_delete(author: &str) -> BbsRecord {
    BbsRecord::BoardDelete {
        name: "NP".into(),
        author: author.into(),
    }
}

fn status(author: &str, name: &str, disabled: bool) -> BbsRecord {
    BbsRecord::UserStatus {
        name: name.into(),
        disabled,
        author: author.into(),
    }
}

#[test]
fn only_the_operator_deletes_boards_and_names_are_not_reused() {
    let mut s = setup();
    ok(s.produce(B, &[post("bob", "p")]));
    // Not even the board's moderator deletes it.
    assert_eq!(
        s.produce(A, &[board_delete("amy")]),
        Verdict::Reject(Failure::NotOperator)
    );
    assert!(s.state.board("NP").is_some());
    ok(s.produce(Principal::Server, &[board_delete(codec::OPERATOR)]));
    for st in [&s.state, &s.restart().state] {
        assert!(st.board("NP").is_none() && st.board_deleted("NP"));
        assert!(st.live_post(1).is_none());
        assert_eq!(st.max_post_id(), 1);
    }
    assert_eq!(
        s.produce(B, &[comment("bob", 1)]),
        Verdict::Reject(Failure::NoSuchPost)
    );
    assert_eq!(
        s.produce(B, &[post("bob", "again")]),
        Verdict::Reject(Failure::NoSuchBoard)
    );
    assert!(matches!(
        s.produce(A, &[board("NP", "amy")]),
        Verdict::Reject(Failure::Policy(m)) if m.contains("cannot be used again")
    ));
    assert_eq!(
        s.produce(Principal::Server, &[board_delete(codec::OPERATOR)]),
        Verdict::Reject(Failure::NoSuchBoard)
    );
}

#[test]
fn a_disabled_user_writes_nothing_and_is_hidden_until_enabled() {
    let mut s = setup();
    ok(s.produce(A, &[post("amy", "rules")]));
    ok(s.produce(B, &[post("bob", "spam")]));
    ok(s.produce(B, &[comment("bob", 1)]));
    ok(s.produce(A, &[comment("amy", 1)]));
    assert_eq!(
        s.produce(A, &[status("amy", "bob", true)]),
        Verdict::Reject(Failure::NotOperator)
    );
    ok(s.produce(Principal::Server, &[status(codec::OPERATOR, "bob", true)]));
    let hidden = |st: &State| {
        assert!(st.is_disabled("bob"));
        assert!(st.live_post(2).is_none());
        let shown = st.shown_post(1).expect("amy's post");
        assert_eq!(shown.comments.len(), 1);
        assert_eq!(shown.comments[0].author, "amy");
        let all = st.live_post(1).expect("post");
        assert_eq!(st.comment_position(all, 1), Some(2));
    };
    hidden(&s.state);
    hidden(&s.restart().state);
    assert_eq!(
        s.produce(B, &[comment("bob", 1)]),
        Verdict::Reject(Failure::Policy(disabled_message("bob")))
    );
    ok(s.produce(Principal::Server, &[status(codec::OPERATOR, "bob", false)]));
    assert!(s.state.live_post(2).is_some());
    ok(s.produce(B, &[comment("bob", 1)]));
    assert_eq!(
        s.produce(
            Principal::Server,
            &[status(codec::OPERATOR, "nobody", true)]
        ),
        Verdict::Reject(Failure::NoSuchUser("nobody".into()))
    );
}
