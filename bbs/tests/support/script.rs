//! The transcript script format shared by the in-process transcript test
//! (`bbs/tests/transcripts.rs`) and the real-process one (`tests/bbs_transcripts.rs`):
//! `user> command` then its exact output lines, `user! line` for an expected
//! notification, `#` comments; dates are normalised before comparing.
#![allow(dead_code)]

/// Replaces `MM/DD` and `YYYY-MM-DD` dates with placeholders.
pub(crate) fn normalise(line: &str) -> String {
    let c: Vec<char> = line.chars().collect();
    let d = |i: usize| c.get(i).is_some_and(|x| x.is_ascii_digit());
    let at = |i: usize, ch: char| c.get(i) == Some(&ch);
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        if (0..4).all(|k| d(i + k))
            && at(i + 4, '-')
            && d(i + 5)
            && d(i + 6)
            && at(i + 7, '-')
            && d(i + 8)
            && d(i + 9)
        {
            out.push_str("YYYY-MM-DD");
            i += 10;
        } else if d(i) && d(i + 1) && at(i + 2, '/') && d(i + 3) && d(i + 4) && !d(i + 5) {
            out.push_str("MM/DD");
            i += 5;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

pub(crate) enum Step {
    Command {
        user: String,
        line: String,
        expect: Vec<String>,
        at: usize,
    },
    Notice {
        user: String,
        line: String,
        at: usize,
    },
}

fn directive(line: &str) -> Option<(String, char, String)> {
    let end = line.find(['>', '!'])?;
    let user = &line[..end];
    if user.is_empty() || !user.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mark = line[end..].chars().next()?;
    let rest = &line[end + 1..];
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    Some((user.to_string(), mark, rest.to_string()))
}

pub(crate) fn parse_script(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match directive(line) {
            Some((user, '>', cmd)) => steps.push(Step::Command {
                user,
                line: cmd,
                expect: Vec::new(),
                at: n + 1,
            }),
            Some((user, _, notice)) => steps.push(Step::Notice {
                user,
                line: notice,
                at: n + 1,
            }),
            None => match steps.last_mut() {
                Some(Step::Command { expect, .. }) => expect.push(line.to_string()),
                _ => panic!("line {}: output without a command: {line:?}", n + 1),
            },
        }
    }
    steps
}
