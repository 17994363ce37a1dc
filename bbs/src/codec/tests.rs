//! Round-trip and rejection tests of the codec.

use super::*;
use proptest::prelude::*;

fn sample() -> Vec<BbsRecord> {
    vec![
        BbsRecord::Board {
            name: "測試 board".into(),
            creator: "alice".into(),
        },
        BbsRecord::User {
            name: "bob".into(),
            email: "bob@example.com".into(),
        },
        BbsRecord::Post {
            board: "NP_HW".into(),
            id: Some(7),
            author: "bob".into(),
            title: "About NP HW_2".into(),
            body: "Help!\nI have some problem!".into(),
        },
        BbsRecord::Post {
            board: "NP_HW".into(),
            id: None,
            author: "bob".into(),
            title: "t".into(),
            body: String::new(),
        },
        BbsRecord::Comment {
            board: "NP_HW".into(),
            post: 7,
            author: "alice".into(),
            body: "Ask the TA".into(),
        },
        BbsRecord::Edit {
            board: "NP_HW".into(),
            post: 7,
            author: "bob".into(),
            change: Change::Title("new".into()),
        },
        BbsRecord::Edit {
            board: "NP_HW".into(),
            post: 7,
            author: "bob".into(),
            change: Change::Content("a\nb".into()),
        },
        BbsRecord::Delete {
            board: "NP_HW".into(),
            post: 7,
            author: "bob".into(),
        },
        BbsRecord::Push {
            board: "NP_HW".into(),
            post: 7,
            author: "carol".into(),
            push: Push::Down,
            body: "no".into(),
        },
        BbsRecord::Mail {
            to: "bob".into(),
            from: "alice".into(),
            subject: "Hi".into(),
            body: "line1\nline2".into(),
        },
        BbsRecord::MailDelete {
            owner: "bob".into(),
            mail: 3,
        },
        BbsRecord::Subscribe {
            owner: "bob".into(),
            target: SubTarget::board("NP_HW"),
            keyword: "HW".into(),
        },
        BbsRecord::Unsubscribe {
            owner: "bob".into(),
            target: SubTarget::author("alice"),
        },
    ]
}

#[test]
fn every_kind_round_trips() {
    for record in sample() {
        for time in [None, Some(1_700_000_000_123)] {
            let entry = Entry {
                record: record.clone(),
                time,
            };
            let (topic, wire) = encode(&entry).expect("encode");
            assert_eq!(decode(&topic, &wire).expect("decode"), entry, "{topic}");
        }
    }
}

#[test]
fn post_wire_shape_is_plain() {
    let entry = Entry {
        record: sample()[2].clone(),
        time: Some(5),
    };
    let (topic, w) = encode(&entry).expect("encode");
    assert_eq!(topic, "board.NP_HW");
    assert_eq!(w.key.as_deref(), Some(&b"7"[..]));
    assert_eq!(
        w.value.as_deref(),
        Some("Help!\nI have some problem!".as_bytes())
    );
    let h: Vec<(&str, &str)> = w
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                std::str::from_utf8(v.as_deref().expect("set")).expect("utf8"),
            )
        })
        .collect();
    assert_eq!(
        h,
        vec![
            ("bbs.kind", "post"),
            ("bbs.author", "bob"),
            ("bbs.title", "About NP HW_2"),
            ("bbs.id", "7"),
            ("bbs.time", "5"),
        ]
    );
}

#[test]
fn malformed_records_are_codec_errors() {
    let (topic, good) = encode(&Entry::new(sample()[4].clone())).expect("encode");
    let strip = |name: &str| {
        let mut w = good.clone();
        w.headers.retain(|(k, _)| k != name);
        w
    };
    assert!(decode(&topic, &strip(H_KIND)).is_err());
    assert!(decode(&topic, &strip(H_AUTHOR)).is_err());
    assert!(decode(&topic, &strip(H_POST)).is_err());
    assert!(decode("mail.bob", &good).is_err(), "comment on a mailbox");
    assert!(
        decode("board._41", &good).is_err(),
        "non-canonical board topic"
    );
    let mut bad_utf8 = good.clone();
    bad_utf8.value = Some(bytes::Bytes::from_static(&[0xff, 0xfe]));
    assert!(decode(&topic, &bad_utf8).is_err());
    let mut bad_num = good;
    bad_num.headers[2].1 = Some(bytes::Bytes::from_static(b"seven"));
    assert!(decode(&topic, &bad_num).is_err());
    // A subscription written by someone else is malformed.
    let (t, mut w) = encode(&Entry::new(sample()[11].clone())).expect("encode");
    w.headers[1].1 = Some(bytes::Bytes::from_static(b"mallory"));
    assert!(decode(&t, &w).is_err());
    // A board record whose topic header lies.
    let (t, mut w) = encode(&Entry::new(sample()[0].clone())).expect("encode");
    w.headers[2].1 = Some(bytes::Bytes::from_static(b"board.other"));
    assert!(decode(&t, &w).is_err());
}

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,20}"
}
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 測_.-]{1,12}"
}

fn record() -> impl Strategy<Value = BbsRecord> {
    let push = prop_oneof![Just(Push::Up), Just(Push::Down), Just(Push::Arrow)];
    prop_oneof![
        (name(), name()).prop_map(|(name, creator)| BbsRecord::Board { name, creator }),
        (name(), text()).prop_map(|(name, email)| BbsRecord::User { name, email }),
        (name(), any::<Option<u64>>(), name(), text(), text()).prop_map(
            |(board, id, author, title, body)| BbsRecord::Post {
                board,
                id,
                author,
                title,
                body
            }
        ),
        (name(), any::<u64>(), name(), text()).prop_map(|(board, post, author, body)| {
            BbsRecord::Comment {
                board,
                post,
                author,
                body,
            }
        }),
        (name(), any::<u64>(), name(), text(), any::<bool>()).prop_map(
            |(board, post, author, t, title)| BbsRecord::Edit {
                board,
                post,
                author,
                change: if title {
                    Change::Title(t)
                } else {
                    Change::Content(t)
                },
            }
        ),
        (name(), any::<u64>(), name(), push, text()).prop_map(
            |(board, post, author, push, body)| BbsRecord::Push {
                board,
                post,
                author,
                push,
                body
            }
        ),
        (name(), name(), text(), text()).prop_map(|(to, from, subject, body)| {
            BbsRecord::Mail {
                to,
                from,
                subject,
                body,
            }
        }),
        (name(), any::<i64>()).prop_map(|(owner, mail)| BbsRecord::MailDelete { owner, mail }),
        (name(), name(), any::<bool>(), text()).prop_map(|(owner, n, board, keyword)| {
            BbsRecord::Subscribe {
                owner,
                target: if board {
                    SubTarget::board(&n)
                } else {
                    SubTarget::author(&n)
                },
                keyword,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_entries_round_trip(record in record(), time in any::<Option<i64>>()) {
        let entry = Entry { record, time };
        let (topic, wire) = encode(&entry).expect("encode");
        prop_assert_eq!(decode(&topic, &wire).expect("decode"), entry);
    }
}
