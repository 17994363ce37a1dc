//! Reducer tests: each feeds a record stream and checks the resulting state.

use super::*;

fn fold(records: Vec<BbsRecord>) -> State {
    let mut s = State::new();
    for (i, r) in records.into_iter().enumerate() {
        let at = Position {
            offset: i as i64,
            timestamp: 1000 + i as i64,
        };
        s.apply(at, &Entry::new(r));
    }
    s
}

fn board(name: &str, creator: &str) -> BbsRecord {
    BbsRecord::Board {
        name: name.into(),
        creator: creator.into(),
    }
}
fn post(board: &str, id: PostId, author: &str, title: &str) -> BbsRecord {
    BbsRecord::Post {
        board: board.into(),
        id: Some(id),
        author: author.into(),
        title: title.into(),
        body: format!("body of {id}"),
    }
}
fn comment(board: &str, post: PostId, author: &str, body: &str) -> BbsRecord {
    BbsRecord::Comment {
        board: board.into(),
        post,
        author: author.into(),
        body: body.into(),
    }
}
fn edit(board: &str, post: PostId, author: &str, change: Change) -> BbsRecord {
    BbsRecord::Edit {
        board: board.into(),
        post,
        author: author.into(),
        change,
    }
}
fn delete(board: &str, post: PostId, author: &str) -> BbsRecord {
    BbsRecord::Delete {
        board: board.into(),
        post,
        author: author.into(),
    }
}
fn mail(to: &str, from: &str, subject: &str) -> BbsRecord {
    BbsRecord::Mail {
        to: to.into(),
        from: from.into(),
        subject: subject.into(),
        body: String::new(),
    }
}
fn sub(owner: &str, target: SubTarget, kw: &str) -> BbsRecord {
    BbsRecord::Subscribe {
        owner: owner.into(),
        target,
        keyword: kw.into(),
    }
}

#[test]
fn boards_in_creation_order_and_first_creator_wins() {
    let s = fold(vec![board("b", "x"), board("a", "y"), board("b", "z")]);
    let names: Vec<_> = s
        .boards()
        .iter()
        .map(|b| (b.name.as_str(), b.creator.as_str()))
        .collect();
    assert_eq!(names, vec![("b", "x"), ("a", "y")]);
    assert_eq!(s.board("a").map(|b| b.time), Some(1001));
}

#[test]
fn posts_comments_edits_deletes() {
    let s = fold(vec![
        board("NP", "bob"),
        post("NP", 1, "bob", "t1"),
        post("NP", 2, "amy", "t2"),
        comment("NP", 1, "amy", "hi"),
        comment("NP", 9, "amy", "no such post"),
        comment("OTHER", 1, "amy", "wrong board"),
        edit("NP", 1, "bob", Change::Title("t1'".into())),
        edit("NP", 1, "amy", Change::Title("hijack".into())),
        edit("NP", 1, "bob", Change::Content("new\nbody".into())),
        delete("NP", 2, "bob"),
        delete("NP", 2, "amy"),
        comment("NP", 2, "bob", "on a deleted post"),
    ]);
    let p1 = s.live_post(1).expect("post 1");
    assert_eq!(p1.title, "t1'");
    assert_eq!(p1.body, "new\nbody");
    assert_eq!(p1.edited, Some(1008));
    assert_eq!(p1.comments.len(), 1);
    assert_eq!(p1.comments[0].body, "hi");
    assert!(s.live_post(2).is_none());
    assert!(s
        .any_post(2)
        .is_some_and(|p| p.deleted && p.comments.is_empty()));
    assert_eq!(s.max_post_id(), 2);
    let ids: Vec<_> = s.board_posts("NP").map(|p| p.id).collect();
    assert_eq!(ids, vec![1]);
}

#[test]
fn pushes_score() {
    let s = fold(vec![
        post("NP", 1, "bob", "t"),
        BbsRecord::Push {
            board: "NP".into(),
            post: 1,
            author: "amy".into(),
            push: Push::Up,
            body: "good".into(),
        },
        BbsRecord::Push {
            board: "NP".into(),
            post: 1,
            author: "cat".into(),
            push: Push::Down,
            body: "bad".into(),
        },
        BbsRecord::Push {
            board: "NP".into(),
            post: 1,
            author: "dan".into(),
            push: Push::Up,
            body: "ok".into(),
        },
    ]);
    let p = s.live_post(1).expect("post");
    assert_eq!(p.score, 1);
    assert_eq!(p.pushes.len(), 3);
}

