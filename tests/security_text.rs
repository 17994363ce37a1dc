//! Security rules 5 and (the BBS half of) 4, attacked for real: a logged-in student with
//! kafka-python (`tests/interop/security_bbs.py`) writes BBS records whose one-line fields
//! or content hold terminal escapes, carriage returns, bidi overrides, or exceed the
//! documented bounds, against the real `bbs-server`. Each is refused with the policy's
//! message naming the field, and reading the topics back shows nothing was stored.
mod common;
mod security_support;
use common::*;
use security_support::*;

fn post(title: &str, body: &str) -> String {
    produce(
        "amy",
        "board.NP",
        None,
        body,
        &[
            ("bbs.kind", "post"),
            ("bbs.author", "amy"),
            ("bbs.title", title),
        ],
    )
}

/// A server with user amy and board NP holding one honest post.
fn setup() -> TestServer {
    let s = TestServer::start(&[]);
    let out = steps(
        &s.addr,
        &[
            register("amy"),
            produce(
                "amy",
                "bbs.users",
                Some("amy"),
                "amy@x",
                &[("bbs.kind", "user"), ("bbs.author", "amy")],
            ),
            produce(
                "amy",
                "bbs.boards",
                Some("NP"),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "amy"),
                    ("bbs.topic", "board.NP"),
                ],
            ),
            post("honest", "hello\n\tworld"),
        ],
    );
    assert_eq!(
        out,
        [
            "register: OK",
            "produce: ACCEPTED",
            "produce: ACCEPTED",
            "produce: ACCEPTED"
        ],
        "setup"
    );
    s
}

/// The records of `topic` as kafka-python reads them back (JSON text).
fn read_back(s: &TestServer, topic: &str) -> String {
    let out = steps(&s.addr, &[dump("amy", topic)]);
    out.first().cloned().unwrap_or_default()
}

#[test]
fn control_characters_in_bbs_records_are_refused_and_nothing_is_stored() {
    let s = setup();
    let board_before = read_back(&s, "board.NP");
    let boards_before = read_back(&s, "bbs.boards");
    assert!(board_before.contains("honest"), "{board_before}");
    let attacks: Vec<(&str, String, &str)> = vec![
        (
            "clear screen in a title",
            post("pwn\x1b[2J", "x"),
            "the title contains \\\\u{1b}",
        ),
        (
            "carriage return in a title",
            post("ok\rfake row", "x"),
            "the title contains \\\\u{d}",
        ),
        (
            "newline in a title",
            post("two\nlines", "x"),
            "the title contains \\\\u{a}",
        ),
        (
            "tab in a title",
            post("a\tb", "x"),
            "the title contains \\\\u{9}",
        ),
        (
            "bidi override in a title",
            post("\u{202e}txt.exe", "x"),
            "the title contains \\\\u{202e}",
        ),
        (
            "bidi isolate in a title",
            post("a\u{2066}b", "x"),
            "the title contains \\\\u{2066}",
        ),
        (
            "C1 control in a title",
            post("a\u{9b}2J", "x"),
            "the title contains \\\\u{9b}",
        ),
        (
            "DEL in a title",
            post("a\u{7f}", "x"),
            "the title contains \\\\u{7f}",
        ),
        (
            "escape in content",
            post("fine", "x\x1b]0;owned\x07"),
            "the content contains \\\\u{1b}",
        ),
        (
            "carriage return in content",
            post("fine", "a\r\nb"),
            "the content contains \\\\u{d}",
        ),
        (
            "bidi override in content",
            post("fine", "a\u{202d}b"),
            "the content contains \\\\u{202d}",
        ),
        (
            "escape in a board name",
            produce(
                "amy",
                "bbs.boards",
                Some("X\x1b[31m"),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "amy"),
                    ("bbs.topic", "board._581b5b33316d"),
                ],
            ),
            "the board name contains \\\\u{1b}",
        ),
        (
            "bidi override in a board name",
            produce(
                "amy",
                "bbs.boards",
                Some("a\u{202e}b"),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "amy"),
                    ("bbs.topic", "board._61e280ae62"),
                ],
            ),
            "the board name contains \\\\u{202e}",
        ),
        (
            "newline in a comment",
            produce(
                "amy",
                "board.NP",
                Some("1"),
                "ok\n\tfake line",
                &[
                    ("bbs.kind", "comment"),
                    ("bbs.author", "amy"),
                    ("bbs.post", "1"),
                ],
            ),
            "the comment contains \\\\u{a}",
        ),
        (
            "escape in a title edit",
            produce(
                "amy",
                "board.NP",
                Some("1"),
                "",
                &[
                    ("bbs.kind", "edit"),
                    ("bbs.author", "amy"),
                    ("bbs.post", "1"),
                    ("bbs.field", "title"),
                    ("bbs.title", "x\x1b[H"),
                ],
            ),
            "the title contains \\\\u{1b}",
        ),
    ];
    let out = steps(
        &s.addr,
        &attacks
            .iter()
            .map(|(_, step, _)| step.clone())
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.len(), attacks.len(), "{out:?}");
    for ((label, _, message), line) in attacks.iter().zip(&out) {
        assert!(
            line.starts_with("produce: PolicyViolationError") && line.contains(message),
            "{label}: expected a policy refusal naming {message:?}, got {line:?}"
        );
    }
    // Nothing was stored: the victim's board and the board directory read back unchanged.
    assert_eq!(read_back(&s, "board.NP"), board_before);
    assert_eq!(read_back(&s, "bbs.boards"), boards_before);
}

#[test]
fn bbs_field_bounds_are_enforced() {
    let s = setup();
    let board_before = read_back(&s, "board.NP");
    let many: Vec<(String, String)> = (0..17)
        .map(|i| (format!("x-{i}"), "v".to_string()))
        .collect();
    let mut headers: Vec<(&str, &str)> = vec![
        ("bbs.kind", "post"),
        ("bbs.author", "amy"),
        ("bbs.title", "t"),
    ];
    headers.extend(many.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let long_title = "標".repeat(201);
    let long_body = "x".repeat(64 * 1024 + 1);
    let attacks = [
        (
            post(&long_title, "x"),
            "the title has 201 characters; at most 200",
        ),
        (
            post("fine", &long_body),
            "the content has 65537 characters; at most 65536",
        ),
        (
            produce("amy", "board.NP", None, "x", &headers),
            "at most 16 headers, not 20",
        ),
        (
            produce(
                "amy",
                "bbs.boards",
                Some(&"b".repeat(41)),
                "",
                &[
                    ("bbs.kind", "board"),
                    ("bbs.author", "amy"),
                    ("bbs.topic", &format!("board.{}", "b".repeat(41))),
                ],
            ),
            "the board name has 41 characters; at most 40",
        ),
    ];
    let out = steps(
        &s.addr,
        &attacks
            .iter()
            .map(|(step, _)| step.clone())
            .collect::<Vec<_>>(),
    );
    assert_eq!(out.len(), attacks.len(), "{out:?}");
    for ((_, message), line) in attacks.iter().zip(&out) {
        assert!(
            line.starts_with("produce: PolicyViolationError") && line.contains(message),
            "expected {message:?}, got {line:?}"
        );
    }
    // At the bounds, records are accepted.
    let ok_out = steps(&s.addr, &[post(&"標".repeat(200), &"y".repeat(64 * 1024))]);
    assert_eq!(ok_out, ["produce: ACCEPTED"]);
    let after = read_back(&s, "board.NP");
    assert!(!after.contains(&"x".repeat(64 * 1024 + 1)) && after.len() > board_before.len());
}
