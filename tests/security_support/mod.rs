//! Helpers shared by the `security_*` tests: drive `tests/interop/security_bbs.py`
//! (kafka-python) with a JSON list of steps and collect its one-line answers.
#![allow(dead_code)]

use std::time::Duration;

use crate::common::{ok, python};

/// Deadline of one kafka-python run.
pub(crate) const T: Duration = Duration::from_secs(120);

/// A JSON string literal for `s` (ASCII only: everything else as `\uXXXX`).
pub(crate) fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Runs the steps (a JSON list) and returns the output lines.
pub(crate) fn steps(addr: &str, steps: &[String]) -> Vec<String> {
    let json = format!("[{}]", steps.join(","));
    ok(
        python("security_bbs.py", &[addr, &json], T),
        "security_bbs.py",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

/// Registers `name` with password `pw-<name>`.
pub(crate) fn register(name: &str) -> String {
    format!(
        r#"{{"op":"register","name":{},"password":{}}}"#,
        json_str(name),
        json_str(&format!("pw-{name}"))
    )
}

/// Produces one record as `user`.
pub(crate) fn produce(
    user: &str,
    topic: &str,
    key: Option<&str>,
    value: &str,
    headers: &[(&str, &str)],
) -> String {
    let hs: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("[{},{}]", json_str(k), json_str(v)))
        .collect();
    format!(
        r#"{{"op":"produce","user":{},"topic":{},"key":{},"value":{},"headers":[{}]}}"#,
        json_str(user),
        json_str(topic),
        key.map_or("null".to_string(), json_str),
        json_str(value),
        hs.join(",")
    )
}

/// Reads `topic` back as `user`.
pub(crate) fn dump(user: &str, topic: &str) -> String {
    format!(
        r#"{{"op":"dump","user":{},"topic":{}}}"#,
        json_str(user),
        json_str(topic)
    )
}

/// Logs in as `name` (password `pw-<name>` unless given).
pub(crate) fn login(name: &str, password: &str) -> String {
    format!(
        r#"{{"op":"login","name":{},"password":{}}}"#,
        json_str(name),
        json_str(password)
    )
}

/// `name` deletes their own SCRAM credential (password `pw-<name>`).
pub(crate) fn delete_self(name: &str) -> String {
    format!(
        r#"{{"op":"delete_self","name":{},"password":{}}}"#,
        json_str(name),
        json_str(&format!("pw-{name}"))
    )
}