#[test]
fn unstamped_and_duplicate_posts_are_ignored() {
    let mut unstamped = post("NP", 1, "bob", "t");
    if let BbsRecord::Post { id, .. } = &mut unstamped {
        *id = None;
    }
    let s = fold(vec![
        unstamped,
        post("NP", 3, "a", "x"),
        post("NP", 3, "b", "y"),
    ]);
    assert_eq!(s.live_post(3).map(|p| p.author.as_str()), Some("a"));
    assert_eq!(s.max_post_id(), 3);
}

#[test]
fn posts_before_their_board_metadata_still_count() {
    let s = fold(vec![
        post("NP", 2, "bob", "b"),
        post("NP", 1, "bob", "a"),
        board("NP", "bob"),
    ]);
    let ids: Vec<_> = s.board_posts("NP").map(|p| p.id).collect();
    assert_eq!(ids, vec![1, 2], "kept in id order");
}

#[test]
fn mailboxes_renumber_after_delete() {
    let s = fold(vec![
        mail("bob", "amy", "m0"),
        mail("bob", "cat", "m1"),
        mail("amy", "bob", "other box"),
        mail("bob", "amy", "m3"),
        BbsRecord::MailDelete {
            owner: "bob".into(),
            mail: 1,
        },
        BbsRecord::MailDelete {
            owner: "bob".into(),
            mail: 2, // amy's mail offset, not in bob's box here
        },
    ]);
    let subjects: Vec<_> = s
        .mailbox("bob")
        .iter()
        .map(|m| m.subject.as_str())
        .collect();
    assert_eq!(subjects, vec!["m0", "m3"]);
    assert_eq!(s.mailbox("amy").len(), 1);
    assert!(s.mailbox("nobody").is_empty());
}

#[test]
fn subscriptions_keep_first_subscribed_order() {
    let s = fold(vec![
        sub("bob", SubTarget::board("NP"), "HW"),
        sub("bob", SubTarget::author("amy"), "x"),
        sub("bob", SubTarget::board("OS"), "exam"),
        sub("bob", SubTarget::board("NP"), "exam"),
        sub("bob", SubTarget::board("NP"), "HW"),
        BbsRecord::Unsubscribe {
            owner: "bob".into(),
            target: SubTarget::board("OS"),
        },
        sub("bob", SubTarget::board("OS"), "again"),
    ]);
    let got: Vec<_> = s
        .subscriptions("bob")
        .iter()
        .map(|s| (s.target.key(), s.keywords.join(",")))
        .collect();
    assert_eq!(
        got,
        vec![
            ("board:NP".to_string(), "HW,exam".to_string()),
            ("author:amy".to_string(), "x".to_string()),
            ("board:OS".to_string(), "again".to_string()),
        ]
    );
    let hits: Vec<_> = s.matching("bob", "NP", "amy", "HW exam x").collect();
    assert_eq!(hits.len(), 3);
    assert_eq!(
        s.matching("bob", "NP", "zed", "hw").count(),
        0,
        "case-sensitive"
    );
}

#[test]
fn the_fold_is_deterministic() {
    let records = vec![
        board("NP", "bob"),
        post("NP", 1, "bob", "t1"),
        comment("NP", 1, "amy", "hi"),
        mail("bob", "amy", "s"),
        sub("amy", SubTarget::board("NP"), "t"),
    ];
    assert_eq!(fold(records.clone()), fold(records));
}

#[test]
fn users_update_email_and_keep_registration_time() {
    let s = fold(vec![
        BbsRecord::User {
            name: "bob".into(),
            email: "a@x".into(),
        },
        BbsRecord::User {
            name: "bob".into(),
            email: "b@x".into(),
        },
    ]);
    let u = s.user("bob").expect("bob");
    assert_eq!((u.email.as_str(), u.time), ("b@x", 1000));
}
